"""Every question of the newest checklist versions has a help text in Finnish, Swedish and
English, written for each language (not one text copied into the others); the standard
workflow pins those newest versions; THL's checklist carries the themes of the promotion of
wellbeing and health that a Finnish EVA checklist has (accidents, mental health, differences in
wellbeing and health between population groups); a running proposal keeps its own versions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from eva_engine.checklists.definition import Checklist, Question
from eva_engine.config import default_workflows_dir
from eva_engine.services import definitions
from eva_engine.services.assessment import editor
from eva_engine.services.runtime import Eva
from eva_engine.workflow.loader import load_catalogue
from tests.builders import OPERATOR, proposal_in
from tests.conftest import World

CATALOGUE = load_catalogue(default_workflows_dir())


def _newest() -> list[Checklist]:
    newest: dict[str, Checklist] = {}
    for (name, version), checklist in CATALOGUE.checklists.items():
        if name not in newest or version > newest[name].version:
            newest[name] = checklist
    return [newest[name] for name in sorted(newest)]


NEWEST = _newest()
QUESTIONS = [(c.name, q) for c in NEWEST for _, _, q in c.questions()]


@pytest.mark.parametrize(("checklist", "question"), QUESTIONS, ids=[q.id for _, q in QUESTIONS])
def test_every_question_has_a_help_text_in_each_language(
    checklist: str, question: Question
) -> None:
    assert question.help is not None, f"{checklist}: {question.id} has no help"
    texts = {"fi": question.help.fi, "sv": question.help.sv, "en": question.help.en}
    assert all(t.strip() for t in texts.values()), f"{question.id}: an empty help text"
    assert len(set(texts.values())) == 3, f"{question.id}: the same help text in two languages"
    for language, text in texts.items():
        assert text != getattr(question.text, language), f"{question.id}: help repeats the question"


def test_the_standard_workflow_pins_the_newest_version_of_every_checklist() -> None:
    pinned = {(r.name, r.version) for r in CATALOGUE.bundle("eva-standard").workflow.checklists}
    assert pinned == {(c.name, c.version) for c in NEWEST}


def test_thl_checklist_asks_of_accidents_mental_health_and_health_differences() -> None:
    thl = next(c for c in NEWEST if c.name == "thl-five-areas")
    ids = {q.id for _, _, q in thl.questions()}
    assert {
        "living_environment.community_planning.accidents",
        "family_wellbeing.wellbeing_support.mental_health",
        "living_conditions.inequalities.population_groups",
    } <= ids
    # still THL's five areas: the themes are questions within them, not a sixth area
    assert [a.id for a in thl.areas] == [
        "living_environment",
        "living_conditions",
        "family_wellbeing",
        "lifestyles",
        "service_system",
    ]


def test_a_running_proposal_keeps_the_questions_and_help_of_its_own_version(
    eva: Eva, world: World, tmp_path: Path
) -> None:
    """A checklist changed in a new version (here a help text and one more question) reaches
    new proposals only: a running one reads its own stored bundle."""
    pid = proposal_in(eva, "assessment")
    folder = tmp_path / "workflows"
    shutil.copytree(eva.workflows_dir, folder)
    workflow = yaml.safe_load((folder / "eva-standard.yaml").read_text(encoding="utf-8"))
    workflow["version"] += 1
    thl_ref = next(r for r in workflow["checklists"] if r["name"] == "thl-five-areas")
    thl_ref["version"] += 1
    (folder / "eva-standard.yaml").write_text(yaml.safe_dump(workflow, allow_unicode=True))
    path = folder / "checklists" / "thl-five-areas.yaml"
    thl = yaml.safe_load(path.read_text(encoding="utf-8"))
    thl["version"] = thl_ref["version"]
    questions = thl["areas"][0]["topics"][0]["questions"]
    first = questions[0]["id"]
    questions[0]["help"] = {"fi": "Uusi ohje.", "sv": "Ny anvisning.", "en": "New guidance."}
    added = {**questions[-1], "id": "living_environment.community_planning.later_question"}
    questions.append(added)
    path.write_text(yaml.safe_dump(thl, allow_unicode=True), encoding="utf-8")
    definitions.publish(Eva(eva.database, folder), OPERATOR)

    def area(proposal: int) -> dict[str, str]:
        matrix = editor.area_matrix(eva, OPERATOR, proposal, "living_environment")
        return {q.id: q.help.fi if q.help else "" for q in matrix.questions()}

    running, new = area(pid), area(proposal_in(eva, "assessment"))
    assert added["id"] not in running
    assert running[first] != "Uusi ohje."
    assert added["id"] in new
    assert new[first] == "Uusi ohje."
