"""Workflow and checklist definitions: every kind of mistake in a definition file is reported
with the file and the field, all at once; the command line validates and draws them; and the
state machines built from them are cached, one per workflow version."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from eva_engine.cli import cli
from eva_engine.cli.output import EXIT_CODES
from eva_engine.config import default_workflows_dir
from eva_engine.errors import DefinitionError, InvalidInput, Problem
from eva_engine.models import PublishedDefinition
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Role
from eva_engine.workflow import machine
from eva_engine.workflow.definition import Workflow
from eva_engine.workflow.loader import canonical_json, load_catalogue
from tests.builders import proposal_in, state_of
from tests.conftest import World

SHIPPED = default_workflows_dir()
WORKFLOW = "workflows/eva-standard.yaml"
CHILDREN = "workflows/checklists/children.yaml"

Data = dict[str, Any]


# helpers ----------------------------------------------------------------------------------------
@pytest.fixture
def defs(tmp_path: Path) -> Path:
    """A private copy of the shipped definitions folder, to break."""
    target = tmp_path / "workflows"
    shutil.copytree(SHIPPED, target)
    return target


def shipped_workflow() -> Workflow:
    return load_catalogue(SHIPPED).bundle("eva-standard").workflow


def _children_version() -> int:
    """The version of the shipped children checklist (the one the workflow pins)."""
    return next(r.version for r in shipped_workflow().checklists if r.name == "children")


def edit(path: Path, change: Callable[[Data], None]) -> None:
    """Load a definition file, change the data, and write it back as YAML."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def transition(data: Data, trigger: str, source: str) -> tuple[int, Data]:
    """The index and data of the transition with this trigger from this source."""
    for index, tr in enumerate(data["transitions"]):
        sources = tr["source"] if isinstance(tr["source"], list) else [tr["source"]]
        if tr["trigger"] == trigger and source in sources:
            return index, tr
    raise AssertionError(f"no transition {trigger!r} from {source!r}")  # pragma: no cover


def index_of(trigger: str, source: str) -> int:
    data = yaml.safe_load((SHIPPED / "eva-standard.yaml").read_text(encoding="utf-8"))
    return transition(data, trigger, source)[0]


def problems_in(directory: Path) -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        load_catalogue(directory)
    assert "Nothing was loaded" in caught.value.message
    return caught.value.problems


def assert_reported(problems: list[Problem], location: str, *words: str) -> Problem:
    """Some problem is located exactly at ``location`` and its message names every word."""
    at = [p for p in problems if p.location == location]
    assert at, f"nothing reported at {location!r}; reported: {[str(p) for p in problems]}"
    for problem in at:
        if all(word in problem.message for word in words):
            return problem
    raise AssertionError(f"{location!r} reported {[p.message for p in at]}, expected {words}")


def invoke(args: list[str], workflows_dir: Path) -> Result:
    return CliRunner().invoke(cli, args, env={"EVA_WORKFLOWS_DIR": str(workflows_dir)})


# the shipped definitions ------------------------------------------------------------------------
def test_the_shipped_definitions_load_without_any_problem() -> None:
    catalogue = load_catalogue(SHIPPED)
    assert catalogue.names() == ["eva-standard"]
    bundle = catalogue.bundle("eva-standard")
    assert [c.name for c in bundle.checklists] == [r.name for r in bundle.workflow.checklists]
    assert len(catalogue.checklists) == len(list((SHIPPED / "checklists").glob("*.yaml")))


# files that cannot be read as definitions -------------------------------------------------------
def test_a_yaml_syntax_error_is_reported_with_the_file_line_and_column(defs: Path) -> None:
    path = defs / "checklists" / "children.yaml"
    text = path.read_text(encoding="utf-8")
    line = text.splitlines().index("name: children") + 1
    path.write_text(text.replace("name: children\n", "name: children: oops\n", 1), "utf-8")

    problems = problems_in(defs)

    assert_reported(
        problems, f"{CHILDREN}: line {line}, column 15", "mapping values are not allowed"
    )


