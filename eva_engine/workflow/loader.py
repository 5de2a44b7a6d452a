"""Reads workflow and checklist files, validates them, and pins each workflow with the exact
checklists it names into a hashed bundle. Every problem names the file and the field."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from eva_engine.checklists.definition import SNAKE, Checklist
from eva_engine.errors import N_, DefinitionError, NotFound, Problem, Text
from eva_engine.vocabulary import NotificationKind, Role, TextKind
from eva_engine.workflow.definition import (
    ANY_OPEN_STATE,
    EFFECT_TAGS,
    TRANSITION_NOTICES,
    CloseAssignments,
    OpenAssignment,
    OpenFollowUps,
    SetOutcome,
    Workflow,
    WorkflowBundle,
)
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
            Text(N_("%(file)s is not valid YAML: correct the line named."), {"file": where}),
            [Problem(f"{where}:{line}", str(exc.problem or exc))],
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(
            Text(
                N_("The file %(file)s cannot be read (%(error)s): check its name and rights."),
                {"file": where, "error": str(exc)},
            ),
            [Problem(where, str(exc))],
        ) from exc


class _Report:
    """Collects problems located in one file."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.problems: list[Problem] = []

    def add(self, loc: str, message: str) -> None:
        self.problems.append(Problem(f"{self.where}: {loc}", message))


def _state_problems(report: _Report, wf: Workflow) -> None:
    ids = [s.id for s in wf.states]
    for state_id, count in Counter(ids).items():
        if count > 1:
            report.add("states", f"state {state_id!r} is defined {count} times")
    finals = {s.id for s in wf.states if s.final}
    if wf.initial not in ids:
        report.add("initial", f"unknown state {wf.initial!r}; known states: {', '.join(ids)}")
    elif wf.initial in finals:
        report.add("initial", f"the initial state {wf.initial!r} cannot be final")
    if not finals:
        report.add("states", "no final state: every proposal must be able to end")
    for index, state in enumerate(wf.states):
        if state.id == wf.initial and state.phase != "preparation":
            report.add(
                f"states[{index}].phase",
                f"the initial state {state.id!r} is where preparation starts: "
                "its phase must be 'preparation'",
            )
        if state.final and state.phase == "ready":
            report.add(
                f"states[{index}].phase",
                f"{state.id!r} is final: a final state cannot wait for an agenda "
                "(use 'decided' or 'preparation')",
            )


def _text_problems(report: _Report, wf: Workflow) -> None:
    """Each state's ``texts``: known text kinds, each written by at least one role, none named
    twice, never by an auditor (who reads everything and changes nothing)."""
    kinds = [k.value for k in TextKind]
    for index, state in enumerate(wf.states):
        for kind, roles in state.texts.items():
            loc = f"states[{index}].texts.{kind}"
            if kind not in kinds:
                report.add(loc, f"unknown text kind {kind!r}; known text kinds: {', '.join(kinds)}")
            if not roles:
                report.add(
                    loc,
                    "no role writes it: name the roles that write it here, or leave the text "
                    "out of this state",
                )
            for role, count in Counter(roles).items():
                if count > 1:
                    report.add(loc, f"role {role.value!r} is named {count} times")
            if Role.AUDITOR in roles:
                report.add(
                    f"{loc}[{roles.index(Role.AUDITOR)}]",
                    "an auditor reads everything and changes nothing: name the roles that "
                    "write the text",
                )


