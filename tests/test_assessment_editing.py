"""Editing an assessment piece by piece, as the web UI does: partial work is saved, each edit
is checked against the whole revision, and only what changed enters the history."""

from __future__ import annotations

from datetime import date

import pytest

from eva_engine.errors import InvalidInput, NotFound
from eva_engine.services.assessment import documents
from eva_engine.services.assessment.documents import (
    AlternativeIn,
    AnswerIn,
    IndicatorIn,
    MitigationIn,
)
from eva_engine.services.history import trail
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Direction, Magnitude, ScreeningOutcome
from tests.builders import OPERATOR, as_, document, proposal_in, required_questions
from tests.conftest import World

TWO = [
    AlternativeIn(position=0, title="Nykytila"),
    AlternativeIn(position=1, title="Esitys", chosen=True),
]


def test_alternatives_come_first_and_answers_can_be_saved_one_cell_at_a_time(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "assessment")
    question = required_questions(eva, ScreeningOutcome.LIGHT)[0][1]
    cell = AnswerIn(
        question=question,
        alternative=1,
        direction=Direction.POSITIVE,
        magnitude=Magnitude.MINOR,
        justification="Hyvä.",
    )
    with pytest.raises(InvalidInput, match="alternatives first"):
        documents.save_answers(eva, as_("prep"), pid, [cell])
    documents.save_alternatives(eva, as_("prep"), pid, TWO)
    view = documents.save_answers(eva, as_("prep"), pid, [cell])
    assert (view.alternatives, view.answers) == (2, 1)
    assert view.missing  # partial work is fine; what is missing is listed


def test_a_cell_can_be_cleared_and_an_unknown_question_is_refused(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "assessment")
    documents.import_assessment(eva, as_("prep"), pid, document(eva))
    question = required_questions(eva, ScreeningOutcome.LIGHT)[0][1]
    view = documents.save_answers(eva, as_("prep"), pid, [], cleared=[(question, 1)])
    assert view.answers == len(document(eva).answers) - 1
    bad = AnswerIn(question="no.such.question", alternative=1, direction=Direction.NONE)
    with pytest.raises(InvalidInput) as caught:
        documents.save_answers(eva, as_("prep"), pid, [bad])
    assert caught.value.problems[0].location == "answers[-1].question" or "question" in str(
        caught.value.problems[0]
    )


def test_removing_an_alternative_removes_its_cells_and_mitigations(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "assessment")
    question = required_questions(eva, ScreeningOutcome.LIGHT)[0][1]
    documents.import_assessment(eva, as_("prep"), pid, document(eva, negative=question))
    view = documents.save_alternatives(
        eva, as_("prep"), pid, [AlternativeIn(position=0, title="Nykytila", chosen=True)]
    )
    exported = documents.export_document(eva, OPERATOR, pid)
    assert view.alternatives == 1
    assert {a.alternative for a in exported.answers} == {0}
    assert exported.mitigations == []


def test_mitigations_indicators_and_summary_are_added_and_removed(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "assessment")
    documents.save_alternatives(eva, as_("prep"), pid, TWO)
    question = required_questions(eva, ScreeningOutcome.LIGHT)[0][1]
    mitigation = MitigationIn(question=question, alternative=1, description="Lievennys.")
    indicator = IndicatorIn(name="Mittari", responsible="koordinaattori", due=date(2027, 6, 30))
    documents.save_mitigation(eva, as_("prep"), pid, mitigation)
    documents.save_indicator(eva, as_("prep"), pid, indicator)
    documents.save_summary(eva, as_("prep"), pid, "Yhteenveto päättäjille.")
    doc = documents.export_document(eva, OPERATOR, pid)
    assert (len(doc.mitigations), len(doc.follow_up_indicators), doc.summary) == (
        1,
        1,
        "Yhteenveto päättäjille.",
    )
    documents.save_mitigation(eva, as_("prep"), pid, mitigation, remove=True)
    documents.save_indicator(eva, as_("prep"), pid, indicator, remove=True)
    doc = documents.export_document(eva, OPERATOR, pid)
    assert (doc.mitigations, doc.follow_up_indicators) == ([], [])


def test_an_edit_records_only_the_changed_cell(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "assessment")
    documents.import_assessment(eva, as_("prep"), pid, document(eva))
    before = len(trail.proposal_history(eva, OPERATOR, pid))
    question = required_questions(eva, ScreeningOutcome.LIGHT)[0][1]
    stored = next(a for a in document(eva).answers if (a.question, a.alternative) == (question, 1))
    changed = stored.model_copy(
        update={"direction": Direction.NEGATIVE, "justification": "Tarkennettu."}
    )
    documents.save_answers(eva, as_("prep"), pid, [changed])
    events = trail.proposal_history(eva, OPERATOR, pid)[before:]
    assert [e.action for e in events] == ["answer.update"]
    assert events[0].before == {"direction": "positive", "justification": "Perusteltu."}


def test_the_exported_document_imports_back_unchanged(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "assessment")
    documents.import_assessment(eva, as_("prep"), pid, document(eva))
    exported = documents.export_document(eva, OPERATOR, pid)
    version = documents.export_document(eva, OPERATOR, pid)
    assert exported == version
    parsed = documents.parse_document(exported.model_dump_json())
    view = documents.import_assessment(eva, as_("prep"), pid, parsed)
    assert view.answers == len(exported.answers)


@pytest.mark.parametrize("alternatives", [False, True])
def test_removing_a_mitigation_or_an_indicator_that_is_not_there_is_not_found(
    eva: Eva, world: World, alternatives: bool
) -> None:
    """Not "add the alternatives first": there is nothing to remove, with or without them."""
    pid = proposal_in(eva, "assessment")
    if alternatives:
        documents.save_alternatives(eva, as_("prep"), pid, TWO)
    before = documents.export_document(eva, OPERATOR, pid)
    question = required_questions(eva, ScreeningOutcome.LIGHT)[0][1]
    mitigation = MitigationIn(question=question, alternative=1, description="Lievennys.")
    indicator = IndicatorIn(name="Mittari", responsible="koordinaattori", due=date(2027, 6, 30))
    with pytest.raises(NotFound, match="no such mitigation to remove"):
        documents.save_mitigation(eva, as_("prep"), pid, mitigation, remove=True)
    with pytest.raises(NotFound, match="no follow-up indicator named Mittari"):
        documents.save_indicator(eva, as_("prep"), pid, indicator, remove=True)
    assert documents.export_document(eva, OPERATOR, pid) == before  # nothing changed