def test_a_file_of_an_unknown_kind_is_reported_at_its_kind_field(defs: Path) -> None:
    edit(defs / "eva-standard.yaml", lambda d: d.update(kind="flow"))

    assert_reported(problems_in(defs), f"{WORKFLOW}: kind", "'workflow' or 'checklist'")


def test_a_value_of_the_wrong_type_is_reported_with_file_and_field(defs: Path) -> None:
    edit(defs / "eva-standard.yaml", lambda d: d.update(version="one"))

    assert_reported(problems_in(defs), f"{WORKFLOW}: version", "valid integer")


# the schema of a workflow -----------------------------------------------------------------------
def test_a_misspelt_field_is_reported_as_unknown_with_file_and_field(defs: Path) -> None:
    def typo(data: Data) -> None:
        tr = data["transitions"][0]
        tr["rolez"] = tr.pop("roles")

    edit(defs / "eva-standard.yaml", typo)
    problems = problems_in(defs)

    assert_reported(problems, f"{WORKFLOW}: transitions[0].rolez", "unknown field")
    assert_reported(problems, f"{WORKFLOW}: transitions[0].roles", "required field is missing")


def test_a_missing_required_field_is_reported_with_file_and_field(defs: Path) -> None:
    edit(defs / "eva-standard.yaml", lambda d: d.pop("initial"))

    assert_reported(problems_in(defs), f"{WORKFLOW}: initial", "required field is missing")


def test_a_queue_assignment_without_roles_is_reported_at_the_effect(defs: Path) -> None:
    index = index_of("submit_for_review", "screening")

    def no_roles(data: Data) -> None:
        effects = transition(data, "submit_for_review", "screening")[1]["effects"]
        queue = next(e for e in effects if e.get("assignee") == "queue")
        queue.pop("roles")

    edit(defs / "eva-standard.yaml", no_roles)
    effect = next(
        i
        for i, e in enumerate(shipped_workflow().transitions[index].effects)
        if getattr(e, "assignee", None) == "queue"
    )

    assert_reported(
        problems_in(defs),
        f"{WORKFLOW}: transitions[{index}].effects[{effect}]",
        "queue assignment needs the roles",
    )


# references inside a workflow -------------------------------------------------------------------
def test_an_unknown_source_state_is_reported_with_file_and_field(defs: Path) -> None:
    index = index_of("start_screening", "draft")
    edit(defs / "eva-standard.yaml", lambda d: d["transitions"][index].update(source="drafts"))

    assert_reported(
        problems_in(defs), f"{WORKFLOW}: transitions[{index}].source", "unknown state 'drafts'"
    )


def test_an_unknown_destination_state_is_reported_with_file_and_field(defs: Path) -> None:
    index = index_of("start_screening", "draft")
    edit(defs / "eva-standard.yaml", lambda d: d["transitions"][index].update(dest="screenin"))

    problem = assert_reported(
        problems_in(defs), f"{WORKFLOW}: transitions[{index}].dest", "unknown state 'screenin'"
    )
    assert "screening" in problem.message  # the known states are listed


def test_an_unknown_guard_is_reported_with_file_and_field(defs: Path) -> None:
    index = index_of("begin_assessment", "screening")
    edit(
        defs / "eva-standard.yaml",
        lambda d: d["transitions"][index]["guards"].insert(0, "moon_is_full"),
    )

    assert_reported(
        problems_in(defs),
        f"{WORKFLOW}: transitions[{index}].guards[0]",
        "unknown guard 'moon_is_full'",
        "screening_recorded",
    )


def test_an_unknown_condition_in_when_is_reported_with_file_and_field(defs: Path) -> None:
    index = index_of("return_for_revision", "review")
    edit(
        defs / "eva-standard.yaml",
        lambda d: d["transitions"][index].update(when=["screening_exempted"]),
    )

    assert_reported(
        problems_in(defs),
        f"{WORKFLOW}: transitions[{index}].when[0]",
        "unknown condition 'screening_exempted'",
    )