def _task_kind_problems(report: _Report, wf: Workflow) -> None:
    """Every task kind an effect or the initial task names is declared in ``task_kinds``."""
    known = [k.id for k in wf.task_kinds]
    for kind, count in Counter(known).items():
        if count > 1:
            report.add("task_kinds", f"task kind {kind!r} is defined {count} times")

    def check(loc: str, kind: str) -> None:
        if kind not in known:
            report.add(loc, f"unknown task kind {kind!r}; known task kinds: {', '.join(known)}")

    check("initial_task.kind", wf.initial_task.kind)
    for t_index, tr in enumerate(wf.transitions):
        for e_index, effect in enumerate(tr.effects):
            loc = f"transitions[{t_index}].effects[{e_index}]"
            if isinstance(effect, OpenAssignment | OpenFollowUps):
                check(f"{loc}.kind", effect.kind)
            elif isinstance(effect, CloseAssignments):
                for k_index, kind in enumerate(effect.kinds):
                    if kind != ANY_OPEN_STATE:
                        check(f"{loc}.kinds[{k_index}]", kind)


def _knowledge_problems(report: _Report, wf: Workflow) -> None:
    """What the code reads from a transition: re-authentication and notifications."""
    reauth: dict[str, set[bool]] = defaultdict(set)
    for tr in wf.transitions:
        reauth[tr.trigger].add(tr.reauthenticate)
    for index, tr in enumerate(wf.transitions):
        loc = f"transitions[{index}]"
        if len(reauth[tr.trigger]) > 1:
            report.add(
                f"{loc}.reauthenticate",
                f"the routes of trigger {tr.trigger!r} disagree: re-authentication is asked "
                "before the route is known, so give every route of a trigger the same value",
            )
        for n_index, kind in enumerate(tr.notify):
            if kind not in TRANSITION_NOTICES:
                report.add(
                    f"{loc}.notify[{n_index}]",
                    f"{kind.value!r} is not sent by a transition; a transition sends: "
                    f"{', '.join(k.value for k in TRANSITION_NOTICES)}",
                )
        for kind, count in Counter(tr.notify).items():
            if count > 1:
                report.add(f"{loc}.notify", f"{kind.value!r} is named {count} times")
        if NotificationKind.OUTCOME_RECORDED in tr.notify and not any(
            isinstance(e, SetOutcome) for e in tr.effects
        ):
            report.add(
                f"{loc}.notify",
                "'outcome_recorded' needs a set_outcome effect on the same transition",
            )


def _names_problems(
    report: _Report, loc: str, kind: str, names: list[str], known: Mapping[str, object]
) -> None:
    for index, name in enumerate(names):
        if name not in known:
            report.add(
                f"{loc}[{index}]", f"unknown {kind} {name!r}; known: {', '.join(sorted(known))}"
            )


def _transition_problems(report: _Report, wf: Workflow) -> dict[str, set[str]]:
    """Checks every transition's references; returns the graph of edges between states."""
    ids = [s.id for s in wf.states]
    finals = {s.id for s in wf.states if s.final}
    edges: dict[str, set[str]] = defaultdict(set)
    routes: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, tr in enumerate(wf.transitions):
        loc = f"transitions[{index}]"
        sources = tr.sources(wf.states)
        for source in [] if tr.source == ANY_OPEN_STATE else sources:
            if source not in ids:
                report.add(
                    f"{loc}.source", f"unknown state {source!r}; known states: {', '.join(ids)}"
                )
            elif source in finals:
                report.add(f"{loc}.source", f"{source!r} is final: nothing leaves a final state")
        if tr.dest not in ids:
            report.add(f"{loc}.dest", f"unknown state {tr.dest!r}; known states: {', '.join(ids)}")
        _names_problems(report, f"{loc}.guards", "guard", tr.guards, GUARDS)
        _names_problems(report, f"{loc}.when", "condition", tr.when, CONDITIONS)
        _names_problems(report, f"{loc}.unless", "condition", tr.unless, CONDITIONS)
        for source in sources:
            edges[source].add(tr.dest)
            routes[(source, tr.trigger)].append(index)
    for (source, trigger), indexes in routes.items():
        for index in indexes[:-1]:
            tr = wf.transitions[index]
            if not tr.when and not tr.unless:
                report.add(
                    f"transitions[{index}]",
                    f"trigger {trigger!r} from {source!r} has several routes; every route "
                    "but the last needs 'when' or 'unless', or the later ones can never "
                    "be taken",
                )
    return edges


