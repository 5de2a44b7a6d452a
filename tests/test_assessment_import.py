"""Importing an assessment document: every problem is named by its path and nothing is stored
unless the whole document is valid; a re-import records only what really changed; editing is
refused in the wrong state, to the wrong people and on a stale version. And the screening:
every mistake is named by its field."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from eva_engine.cli import cli
from eva_engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Problem
from eva_engine.services.assessment import documents, screening
from eva_engine.services.assessment.documents import AssessmentDocument
from eva_engine.services.history.trail import proposal_history
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import Eva
from eva_engine.services.views import HistoryEventView
from eva_engine.vocabulary import ScreeningOutcome
from tests.builders import as_, document, new_proposal, proposal_in
from tests.conftest import World

Data = dict[str, Any]


# helpers ----------------------------------------------------------------------------------------
def changed(eva: Eva, change: Callable[[Data], object]) -> AssessmentDocument:
    """The complete light document of the builders, changed by ``change``."""
    data = document(eva).model_dump(mode="json")
    change(data)
    return AssessmentDocument.model_validate(data)


def history(eva: Eva, pid: int) -> list[HistoryEventView]:
    return proposal_history(eva, as_("prep"), pid)


def at(problems: list[Problem], location: str) -> list[str]:
    """The messages of the problems at exactly this location."""
    return [p.message for p in problems if p.location == location]


def invalid_json(text: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        documents.parse_document(text, "assessment.json")
    return caught.value


# parsing ----------------------------------------------------------------------------------------
def test_a_document_that_is_not_json_is_refused_naming_the_line_and_column() -> None:
    error = invalid_json('{\n  "format": "eva.assessment/1",\n  "alternatives": [\n}\n')

    assert error.message.startswith("assessment.json is not valid JSON")
    assert [p.location for p in error.problems] == ["line 4, column 1"]
    assert error.problems[0].message


def test_schema_errors_are_refused_naming_every_field_path_at_once() -> None:
    text = json.dumps(
        {
            "format": "eva.assessment/1",
            "alternatives": [{"position": 0}, {"position": 1, "title": "Esitys", "colour": "x"}],
            "answers": [
                {"question": "children.rights.best_interest", "alternative": 0},
                {"question": "children.rights.best_interest", "alternative": 1, "direction": "up"},
            ],
        }
    )

    error = invalid_json(text)

    assert error.message.startswith("assessment.json is not a valid assessment document")
    problems = error.problems
    assert at(problems, "alternatives[0].title") == ["Fill this in: it is required."]
    assert at(problems, "alternatives[1].colour") == [
        "Remove this field: it is not one of the known fields."
    ]
    assert at(problems, "answers[0].direction") == ["Fill this in: it is required."]
    assert len(at(problems, "answers[1].direction")) == 1
    assert "positive" in at(problems, "answers[1].direction")[0]
    assert len(problems) == 4


def test_a_document_of_another_format_is_refused_at_its_format_field() -> None:
    error = invalid_json(json.dumps({"format": "eva.assessment/2", "alternatives": []}))

    assert "eva.assessment/1" in at(error.problems, "format")[0]
    assert at(error.problems, "alternatives")


def test_a_valid_document_parses_into_its_parts() -> None:
    text = json.dumps(
        {
            "format": "eva.assessment/1",
            "alternatives": [{"position": 0, "title": " Nykytila ", "chosen": True}],
            "answers": [
                {
                    "question": "children.rights.best_interest",
                    "alternative": 0,
                    "direction": "none",
                }
            ],
        }
    )

    doc = documents.parse_document(text)

    assert doc.alternatives[0].title == "Nykytila"
    assert doc.answers[0].magnitude is None


# invalid documents store nothing ----------------------------------------------------------------
def _unknown_question(d: Data) -> None:
    d["answers"][0]["question"] = "children.rights.no_such_question"


def _missing_alternative(d: Data) -> None:
    d["answers"][0]["alternative"] = 7


def _duplicate_answer(d: Data) -> None:
    d["answers"].insert(1, dict(d["answers"][0]))


def _magnitude_without_direction(d: Data) -> None:
    d["answers"][0].update(direction="none", magnitude="moderate")


def _two_chosen(d: Data) -> None:
    d["alternatives"][0]["chosen"] = True


def _unknown_mitigation_question(d: Data) -> None:
    d["mitigations"].append({"question": "children.nope.nope", "description": "Lievennys."})


@pytest.mark.parametrize(
    ("change", "location", "words"),
    [
        pytest.param(
            _unknown_question,
            "answers[0].question",
            ["There is no question children.rights.no_such_question"],
            id="unknown-question",
        ),
        pytest.param(
            _missing_alternative,
            "answers[0].alternative",
            ["There is no alternative at position 7"],
            id="missing-alternative",
        ),
        pytest.param(
            _duplicate_answer, "answers[1]", ["answered twice"], id="duplicate-question-alternative"
        ),
        pytest.param(
            _magnitude_without_direction,
            "answers[0].magnitude",
            ["none or unknown", "no magnitude"],
            id="magnitude-with-direction-none",
        ),
        pytest.param(_two_chosen, "alternatives", ["Choose only one alternative"], id="two-chosen"),
        pytest.param(
            _unknown_mitigation_question,
            "mitigations[0].question",
            ["There is no question children.nope.nope"],
            id="unknown-mitigation-question",
        ),
    ],
)
def test_an_invalid_document_is_refused_naming_the_path_and_nothing_is_stored(
    eva: Eva,
    world: World,
    change: Callable[[Data], None],
    location: str,
    words: list[str],
) -> None:
    pid = new_proposal(eva)
    before = proposal_queries.show(eva, as_("prep"), pid)
    events = history(eva, pid)
    doc = changed(eva, change)

    with pytest.raises(InvalidInput) as caught:
        documents.import_assessment(eva, as_("prep"), pid, doc)

    assert "nothing was changed" in caught.value.message
    messages = at(caught.value.problems, location)
    assert any(all(w in m for w in words) for m in messages), caught.value.problems
    after = proposal_queries.show(eva, as_("prep"), pid)
    assert (after.alternatives, after.answers) == (0, 0)
    assert after.row_version == before.row_version
    assert history(eva, pid) == events


def test_every_problem_of_a_document_is_named_at_once(eva: Eva, world: World) -> None:
    pid = new_proposal(eva)

    def many(d: Data) -> None:
        _unknown_question(d)
        _two_chosen(d)
        d["answers"][2].update(direction="unknown", magnitude="minor")

    with pytest.raises(InvalidInput) as caught:
        documents.import_assessment(eva, as_("prep"), pid, changed(eva, many))

    locations = {p.location for p in caught.value.problems}
    assert {"answers[0].question", "alternatives", "answers[2].magnitude"} <= locations
    assert proposal_queries.show(eva, as_("prep"), pid).answers == 0


# re-importing -----------------------------------------------------------------------------------
def test_importing_the_same_document_twice_records_no_new_events(eva: Eva, world: World) -> None:
    pid = new_proposal(eva)
    doc = document(eva)
    first = documents.import_assessment(eva, as_("prep"), pid, doc)
    events = history(eva, pid)
    assert any(e.action == "answer.create" for e in events)

    again = documents.import_assessment(eva, as_("prep"), pid, doc)

    assert history(eva, pid) == events
    assert (again.alternatives, again.answers) == (first.alternatives, first.answers)


def test_changing_one_direction_records_exactly_one_answer_update(eva: Eva, world: World) -> None:
    pid = new_proposal(eva)
    documents.import_assessment(eva, as_("prep"), pid, document(eva))
    events = history(eva, pid)

    def negative(d: Data) -> None:
        d["answers"][0]["direction"] = "negative"

    documents.import_assessment(eva, as_("prep"), pid, changed(eva, negative))

    new = history(eva, pid)[len(events) :]
    assert [e.action for e in new] == ["answer.update"]
    assert new[0].before == {"direction": "positive"}
    assert new[0].after == {"direction": "negative"}
    assert new[0].actor == "prep"


def test_removing_an_alternative_from_the_document_removes_it_and_its_answers(
    eva: Eva, world: World
) -> None:
    pid = new_proposal(eva)
    full = document(eva)
    imported = documents.import_assessment(eva, as_("prep"), pid, full)
    assert (imported.alternatives, imported.answers) == (2, len(full.answers))
    events = history(eva, pid)
    kept = [a for a in full.answers if a.alternative == 1]

    def without_status_quo(d: Data) -> None:
        d["alternatives"] = [a for a in d["alternatives"] if a["position"] != 0]
        d["answers"] = [a for a in d["answers"] if a["alternative"] != 0]

    view = documents.import_assessment(eva, as_("prep"), pid, changed(eva, without_status_quo))

    assert (view.alternatives, view.answers) == (1, len(kept))
    new = history(eva, pid)[len(events) :]
    assert [e.action for e in new].count("alternative.delete") == 1
    assert [e.action for e in new].count("answer.delete") == len(full.answers) - len(kept)
    deleted = next(e for e in new if e.action == "alternative.delete")
    assert deleted.before is not None
    assert deleted.before["position"] == 0


# who may edit, and when -------------------------------------------------------------------------
def test_editing_is_refused_in_a_state_that_is_not_editable_naming_the_state(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "review")
    version = proposal_queries.show(eva, as_("prep"), pid).row_version

    with pytest.raises(InvalidInput) as caught:
        documents.import_assessment(eva, as_("prep"), pid, document(eva))

    [said] = at(caught.value.problems, "state")
    assert said == caught.value.message
    assert said.startswith("The assessment cannot be edited in the proposal's present step (")
    assert said.count(",") == 2  # the three steps where it can be edited, by their titles
    assert "draft" not in said  # never a state's id
    assert proposal_queries.show(eva, as_("prep"), pid).row_version == version


def test_editing_is_refused_to_a_user_without_a_preparer_or_expert_role(
    eva: Eva, world: World
) -> None:
    pid = new_proposal(eva)

    with pytest.raises(PermissionDenied) as caught:
        documents.import_assessment(eva, as_("sec"), pid, document(eva))

    assert caught.value.message.startswith("Your roles here do not allow this")
    assert "preparer, expert" in caught.value.message
    assert proposal_queries.show(eva, as_("prep"), pid).answers == 0


@pytest.mark.parametrize("username", ["expert", "prep2"])
def test_an_expert_or_another_preparer_may_edit_the_assessment(
    eva: Eva, world: World, username: str
) -> None:
    pid = new_proposal(eva)
    doc = document(eva)

    view = documents.import_assessment(eva, as_(username), pid, doc)

    assert (view.alternatives, view.answers) == (2, len(doc.answers))
    assert {e.actor for e in history(eva, pid) if e.action == "answer.create"} == {username}


def test_a_user_of_another_organisation_is_told_the_proposal_does_not_exist(
    eva: Eva, world: World
) -> None:
    pid = new_proposal(eva)

    with pytest.raises(NotFound) as caught:
        documents.import_assessment(eva, as_("outsider"), pid, document(eva))

    assert caught.value.message.startswith(f"There is no proposal {pid} that you may see")
    assert proposal_queries.show(eva, as_("prep"), pid).answers == 0


def test_a_stale_expected_version_is_a_conflict_naming_who_changed_the_proposal(
    eva: Eva, world: World
) -> None:
    pid = new_proposal(eva)
    read = proposal_queries.show(eva, as_("prep"), pid).row_version
    theirs = documents.import_assessment(eva, as_("prep2"), pid, document(eva), read)
    assert theirs.row_version != read

    def mine(d: Data) -> None:
        d["answers"][0]["direction"] = "negative"

    with pytest.raises(Conflict) as caught:
        documents.import_assessment(eva, as_("prep"), pid, changed(eva, mine), read)

    assert "by prep2" in caught.value.message
    assert f"you had version {read}, it is now {theirs.row_version}" in caught.value.message
    current = proposal_queries.show(eva, as_("prep"), pid)
    assert current.row_version == theirs.row_version
    assert not any(e.action == "answer.update" for e in history(eva, pid))


def test_the_current_expected_version_is_accepted(eva: Eva, world: World) -> None:
    pid = new_proposal(eva)
    read = proposal_queries.show(eva, as_("prep"), pid).row_version

    view = documents.import_assessment(eva, as_("prep"), pid, document(eva), read)

    assert view.row_version > read
    assert view.alternatives == 2


# the JSON Schema --------------------------------------------------------------------------------
def test_the_json_schema_requires_the_documents_required_properties() -> None:
    schema = documents.json_schema()

    required = {n for n, f in AssessmentDocument.model_fields.items() if f.is_required()}
    assert set(schema["required"]) == required == {"format", "alternatives"}
    assert set(schema["properties"]) == set(AssessmentDocument.model_fields)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["format"]["const"] == documents.FORMAT


def test_assessment_schema_prints_the_json_schema_as_valid_json() -> None:
    result = CliRunner().invoke(cli, ["assessment", "schema"])

    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == documents.json_schema()
    assert printed["$id"] == "https://eva.invalid/schemas/assessment-1.json"


# screening --------------------------------------------------------------------------------------
def refused_screening(eva: Eva, pid: int, **fields: Any) -> list[Problem]:
    cmd = screening.RecordScreening(proposal_id=pid, **fields)
    with pytest.raises(InvalidInput) as caught:
        screening.record_screening(eva, as_("prep"), cmd)
    assert caught.value.message == "The screening was not saved: correct the items named."
    assert proposal_queries.show(eva, as_("prep"), pid).screening is None
    return caught.value.problems


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_an_exempt_screening_without_a_reason_is_refused_naming_reason(
    eva: Eva, world: World, reason: str | None
) -> None:
    problems = refused_screening(
        eva,
        new_proposal(eva),
        outcome=ScreeningOutcome.EXEMPT,
        exemption="filling_post",
        reason=reason,
    )

    assert at(problems, "reason") == [
        "An exempt screening records its reason: write why none is needed."
    ]
    assert len(problems) == 1


def test_an_unknown_screening_criterion_is_refused_naming_its_index(eva: Eva, world: World) -> None:
    problems = refused_screening(
        eva,
        new_proposal(eva),
        outcome=ScreeningOutcome.LIGHT,
        criteria=["moon_landing", "many_residents"],
    )

    [message] = at(problems, "criteria[0]")
    assert "moon_landing is not one of the criteria" in message
    assert "Affects a large share of residents" in message  # the criteria, by their labels
    assert not at(problems, "criteria[1]")


def test_an_exemption_with_a_light_outcome_is_refused(eva: Eva, world: World) -> None:
    problems = refused_screening(
        eva,
        new_proposal(eva),
        outcome=ScreeningOutcome.LIGHT,
        criteria=["many_residents"],
        exemption="filling_post",
    )

    assert at(problems, "exemption") == [
        "Only a screening that needs no assessment names a ground for it: leave the ground empty."
    ]


def test_an_exempt_screening_with_an_unknown_exemption_is_refused(eva: Eva, world: World) -> None:
    problems = refused_screening(
        eva,
        new_proposal(eva),
        outcome=ScreeningOutcome.EXEMPT,
        exemption="too_busy",
        reason="Kiire.",
    )

    [message] = at(problems, "exemption")
    assert message.startswith("Choose the ground for no assessment")
    assert "Filling a post" in message  # the grounds, by their labels


def test_two_mitigations_for_the_same_question_and_alternative_are_refused(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "assessment")
    question = document(eva).answers[0].question
    doc = document(eva).model_copy(
        update={
            "mitigations": [
                documents.MitigationIn(question=question, alternative=1, description="A."),
                documents.MitigationIn(question=question, alternative=1, description="B."),
            ]
        }
    )
    with pytest.raises(InvalidInput) as caught:
        documents.import_assessment(eva, as_("prep"), pid, doc)
    assert [p.location for p in caught.value.problems] == ["mitigations[1]"]


def test_an_import_that_changes_nothing_leaves_the_version_and_the_conflict_names_the_editor(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "assessment")
    first = documents.import_assessment(eva, as_("prep"), pid, document(eva))
    again = documents.import_assessment(eva, as_("prep2"), pid, document(eva))
    assert again.row_version == first.row_version
    changed = document(eva, skip=2)
    documents.import_assessment(eva, as_("prep2"), pid, changed)
    with pytest.raises(Conflict, match="changed by prep2"):
        documents.import_assessment(
            eva, as_("prep"), pid, document(eva), expected_version=first.row_version
        )