def test_a_state_defined_twice_is_reported(defs: Path) -> None:
    def duplicate(data: Data) -> None:
        data["states"].append(dict(data["states"][1]))

    edit(defs / "eva-standard.yaml", duplicate)

    assert_reported(problems_in(defs), f"{WORKFLOW}: states", "'screening'", "2 times")


def test_an_unknown_initial_state_is_reported(defs: Path) -> None:
    edit(defs / "eva-standard.yaml", lambda d: d.update(initial="drafting"))

    assert_reported(problems_in(defs), f"{WORKFLOW}: initial", "unknown state 'drafting'")


def test_a_state_that_cannot_be_reached_from_the_initial_one_is_reported(defs: Path) -> None:
    def island(data: Data) -> None:
        data["states"].append({"id": "limbo", "title": {"fi": "L", "sv": "L", "en": "L"}})
        data["transitions"].append(
            {
                "trigger": "leave_limbo",
                "title": {"fi": "P", "sv": "L", "en": "L"},
                "source": "limbo",
                "dest": "closed",
                "roles": ["preparer"],
            }
        )

    edit(defs / "eva-standard.yaml", island)
    problems = problems_in(defs)

    assert_reported(problems, f"{WORKFLOW}: states", "'limbo'", "cannot be reached from 'draft'")
    assert not any("'limbo' is not final" in p.message for p in problems)


def test_a_state_that_is_not_final_but_has_no_way_out_is_reported(defs: Path) -> None:
    def dead_end(data: Data) -> None:
        data["states"].append({"id": "stuck", "title": {"fi": "J", "sv": "F", "en": "S"}})
        data["transitions"].append(
            {
                "trigger": "get_stuck",
                "title": {"fi": "J", "sv": "F", "en": "S"},
                "source": "draft",
                "dest": "stuck",
                "roles": ["preparer"],
            }
        )

    edit(defs / "eva-standard.yaml", dead_end)
    problems = problems_in(defs)

    assert_reported(
        problems, f"{WORKFLOW}: states", "'stuck'", "not final", "no transition leaves it"
    )
    assert not any("'stuck' cannot be reached" in p.message for p in problems)


def test_a_final_state_used_as_a_source_is_reported(defs: Path) -> None:
    index = index_of("start_screening", "draft")
    edit(defs / "eva-standard.yaml", lambda d: d["transitions"][index].update(source="closed"))

    assert_reported(
        problems_in(defs), f"{WORKFLOW}: transitions[{index}].source", "'closed' is final"
    )


def test_an_earlier_route_without_when_or_unless_hiding_later_routes_is_reported(
    defs: Path,
) -> None:
    index = index_of("return_for_revision", "review")
    edit(defs / "eva-standard.yaml", lambda d: d["transitions"][index].pop("when"))

    assert_reported(
        problems_in(defs),
        f"{WORKFLOW}: transitions[{index}]",
        "'return_for_revision'",
        "several routes",
        "'when' or 'unless'",
    )


def test_a_checklist_reference_that_does_not_exist_is_reported(defs: Path) -> None:
    edit(defs / "eva-standard.yaml", lambda d: d["checklists"][1].update(version=99))

    assert_reported(
        problems_in(defs), f"{WORKFLOW}: checklists[1]", "no checklist 'children' version 99"
    )


# checklists -------------------------------------------------------------------------------------
def test_a_question_id_in_two_pinned_checklists_is_reported(defs: Path) -> None:
    def renamed(data: Data) -> None:
        data["name"] = "children-copy"

    shutil.copy(defs / "checklists" / "children.yaml", defs / "checklists" / "children-copy.yaml")
    edit(defs / "checklists" / "children-copy.yaml", renamed)
    edit(
        defs / "eva-standard.yaml",
        lambda d: d["checklists"].append({"name": "children-copy", "version": _children_version()}),
    )

    problems = problems_in(defs)

    assert_reported(
        problems, f"{WORKFLOW}: checklists", "question 'children.rights.best_interest'", "2 times"
    )
    assert_reported(problems, f"{WORKFLOW}: checklists", "area 'children'")