def _graph_problems(report: _Report, wf: Workflow, edges: dict[str, set[str]]) -> None:
    ids = [s.id for s in wf.states]
    finals = {s.id for s in wf.states if s.final}
    if wf.initial in ids:
        reached = {wf.initial}
        queue = deque([wf.initial])
        while queue:
            for nxt in edges[queue.popleft()] - reached:
                reached.add(nxt)
                queue.append(nxt)
        for state_id in ids:
            if state_id not in reached:
                report.add("states", f"state {state_id!r} cannot be reached from {wf.initial!r}")
    for state_id in sorted(set(ids) - finals):
        if not edges[state_id]:
            report.add("states", f"state {state_id!r} is not final but no transition leaves it")


def workflow_problems(where: str, wf: Workflow) -> list[Problem]:
    """Rules a schema cannot express: references between states, transitions and guards."""
    report = _Report(where)
    _state_problems(report, wf)
    _task_kind_problems(report, wf)
    _text_problems(report, wf)
    _knowledge_problems(report, wf)
    edges = _transition_problems(report, wf)
    _graph_problems(report, wf, edges)
    for key, choices in (
        ("criteria", wf.screening.criteria),
        ("exemptions", wf.screening.exemptions),
    ):
        for choice_id, count in Counter(c.id for c in choices).items():
            if count > 1:
                report.add(f"screening.{key}", f"{choice_id!r} is defined {count} times")
    return report.problems


def checklist_problems(where: str, checklist: Checklist) -> list[Problem]:
    """Ids a schema cannot check: topics unique in their area, question ids nested as
    ``<area>.<topic>.<slug>`` and unique in the checklist. Every problem, not the first."""
    report = _Report(where)
    questions: Counter[str] = Counter()
    for a_index, area in enumerate(checklist.areas):
        topics = Counter(t.id for t in area.topics)
        for t_index, topic in enumerate(area.topics):
            if topics[topic.id] > 1:
                report.add(
                    f"areas[{a_index}].topics[{t_index}].id",
                    f"topic {topic.id!r} appears {topics[topic.id]} times in {area.id!r}",
                )
            prefix = f"{area.id}.{topic.id}."
            for q_index, question in enumerate(topic.questions):
                questions[question.id] += 1
                slug = question.id.removeprefix(prefix)
                if not question.id.startswith(prefix) or not re.fullmatch(SNAKE, slug):
                    report.add(
                        f"areas[{a_index}].topics[{t_index}].questions[{q_index}].id",
                        f"{question.id!r} must be '{prefix}<snake_case_slug>'",
                    )
    for question_id, count in questions.items():
        if count > 1:
            report.add("areas", f"question {question_id!r} appears {count} times")
    return report.problems


def bundle_problems(where: str, checklists: Sequence[Checklist]) -> list[Problem]:
    """The checklists one workflow pins must not share area or question ids."""
    report = _Report(where)
    areas: Counter[str] = Counter()
    questions: Counter[str] = Counter()
    for checklist in checklists:
        areas.update(a.id for a in checklist.areas)
        questions.update(q.id for _, _, q in checklist.questions())
    for area_id, count in areas.items():
        if count > 1:
            report.add("checklists", f"area {area_id!r} appears in {count} of the checklists")
    for question_id, count in questions.items():
        if count > 1:
            report.add("checklists", f"question {question_id!r} appears {count} times")
    return report.problems


