"""Reads workflow and checklist files, validates them, and pins each workflow with the exact
checklists it names into a hashed bundle. Every problem names the file and the field."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from eva_engine.checklists.definition import Checklist
from eva_engine.errors import DefinitionError, NotFound, Problem
from eva_engine.workflow.definition import ANY_OPEN_STATE, EFFECT_TAGS, Workflow, WorkflowBundle
from eva_engine.workflow.guards import CONDITIONS, GUARDS


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(model: BaseModel) -> str:
    return hashlib.sha256(canonical_json(model.model_dump(mode="json")).encode()).hexdigest()


def _loc(parts: Iterable[int | str]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def pydantic_problems(where: str, error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors():
        # A discriminated union adds its tag to the location; it only confuses a reader.
        parts = [p for p in item["loc"] if p not in EFFECT_TAGS]
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        elif item["type"] == "missing":
            message = "required field is missing"
        problems.append(Problem(f"{where}: {_loc(parts)}".rstrip(": "), message))
    return problems


def read_yaml(path: Path, where: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DefinitionError(
            f"{where} is not valid YAML",
            [Problem(f"{where}:{line}", str(exc.problem or exc))],
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"{where} cannot be read", [Problem(where, str(exc))]) from exc


def workflow_problems(where: str, wf: Workflow) -> list[Problem]:
    """Rules a schema cannot express: references between states, transitions and guards."""
    problems: list[Problem] = []

    def add(loc: str, msg: str) -> None:
        problems.append(Problem(f"{where}: {loc}", msg))

    ids = [s.id for s in wf.states]
    for state_id, count in Counter(ids).items():
        if count > 1:
            add("states", f"state {state_id!r} is defined {count} times")
    known = set(ids)
    finals = {s.id for s in wf.states if s.final}
    if wf.initial not in known:
        add("initial", f"unknown state {wf.initial!r}; known states: {', '.join(ids)}")
    elif wf.initial in finals:
        add("initial", f"the initial state {wf.initial!r} cannot be final")
    if not finals:
        add("states", "no final state: every proposal must be able to end")

    edges: dict[str, set[str]] = defaultdict(set)
    routes: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, tr in enumerate(wf.transitions):
        loc = f"transitions[{index}]"
        sources = tr.sources(wf.states)
        if tr.source != ANY_OPEN_STATE:
            for source in sources:
                if source not in known:
                    add(f"{loc}.source", f"unknown state {source!r}; known states: {', '.join(ids)}")
                elif source in finals:
                    add(f"{loc}.source", f"{source!r} is final: nothing leaves a final state")
        if tr.dest not in known:
            add(f"{loc}.dest", f"unknown state {tr.dest!r}; known states: {', '.join(ids)}")
        for g_index, guard in enumerate(tr.guards):
            if guard not in GUARDS:
                add(f"{loc}.guards[{g_index}]",
                    f"unknown guard {guard!r}; known guards: {', '.join(sorted(GUARDS))}")
        for key, names in (("when", tr.when), ("unless", tr.unless)):
            for c_index, name in enumerate(names):
                if name not in CONDITIONS:
                    add(f"{loc}.{key}[{c_index}]",
                        f"unknown condition {name!r}; known: {', '.join(sorted(CONDITIONS))}")
        for source in sources:
            edges[source].add(tr.dest)
            routes[(source, tr.trigger)].append(index)
    for (source, trigger), indexes in routes.items():
        for index in indexes[:-1]:
            tr = wf.transitions[index]
            if not tr.when and not tr.unless:
                add(f"transitions[{index}]",
                    f"trigger {trigger!r} from {source!r} has several routes; every route but "
                    "the last needs 'when' or 'unless', or the later ones can never be taken")

    if wf.initial in known:
        reached = {wf.initial}
        queue = deque([wf.initial])
        while queue:
            for nxt in edges[queue.popleft()]:
                if nxt not in reached:
                    reached.add(nxt)
                    queue.append(nxt)
        for state_id in ids:
            if state_id not in reached:
                add("states", f"state {state_id!r} cannot be reached from {wf.initial!r}")
    for state_id in known - finals:
        if not edges[state_id]:
            add("states", f"state {state_id!r} is not final but no transition leaves it")

    for key, choices in (("criteria", wf.screening.criteria),
                         ("exemptions", wf.screening.exemptions)):
        for choice_id, count in Counter(c.id for c in choices).items():
            if count > 1:
                add(f"screening.{key}", f"{choice_id!r} is defined {count} times")
    return problems


def bundle_problems(where: str, wf: Workflow, checklists: Sequence[Checklist]) -> list[Problem]:
    problems = []
    areas: Counter[str] = Counter()
    questions: Counter[str] = Counter()
    for checklist in checklists:
        areas.update(a.id for a in checklist.areas)
        questions.update(q.id for _, _, q in checklist.questions())
    for area_id, count in areas.items():
        if count > 1:
            problems.append(Problem(f"{where}: checklists",
                                    f"area {area_id!r} appears in {count} of the checklists"))
    for question_id, count in questions.items():
        if count > 1:
            problems.append(Problem(f"{where}: checklists",
                                    f"question {question_id!r} appears {count} times"))
    return problems


@dataclass
class Catalogue:
    """Every definition found in a folder, validated, with the workflows bundled."""

    bundles: dict[tuple[str, int], WorkflowBundle] = field(default_factory=dict)
    sources: dict[tuple[str, int], str] = field(default_factory=dict)
    checklists: dict[tuple[str, int], Checklist] = field(default_factory=dict)

    def bundle(self, name: str, version: int | None = None) -> WorkflowBundle:
        versions = sorted(v for (n, v) in self.bundles if n == name)
        if not versions:
            raise NotFound(f"no workflow named {name!r}; known: {', '.join(self.names()) or '-'}")
        wanted = versions[-1] if version is None else version
        if wanted not in versions:
            raise NotFound(f"workflow {name!r} has no version {wanted}; versions: {versions}")
        return self.bundles[(name, wanted)]

    def names(self) -> list[str]:
        return sorted({n for n, _ in self.bundles})


def _parse(model: type[BaseModel], data: Any, where: str) -> tuple[Any, list[Problem]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, pydantic_problems(where, exc)


def load_catalogue(directory: Path, paths: Sequence[Path] | None = None) -> Catalogue:
    """Load every ``*.yaml`` under ``directory`` (or just ``paths``) and validate all of it.
    Raises one DefinitionError listing every problem in every file; loads nothing otherwise."""
    files = sorted(paths) if paths is not None else sorted(directory.rglob("*.yaml"))
    problems: list[Problem] = []
    catalogue = Catalogue()
    workflows: list[tuple[str, Workflow]] = []
    seen: dict[tuple[str, str, int], str] = {}
    for path in files:
        try:
            where = str(path.resolve().relative_to(directory.resolve().parent))
        except ValueError:
            where = str(path)
        try:
            data = read_yaml(path, where)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        kind = data.get("kind") if isinstance(data, dict) else None
        if kind not in ("workflow", "checklist"):
            problems.append(Problem(f"{where}: kind", "must be 'workflow' or 'checklist'"))
            continue
        model: type[Workflow] | type[Checklist] = Workflow if kind == "workflow" else Checklist
        parsed, found = _parse(model, data, where)
        problems.extend(found)
        if parsed is None:
            continue
        key = (kind, parsed.name, parsed.version)
        if key in seen:
            problems.append(Problem(f"{where}: version",
                                    f"{kind} {parsed.name!r} version {parsed.version} is also "
                                    f"defined in {seen[key]}"))
            continue
        seen[key] = where
        if isinstance(parsed, Workflow):
            problems.extend(workflow_problems(where, parsed))
            workflows.append((where, parsed))
        else:
            catalogue.checklists[(parsed.name, parsed.version)] = parsed
    for where, wf in workflows:
        pinned = []
        for index, ref in enumerate(wf.checklists):
            checklist = catalogue.checklists.get((ref.name, ref.version))
            if checklist is None:
                problems.append(Problem(f"{where}: checklists[{index}]",
                                        f"no checklist {ref.name!r} version {ref.version} found"))
            else:
                pinned.append(checklist)
        problems.extend(bundle_problems(where, wf, pinned))
        catalogue.bundles[(wf.name, wf.version)] = WorkflowBundle(workflow=wf, checklists=pinned)
        catalogue.sources[(wf.name, wf.version)] = where
    if problems:
        raise DefinitionError(
            f"{len(problems)} problem(s) in the definitions; nothing was loaded", problems
        )
    return catalogue


def bundle_from_json(content: str) -> WorkflowBundle:
    """A published bundle, as stored. It was validated before it was published."""
    return WorkflowBundle.model_validate_json(content)