def test_a_question_id_outside_its_area_and_topic_is_reported(defs: Path) -> None:
    edit(
        defs / "checklists" / "children.yaml",
        lambda d: d["areas"][0]["topics"][0]["questions"][0].update(id="rights.best_interest"),
    )

    assert_reported(
        problems_in(defs),
        f"{CHILDREN}: areas[0].topics[0].questions[0].id",
        "'rights.best_interest'",
        "children.rights.",
    )


def test_every_badly_named_question_is_reported_without_a_misleading_not_found(
    defs: Path,
) -> None:
    def rename(d: dict[str, Any]) -> None:
        questions = d["areas"][0]["topics"][0]["questions"]
        questions[0]["id"] = "bad.one"
        questions[1]["id"] = "bad.two"

    edit(defs / "checklists" / "children.yaml", rename)
    problems = problems_in(defs)
    locations = [p.location for p in problems]
    assert f"{CHILDREN}: areas[0].topics[0].questions[0].id" in locations
    assert f"{CHILDREN}: areas[0].topics[0].questions[1].id" in locations
    assert not any("not found" in p.message or "found" in p.message for p in problems)


def test_a_question_id_repeated_within_one_checklist_is_reported_against_that_checklist(
    defs: Path,
) -> None:
    def repeat(d: dict[str, Any]) -> None:
        questions = d["areas"][0]["topics"][0]["questions"]
        questions[1]["id"] = questions[0]["id"]

    edit(defs / "checklists" / "children.yaml", repeat)
    problem = assert_reported(problems_in(defs), f"{CHILDREN}: areas", "appears 2 times")
    assert problem.location.startswith(CHILDREN)


def test_a_missing_or_empty_definitions_folder_is_an_error_not_an_empty_success(
    tmp_path: Path,
) -> None:
    with pytest.raises(DefinitionError, match=r"definitions folder .* does not exist"):
        load_catalogue(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DefinitionError, match="holds no definition files"):
        load_catalogue(tmp_path / "empty")


def test_a_missing_translation_is_reported_with_file_and_field(defs: Path) -> None:
    edit(
        defs / "checklists" / "children.yaml",
        lambda d: d["areas"][0]["topics"][0]["questions"][0]["text"].pop("sv"),
    )

    assert_reported(
        problems_in(defs),
        f"{CHILDREN}: areas[0].topics[0].questions[0].text.sv",
        "required field is missing",
    )


def test_required_at_outside_light_full_and_optional_is_reported(defs: Path) -> None:
    edit(
        defs / "checklists" / "children.yaml",
        lambda d: d["areas"][0]["topics"][0]["questions"][0].update(required_at="always"),
    )

    assert_reported(
        problems_in(defs),
        f"{CHILDREN}: areas[0].topics[0].questions[0].required_at",
        "'light'",
        "'full'",
        "'optional'",
    )


def test_the_same_workflow_name_and_version_in_two_files_is_reported(defs: Path) -> None:
    shutil.copy(defs / "eva-standard.yaml", defs / "zz-copy.yaml")

    assert_reported(
        problems_in(defs),
        "workflows/zz-copy.yaml: version",
        f"workflow 'eva-standard' version {shipped_workflow().version}",
        f"also defined in {WORKFLOW}",
    )


def test_the_same_checklist_name_and_version_in_two_files_is_reported(defs: Path) -> None:
    shutil.copy(defs / "checklists" / "children.yaml", defs / "checklists" / "zz-children.yaml")

    assert_reported(
        problems_in(defs),
        "workflows/checklists/zz-children.yaml: version",
        f"checklist 'children' version {_children_version()}",
        f"also defined in {CHILDREN}",
    )