@dataclass
class Catalogue:
    """Every definition found in a folder, validated, with the workflows bundled."""

    bundles: dict[tuple[str, int], WorkflowBundle] = field(default_factory=dict)
    sources: dict[tuple[str, int], str] = field(default_factory=dict)
    checklists: dict[tuple[str, int], Checklist] = field(default_factory=dict)
    invalid: set[tuple[str, int]] = field(default_factory=set)

    def bundle(self, name: str, version: int | None = None) -> WorkflowBundle:
        versions = sorted(v for (n, v) in self.bundles if n == name)
        if not versions:
            raise NotFound(
                Text(
                    N_("There is no workflow %(workflow)s; the workflows are: %(known)s."),
                    {"workflow": name, "known": ", ".join(self.names()) or "-"},
                )
            )
        wanted = versions[-1] if version is None else version
        if wanted not in versions:
            raise NotFound(
                Text(
                    N_(
                        "The workflow %(workflow)s has no version %(version)s; its versions: "
                        "%(known)s."
                    ),
                    {
                        "workflow": name,
                        "version": wanted,
                        "known": ", ".join(map(str, versions)),
                    },
                )
            )
        return self.bundles[(name, wanted)]

    def names(self) -> list[str]:
        return sorted({n for n, _ in self.bundles})