# all problems at once ---------------------------------------------------------------------------
def test_problems_in_several_files_are_all_reported_at_once(defs: Path) -> None:
    start = index_of("start_screening", "draft")
    edit(defs / "eva-standard.yaml", lambda d: d["transitions"][start].update(dest="nowhere"))
    edit(defs / "eva-standard.yaml", lambda d: d.update(initial="drafting"))
    edit(
        defs / "checklists" / "children.yaml",
        lambda d: d["areas"][0]["topics"][0]["questions"][0].update(required_at="always"),
    )
    edit(defs / "checklists" / "economy.yaml", lambda d: d["title"].pop("sv"))

    with pytest.raises(DefinitionError) as caught:
        load_catalogue(defs)
    problems = caught.value.problems

    assert_reported(problems, f"{WORKFLOW}: transitions[{start}].dest", "'nowhere'")
    assert_reported(problems, f"{WORKFLOW}: initial", "'drafting'")
    assert_reported(problems, f"{CHILDREN}: areas[0].topics[0].questions[0].required_at", "'light'")
    assert_reported(problems, "workflows/checklists/economy.yaml: title.sv", "missing")
    assert caught.value.message.startswith(f"Nothing was loaded: correct the {len(problems)} ")


# the command line -------------------------------------------------------------------------------
def test_workflows_validate_prints_ok_for_the_shipped_definitions() -> None:
    result = invoke(["workflows", "validate"], SHIPPED)

    assert result.exit_code == 0, result.output
    checklists = len(list((SHIPPED / "checklists").glob("*.yaml")))
    assert result.stdout.startswith(f"OK: 1 workflow(s), {checklists} checklist(s) valid.")
    assert result.stderr == ""


def test_workflows_validate_names_file_and_field_of_a_broken_copy_without_a_traceback(
    defs: Path,
) -> None:
    index = index_of("start_screening", "draft")
    edit(defs / "eva-standard.yaml", lambda d: d["transitions"][index].update(dest="screenin"))
    edit(
        defs / "checklists" / "children.yaml",
        lambda d: d["areas"][0]["topics"][0]["questions"][0]["text"].pop("sv"),
    )

    result = invoke(["workflows", "validate"], defs)

    assert result.exit_code == EXIT_CODES[InvalidInput]
    assert isinstance(result.exception, SystemExit)
    assert f"{WORKFLOW}: transitions[{index}].dest: unknown state 'screenin'" in result.stderr
    assert f"{CHILDREN}: areas[0].topics[0].questions[0].text.sv" in result.stderr
    assert "Traceback" not in result.output
    assert "OK" not in result.stdout


def test_workflows_validate_checks_only_the_files_it_is_given(defs: Path) -> None:
    edit(defs / "checklists" / "economy.yaml", lambda d: d["title"].pop("sv"))

    good = invoke(["workflows", "validate", str(defs / "checklists" / "children.yaml")], defs)
    bad = invoke(["workflows", "validate", str(defs / "checklists" / "economy.yaml")], defs)

    assert good.exit_code == 0, good.output
    assert good.stdout.startswith("OK: 0 workflow(s)")
    assert bad.exit_code == EXIT_CODES[InvalidInput]
    assert "workflows/checklists/economy.yaml: title.sv: required field is missing" in bad.stderr


def test_workflows_validate_with_json_reports_the_problems_as_details(defs: Path) -> None:
    edit(defs / "eva-standard.yaml", lambda d: d.update(initial="drafting"))

    result = invoke(["--json", "workflows", "validate"], defs)

    assert result.exit_code == EXIT_CODES[InvalidInput]
    assert '"error": "invalid_definition"' in result.stderr
    assert f"{WORKFLOW}: initial: unknown state 'drafting'" in result.stderr


def test_workflows_diagram_draws_every_transition_of_the_workflow() -> None:
    result = invoke(["workflows", "diagram"], SHIPPED)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "stateDiagram-v2"
    wf = shipped_workflow()
    assert f"    [*] --> {wf.initial}" in lines
    for tr in wf.transitions:
        for source in tr.sources(wf.states):
            assert any(
                re.match(rf"    {source} --> {tr.dest}: {tr.trigger}\b", line) for line in lines
            ), f"{source} --> {tr.dest}: {tr.trigger} is not drawn"
    for state in wf.states:
        assert (f"    {state.id} --> [*]" in lines) == state.final


# the machine cache ------------------------------------------------------------------------------
def test_the_machine_cache_builds_one_machine_per_key_however_often_it_is_asked() -> None:
    cache = machine.MachineCache()
    wf = shipped_workflow()

    first = cache.get("bundle-a", wf)
    again = [cache.get("bundle-a", wf) for _ in range(25)]

    assert cache.builds == 1
    assert all(m is first for m in again)

    other = cache.get("bundle-b", wf)
    assert cache.builds == 2
    assert other is not first
    assert cache.get("bundle-b", wf) is other
    assert cache.builds == 2


def test_the_machine_cache_builds_one_machine_when_asked_from_many_threads_at_once() -> None:
    cache = machine.MachineCache()
    wf = shipped_workflow()

    with ThreadPoolExecutor(max_workers=8) as pool:
        machines = list(pool.map(lambda _: cache.get("bundle", wf), range(64)))

    assert cache.builds == 1
    assert len({id(m) for m in machines}) == 1


def test_firing_triggers_on_many_proposals_builds_no_more_machines(eva: Eva, world: World) -> None:
    proposal_in(eva, "screening")  # the published workflow's machine exists from here on
    before = machine.MACHINES.builds
    assert before >= 1

    walked = [proposal_in(eva, "decided"), proposal_in(eva, "closed")]

    assert [state_of(eva, pid) for pid in walked] == ["decided", "closed"]
    assert machine.MACHINES.builds == before


# workflow knowledge declared in the file (phases, task kinds, re-authentication, notices) -------
def first_effect(data: Data, trigger: str, source: str, do: str) -> tuple[int, int, Data]:
    index, tr = transition(data, trigger, source)
    e_index = next(i for i, e in enumerate(tr["effects"]) if e["do"] == do)
    return index, e_index, tr["effects"][e_index]


def test_an_unknown_task_kind_in_any_effect_or_the_initial_task_is_reported(defs: Path) -> None:
    data = yaml.safe_load((defs / "eva-standard.yaml").read_text(encoding="utf-8"))
    opened = first_effect(data, "pass_review", "review", "open_assignment")
    closed = first_effect(data, "pass_review", "review", "close_assignments")

    def misspell(d: Data) -> None:
        d["transitions"][opened[0]]["effects"][opened[1]]["kind"] = "sign_of"
        d["transitions"][closed[0]]["effects"][closed[1]]["kinds"] = ["reveiw"]
        d["initial_task"]["kind"] = "preparing"

    edit(defs / "eva-standard.yaml", misspell)
    problems = problems_in(defs)

    at = f"{WORKFLOW}: transitions[{opened[0]}].effects"
    assert_reported(problems, f"{at}[{opened[1]}].kind", "unknown task kind 'sign_of'", "sign_off")
    assert_reported(problems, f"{at}[{closed[1]}].kinds[0]", "unknown task kind 'reveiw'")
    assert_reported(problems, f"{WORKFLOW}: initial_task.kind", "unknown task kind 'preparing'")


def test_a_task_kind_defined_twice_is_reported(defs: Path) -> None:
    edit(defs / "eva-standard.yaml", lambda d: d["task_kinds"].append(dict(d["task_kinds"][0])))

    assert_reported(problems_in(defs), f"{WORKFLOW}: task_kinds", "'prepare' is defined 2 times")


def test_a_task_kind_without_roles_is_reported(defs: Path) -> None:
    edit(defs / "eva-standard.yaml", lambda d: d["task_kinds"][1].update(roles=[]))

    assert_reported(problems_in(defs), f"{WORKFLOW}: task_kinds[1].roles", "at least 1 item")