def _parse(model: type[BaseModel], data: Any, where: str) -> tuple[Any, list[Problem]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, pydantic_problems(where, exc)


def _display(path: Path, directory: Path) -> str:
    try:
        return str(path.resolve().relative_to(directory.resolve().parent))
    except ValueError:
        return str(path)


def _read_definition(path: Path, where: str) -> tuple[Workflow | Checklist | None, list[Problem]]:
    try:
        data = read_yaml(path, where)
    except DefinitionError as exc:
        return None, exc.problems
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in ("workflow", "checklist"):
        return None, [Problem(f"{where}: kind", "must be 'workflow' or 'checklist'")]
    parsed, problems = _parse(Workflow if kind == "workflow" else Checklist, data, where)
    if isinstance(parsed, Workflow):
        problems.extend(workflow_problems(where, parsed))
    elif isinstance(parsed, Checklist):
        problems.extend(checklist_problems(where, parsed))
    return parsed, problems


def _declared(path: Path) -> tuple[str, int] | None:
    """The name and version an unreadable or invalid checklist file says it has, if any."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return None
    if isinstance(data, dict) and isinstance(data.get("name"), str):
        version = data.get("version")
        if isinstance(version, int):
            return data["name"], version
    return None


def _bundle(catalogue: Catalogue, where: str, wf: Workflow) -> list[Problem]:
    pinned = []
    problems = []
    for index, ref in enumerate(wf.checklists):
        checklist = catalogue.checklists.get((ref.name, ref.version))
        if checklist is None and (ref.name, ref.version) in catalogue.invalid:
            continue  # its own file's problems are reported; saying "not found" would mislead
        if checklist is None:
            problems.append(
                Problem(
                    f"{where}: checklists[{index}]",
                    f"no checklist {ref.name!r} version {ref.version} found",
                )
            )
        else:
            pinned.append(checklist)
    problems.extend(bundle_problems(where, pinned))
    catalogue.bundles[(wf.name, wf.version)] = WorkflowBundle(workflow=wf, checklists=pinned)
    catalogue.sources[(wf.name, wf.version)] = where
    return problems


def load_catalogue(directory: Path, paths: Sequence[Path] | None = None) -> Catalogue:
    """Load every ``*.yaml`` under ``directory`` (or just ``paths``) and validate all of it.
    Raises one DefinitionError listing every problem in every file; loads nothing otherwise."""
    if not directory.is_dir():
        raise DefinitionError(
            Text(
                N_("The definitions folder %(folder)s does not exist: check EVA_WORKFLOWS_DIR."),
                {"folder": str(directory)},
            ),
            [Problem(str(directory), "does not exist or is not a folder (EVA_WORKFLOWS_DIR)")],
        )
    files = sorted(paths) if paths is not None else sorted(directory.rglob("*.yaml"))
    if not files:
        raise DefinitionError(
            Text(
                N_("The folder %(folder)s holds no definition files (*.yaml)."),
                {"folder": str(directory)},
            ),
            [Problem(str(directory), "holds no *.yaml definition files")],
        )
    problems: list[Problem] = []
    catalogue = Catalogue()
    workflows: list[tuple[str, Workflow]] = []
    seen: dict[tuple[str, str, int], str] = {}
    for path in files:
        where = _display(path, directory)
        parsed, found = _read_definition(path, where)
        problems.extend(found)
        if parsed is None or (found and isinstance(parsed, Checklist)):
            declared = _declared(path)
            if declared is not None:
                catalogue.invalid.add(declared)
            continue
        key = (parsed.kind, parsed.name, parsed.version)
        if key in seen:
            problems.append(
                Problem(
                    f"{where}: version",
                    f"{parsed.kind} {parsed.name!r} version {parsed.version} is "
                    f"also defined in {seen[key]}",
                )
            )
            continue
        seen[key] = where
        if isinstance(parsed, Workflow):
            workflows.append((where, parsed))
        else:
            catalogue.checklists[(parsed.name, parsed.version)] = parsed
    if paths is not None:
        # Validating single files: the checklists they pin come from the folder.
        for (name, version), checklist in _folder_checklists(directory).items():
            catalogue.checklists.setdefault((name, version), checklist)
    for where, wf in workflows:
        problems.extend(_bundle(catalogue, where, wf))
    if problems:
        raise DefinitionError(
            Text(
                N_("Nothing was loaded: correct the %(count)s problems in the definition files."),
                {"count": len(problems)},
            ),
            problems,
        )
    return catalogue


def _folder_checklists(directory: Path) -> dict[tuple[str, int], Checklist]:
    found: dict[tuple[str, int], Checklist] = {}
    for path in sorted(directory.rglob("*.yaml")):
        parsed, problems = _read_definition(path, _display(path, directory))
        if isinstance(parsed, Checklist) and not problems:
            found[(parsed.name, parsed.version)] = parsed
    return found


# What the code knew of a workflow before the workflow files said it themselves (format 1:
# bundles published without ``task_kinds``). Filled in by ``bundle_from_json`` only, so a
# proposal pinned to such a version keeps working exactly as it did; files must say it all.
LEGACY_PHASES = {
    "signed_off": "ready",
    "on_agenda": "ready",
    "decided": "decided",
    "follow_up": "decided",
    "closed": "decided",
    "rejected": "decided",
    "removed": "decided",
}
LEGACY_REAUTHENTICATE = frozenset({"sign_off"})
LEGACY_NOTIFY = {"return_for_revision": ["returned"], "sign_off": ["signed_off"]}
LEGACY_TASK_KINDS: dict[str, tuple[list[str], dict[str, str]]] = {
    "prepare": (
        ["preparer"],
        {"fi": "Valmistele arviointi", "sv": "Bered bedömningen", "en": "Prepare the assessment"},
    ),
    "revise": (
        ["preparer"],
        {
            "fi": "Korjaa tarkastuksen jälkeen",
            "sv": "Korrigera efter granskningen",
            "en": "Revise after review",
        },
    ),
    "review": (
        ["secretary", "expert"],
        {"fi": "Tarkasta arviointi", "sv": "Granska bedömningen", "en": "Review the assessment"},
    ),
    "sign_off": (
        ["presenter"],
        {
            "fi": "Hyväksy esittelijänä",
            "sv": "Godkänn som föredragande",
            "en": "Sign off as presenter",
        },
    ),
    "agenda": (
        ["secretary"],
        {
            "fi": "Vie esityslistalle",
            "sv": "För upp på en föredragningslista",
            "en": "Place on an agenda",
        },
    ),
    "record_outcome": (
        ["secretary"],
        {
            "fi": "Kirjaa kokouksen päätös",
            "sv": "Anteckna sammanträdets beslut",
            "en": "Record the meeting outcome",
        },
    ),
    "follow_up": (
        ["preparer"],
        {
            "fi": "Seuraa vaikutuksia",
            "sv": "Följ upp konsekvenserna",
            "en": "Follow up the impacts",
        },
    ),
}


def _legacy_workflow(wf: dict[str, Any]) -> dict[str, Any]:
    """A format-1 workflow with the knowledge the code used to hard-code made explicit."""
    upgraded = dict(wf)
    upgraded["states"] = [
        {**s, "phase": LEGACY_PHASES.get(s["id"], "preparation")} for s in wf["states"]
    ]
    transitions = []
    kinds: dict[str, None] = {"prepare": None}
    for tr in wf["transitions"]:
        effects = tr.get("effects", [])
        notify = list(LEGACY_NOTIFY.get(tr["trigger"], []))
        if any(e.get("do") == "set_outcome" for e in effects):
            notify.append("outcome_recorded")
        for effect in effects:
            if effect.get("do") == "open_assignment":
                kinds.setdefault(effect["kind"])
            elif effect.get("do") == "close_assignments":
                kinds.update(dict.fromkeys(k for k in effect["kinds"] if k != ANY_OPEN_STATE))
        transitions.append(
            {**tr, "reauthenticate": tr["trigger"] in LEGACY_REAUTHENTICATE, "notify": notify}
        )
    upgraded["transitions"] = transitions
    upgraded["task_kinds"] = [
        {
            "id": kind,
            "title": LEGACY_TASK_KINDS.get(kind, (["preparer"], {}))[1]
            or {"fi": kind, "sv": kind, "en": kind},
            "roles": LEGACY_TASK_KINDS.get(kind, (["preparer"], {}))[0],
            "four_eyes": kind == "review",
        }
        for kind in kinds
    ]
    upgraded["initial_task"] = {"kind": "prepare", "due_days": 30}
    return upgraded


# Who wrote a proposal's texts before the workflow declared it in each state's ``texts``
# (bundles published before ``eva-standard`` v4): what the code knew then, by what a state
# declares, never by its name. The preparer writes the presentation text and the decision
# proposal while the state is ``editable``; the secretary writes the decision once its
# ``phase`` is ``decided``. Filled in by ``bundle_from_json`` only, for a stored state without
# ``texts``; in a file a state without ``texts`` has none.
TEXTS_BEFORE_DECLARED: dict[str, dict[str, list[str]]] = {
    "editable": {"grounds": ["preparer"], "decision_proposal": ["preparer"]},
    "decided": {"decision": ["secretary"]},
}


def _undeclared_texts(state: dict[str, Any]) -> dict[str, list[str]]:
    """``TEXTS_BEFORE_DECLARED`` of a stored state that does not declare its texts."""
    texts: dict[str, list[str]] = {}
    if state.get("editable"):
        texts.update(TEXTS_BEFORE_DECLARED["editable"])
    if state.get("phase") == "decided":
        texts.update(TEXTS_BEFORE_DECLARED["decided"])
    return texts


def bundle_from_json(content: str) -> WorkflowBundle:
    """A published bundle, as stored. It was validated before it was published. A bundle
    published before the workflow format declared its own knowledge is read with the
    knowledge the code had then, filled in here only: without ``task_kinds``, phases, steps
    and tasks (``_legacy_workflow``); a state without ``texts``, who writes which text
    (``TEXTS_BEFORE_DECLARED``)."""
    data = json.loads(content)
    if isinstance(data, dict) and "task_kinds" not in data.get("workflow", {}):
        data = {**data, "workflow": _legacy_workflow(data["workflow"])}
    if isinstance(data, dict) and isinstance(data.get("workflow"), dict):
        wf = data["workflow"]
        states = [
            s if "texts" in s else {**s, "texts": _undeclared_texts(s)}
            for s in wf.get("states", [])
        ]
        data = {**data, "workflow": {**wf, "states": states}}
    return WorkflowBundle.model_validate(data)