def test_a_workflow_without_task_kinds_or_initial_task_is_reported(defs: Path) -> None:
    def without(data: Data) -> None:
        del data["task_kinds"], data["initial_task"]

    edit(defs / "eva-standard.yaml", without)
    problems = problems_in(defs)

    assert_reported(problems, f"{WORKFLOW}: task_kinds", "required field is missing")
    assert_reported(problems, f"{WORKFLOW}: initial_task", "required field is missing")


def test_routes_of_one_trigger_that_disagree_on_reauthentication_are_reported(
    defs: Path,
) -> None:
    index = index_of("return_for_revision", "reviewed")
    edit(defs / "eva-standard.yaml", lambda d: d["transitions"][index].update(reauthenticate=True))

    assert_reported(
        problems_in(defs),
        f"{WORKFLOW}: transitions[{index}].reauthenticate",
        "routes of trigger 'return_for_revision' disagree",
    )


def test_a_notice_a_transition_cannot_send_is_reported_at_the_notify_field(defs: Path) -> None:
    start = index_of("start_screening", "draft")
    sign = index_of("sign_off", "reviewed")

    def notices(d: Data) -> None:
        d["transitions"][start]["notify"] = ["due_soon", "outcome_recorded"]
        d["transitions"][sign]["notify"] = ["signed_off", "signed_off"]

    edit(defs / "eva-standard.yaml", notices)
    problems = problems_in(defs)

    at = f"{WORKFLOW}: transitions[{start}].notify"
    assert_reported(problems, f"{at}[0]", "'due_soon' is not sent by a transition", "returned")
    assert_reported(problems, at, "'outcome_recorded' needs a set_outcome effect")
    assert_reported(problems, f"{WORKFLOW}: transitions[{sign}].notify", "named 2 times")
    edit(defs / "eva-standard.yaml", lambda d: d["transitions"][sign].update(notify=["shouted"]))
    assert_reported(problems_in(defs), f"{WORKFLOW}: transitions[{sign}].notify[0]", "'returned'")


def test_an_unknown_or_impossible_state_phase_is_reported(defs: Path) -> None:
    data = yaml.safe_load((defs / "eva-standard.yaml").read_text(encoding="utf-8"))
    ids = [s["id"] for s in data["states"]]

    def phases(d: Data) -> None:
        d["states"][ids.index("draft")]["phase"] = "ready"
        d["states"][ids.index("withdrawn")]["phase"] = "ready"

    edit(defs / "eva-standard.yaml", phases)
    problems = problems_in(defs)

    states = f"{WORKFLOW}: states"
    assert_reported(problems, f"{states}[{ids.index('draft')}].phase", "'draft'", "preparation")
    assert_reported(problems, f"{states}[{ids.index('withdrawn')}].phase", "is final")
    edit(defs / "eva-standard.yaml", lambda d: d["states"][3].update(phase="almost"))
    assert_reported(problems_in(defs), f"{states}[3].phase", "'preparation'", "'ready'")


def test_the_texts_of_a_state_are_checked_with_the_file_and_the_field(defs: Path) -> None:
    data = yaml.safe_load((defs / "eva-standard.yaml").read_text(encoding="utf-8"))
    ids = [s["id"] for s in data["states"]]
    draft, decided = ids.index("draft"), ids.index("decided")

    def texts(d: Data) -> None:
        d["states"][draft]["texts"] = {"minutes": ["preparer"], "grounds": ["preparer", "auditor"]}
        d["states"][decided]["texts"] = {"decision": []}

    edit(defs / "eva-standard.yaml", texts)
    problems = problems_in(defs)

    states = f"{WORKFLOW}: states"
    assert_reported(problems, f"{states}[{draft}].texts.minutes", "unknown text kind", "grounds")
    assert_reported(problems, f"{states}[{draft}].texts.grounds[1]", "an auditor")
    assert_reported(problems, f"{states}[{decided}].texts.decision", "no role writes it")
    edit(
        defs / "eva-standard.yaml",
        lambda d: d["states"][decided].update(texts={"decision": ["clerk"]}),
    )
    assert_reported(problems_in(defs), f"{states}[{decided}].texts.decision[0]", "'secretary'")


def legacy_content() -> str:
    """The shipped bundle as a version published before the workflow declared its knowledge
    (format 1) was stored: no task kinds, initial task, phases, re-authentication or notices."""
    data = load_catalogue(SHIPPED).bundle("eva-standard").model_dump(mode="json")
    wf = data["workflow"]
    wf["name"], wf["version"] = "eva-legacy", 1
    for key in ("task_kinds", "initial_task"):
        wf.pop(key)
    for state in wf["states"]:
        state.pop("phase")
        state.pop("texts")
    for tr in wf["transitions"]:
        tr.pop("reauthenticate")
        tr.pop("notify")
    return canonical_json(data)


def test_a_bundle_published_before_the_knowledge_fields_keeps_the_old_knowledge(
    eva: Eva, world: World
) -> None:
    content = legacy_content()
    with eva.uow() as uow:
        uow.repos.add(
            PublishedDefinition(
                kind="workflow",
                name="eva-legacy",
                version=1,
                content_hash=hashlib.sha256(content.encode()).hexdigest(),
                content=content,
                source_file="workflows/eva-standard.yaml",
            )
        )
        uow.commit()
    with eva.reading() as uow:
        legacy = stored_bundle(uow.repos, "eva-legacy", 1)[0].workflow
    current = shipped_workflow()
    # What the code used to know for the standard workflow, now read from the bundle, the same
    # as version 2 declares it.
    assert {s.id: s.phase for s in legacy.states} == {s.id: s.phase for s in current.states}
    assert legacy.reauthenticated_triggers() == current.reauthenticated_triggers() == {"sign_off"}
    assert [t.notify for t in legacy.transitions] == [t.notify for t in current.transitions]
    assert legacy.initial_task == current.initial_task
    assert sorted(legacy.task_kinds, key=lambda k: k.id) == sorted(
        current.task_kinds, key=lambda k: k.id
    )
    assert {s.id: s.texts for s in legacy.states} == {s.id: s.texts for s in current.states}


def before_texts_content() -> str:
    """The shipped bundle as version 3 was stored, before each state declared its ``texts``."""
    data = load_catalogue(SHIPPED).bundle("eva-standard").model_dump(mode="json")
    wf = data["workflow"]
    wf["name"], wf["version"] = "eva-before-texts", 3
    for state in wf["states"]:
        state.pop("texts")
    return canonical_json(data)


def test_a_bundle_published_before_the_states_declared_their_texts_keeps_the_old_writers(
    eva: Eva, world: World
) -> None:
    content = before_texts_content()
    with eva.uow() as uow:
        uow.repos.add(
            PublishedDefinition(
                kind="workflow",
                name="eva-before-texts",
                version=3,
                content_hash=hashlib.sha256(content.encode()).hexdigest(),
                content=content,
                source_file="workflows/eva-standard.yaml",
            )
        )
        uow.commit()
    with eva.reading() as uow:
        before = stored_bundle(uow.repos, "eva-before-texts", 3)[0].workflow
    # Version 4 declares in each state what the code knew: the preparer writes the presentation
    # text and the decision proposal while a state is editable, the secretary the decision
    # once its phase is decided.
    assert {s.id: s.texts for s in before.states} == {
        s.id: s.texts for s in shipped_workflow().states
    }
    assert before.state("draft").texts == {
        "grounds": [Role.PREPARER],
        "decision_proposal": [Role.PREPARER],
    }
    assert before.state("closed").texts == {"decision": [Role.SECRETARY]}
    assert before.state("review").texts == before.state("withdrawn").texts == {}


def test_a_state_of_a_file_without_texts_has_none(defs: Path) -> None:
    """The defaults for old bundles never apply to a file: a state without ``texts`` has none."""

    def drop(d: Data) -> None:
        for state in d["states"]:
            state.pop("texts", None)

    edit(defs / "eva-standard.yaml", drop)
    flow = load_catalogue(defs).bundle("eva-standard").workflow
    assert all(s.texts == {} for s in flow.states)
