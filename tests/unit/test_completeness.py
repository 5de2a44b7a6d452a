"""Completeness and the checklist format: which questions a depth requires, what makes an
answer complete enough to read, progress per area, and which significant negative impacts
still lack a mitigation. Every shipped checklist is read the same way."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from eva_engine.checklists.completeness import (
    NO_CERTAINTY,
    NO_DURATION,
    NO_JUSTIFICATION,
    NO_MAGNITUDE,
    NOT_ANSWERED,
    AreaProgress,
    missing_answers,
    unmitigated_negatives,
)
from eva_engine.checklists.definition import Checklist, Question
from eva_engine.config import default_workflows_dir
from eva_engine.vocabulary import Certainty, Direction, Duration, Magnitude, ScreeningOutcome
from eva_engine.workflow.loader import load_catalogue
from tests.unit.flows import alternatives, answer, checklist, checklist_data, mitigation, question

LIGHT, FULL, EXEMPT = ScreeningOutcome.LIGHT, ScreeningOutcome.FULL, ScreeningOutcome.EXEMPT
HEALTH = checklist(
    {
        "health": [question("health.topic.a", "light"), question("health.topic.b", "full")],
        "economy": [question("economy.topic.c", "optional"), question("economy.topic.d", "full")],
    }
)


@pytest.mark.parametrize(
    ("required_at", "light", "full", "exempt"),
    [("light", True, True, False), ("full", False, True, False), ("optional", False, False, False)],
)
def test_a_question_is_required_at_its_own_depth_and_every_deeper_one(
    required_at: str, light: bool, full: bool, exempt: bool
) -> None:
    q = Question.model_validate(question("a.b.c", required_at))
    assert (q.required_for(LIGHT), q.required_for(FULL), q.required_for(EXEMPT)) == (
        light,
        full,
        exempt,
    )


def test_progress_counts_every_required_question_for_every_alternative_per_area() -> None:
    two = alternatives(2)
    answers = [answer(1, "health.topic.a"), answer(2, "health.topic.b")]
    _, light = missing_answers([HEALTH], LIGHT, two, answers)
    # progress also names the first cell still missing, the one the matrix editor goes to
    assert light == [
        AreaProgress("health", 2, 1, ("health.topic.a", 2)),
        AreaProgress("economy", 0, 0),
    ]
    _, full = missing_answers([HEALTH], FULL, two, answers)
    assert full == [
        AreaProgress("health", 4, 2, ("health.topic.a", 2)),
        AreaProgress("economy", 2, 0, ("economy.topic.d", 1)),
    ]
    assert [p.done for p in light] == [False, True]


def test_an_unanswered_cell_is_named_by_area_question_and_alternative() -> None:
    problems, _ = missing_answers([HEALTH], LIGHT, alternatives(2), [answer(1, "health.topic.a")])
    [problem] = problems
    assert problem.message == str(NOT_ANSWERED)
    assert problem.location == "area health, question health.topic.a, alternative 2 (Vaihtoehto 2)"
    assert problem.what == NOT_ANSWERED
    assert problem.where is not None
    assert problem.where.params["position"] == 2


def test_an_impact_with_a_direction_needs_its_magnitude_and_justification() -> None:
    one = alternatives(1)
    for direction in (Direction.POSITIVE, Direction.NEGATIVE):
        bare = [answer(1, "health.topic.a", direction, justification=" \n ")]
        problems, progress = missing_answers([HEALTH], LIGHT, one, bare)
        assert [p.what for p in problems] == [NO_MAGNITUDE, NO_JUSTIFICATION]
        assert progress[0] == AreaProgress("health", 1, 0, ("health.topic.a", 1))
        told = [answer(1, "health.topic.a", direction, Magnitude.MINOR, "Perustelu.")]
        assert missing_answers([HEALTH], LIGHT, one, told)[0] == []


def test_no_impact_or_an_unknown_one_is_a_complete_answer_without_more() -> None:
    for direction in (Direction.NONE, Direction.UNKNOWN):
        answers = [answer(1, q) for q in ("health.topic.a", "health.topic.b", "economy.topic.d")]
        for a in answers:
            a.direction = direction
        problems, progress = missing_answers([HEALTH], FULL, alternatives(1), answers)
        assert problems == []
        assert all(p.done for p in progress)


def test_a_full_assessment_also_asks_how_long_and_how_certain() -> None:
    told = answer(1, "health.topic.a", Direction.NEGATIVE, Magnitude.MODERATE, "Perustelu.")
    problems, _ = missing_answers([HEALTH], FULL, alternatives(1), [told])
    at_a = [p.what for p in problems if "health.topic.a" in p.location]
    assert at_a == [NO_DURATION, NO_CERTAINTY]
    told.duration, told.certainty = Duration.COUNCIL_TERM, Certainty.MEDIUM
    problems, _ = missing_answers([HEALTH], FULL, alternatives(1), [told])
    assert not [p for p in problems if "health.topic.a" in p.location]
    assert missing_answers([HEALTH], LIGHT, alternatives(1), [told])[0] == []


def test_an_answer_for_another_alternative_fills_nothing_here() -> None:
    elsewhere = [answer(7, "health.topic.a")]
    problems, _ = missing_answers([HEALTH], LIGHT, alternatives(1), elsewhere)
    assert [p.what for p in problems] == [NOT_ANSWERED]


def test_without_alternatives_nothing_is_required_yet() -> None:
    problems, progress = missing_answers([HEALTH], FULL, [], [])
    assert problems == []
    assert [(p.required, p.done) for p in progress] == [(0, True), (0, True)]


def test_only_significant_negative_impacts_need_a_mitigation() -> None:
    answers = [
        answer(1, "health.topic.a", Direction.NEGATIVE, Magnitude.MODERATE, "x"),
        answer(1, "health.topic.b", Direction.POSITIVE, Magnitude.SIGNIFICANT, "x"),
        answer(1, "economy.topic.d", Direction.NEGATIVE, Magnitude.SIGNIFICANT, "x"),
    ]
    [problem] = unmitigated_negatives(alternatives(1), answers, [])
    assert problem.location == "question economy.topic.d, alternative 1 (Vaihtoehto 1)"
    assert problem.message == "significant negative impact has no mitigation"


def test_a_mitigation_covers_its_own_alternative_or_every_alternative() -> None:
    two = alternatives(2)
    harms = [
        answer(1, "health.topic.a", Direction.NEGATIVE, Magnitude.SIGNIFICANT, "x"),
        answer(2, "health.topic.a", Direction.NEGATIVE, Magnitude.SIGNIFICANT, "x"),
    ]
    for_first = unmitigated_negatives(two, harms, [mitigation("health.topic.a", 1)])
    assert [p.where.params["position"] for p in for_first if p.where] == [2]
    assert unmitigated_negatives(two, harms, [mitigation("health.topic.a", None)]) == []
    assert len(unmitigated_negatives(two, harms, [mitigation("health.topic.b", None)])) == 2


def test_unmitigated_impacts_are_listed_by_question_then_alternative() -> None:
    harms = [
        answer(a, q, Direction.NEGATIVE, Magnitude.SIGNIFICANT, "x")
        for a, q in [(2, "b.t.q"), (1, "b.t.q"), (2, "a.t.q")]
    ]
    listed = [p.where.params for p in unmitigated_negatives(alternatives(2), harms, []) if p.where]
    assert [(where["question"], where["position"]) for where in listed] == [
        ("a.t.q", 2),
        ("b.t.q", 1),
        ("b.t.q", 2),
    ]


def test_an_answer_for_an_alternative_no_longer_there_is_still_reported() -> None:
    harm = answer(9, "health.topic.a", Direction.NEGATIVE, Magnitude.SIGNIFICANT, "x")
    [problem] = unmitigated_negatives(alternatives(1), [harm], [])
    assert problem.location == "question health.topic.a, alternative ? (?)"


# the checklist format -------------------------------------------------------------------------
def test_an_area_given_twice_is_refused() -> None:
    data = checklist_data({"health": [question("health.topic.a", "light")]})
    data["areas"].append(data["areas"][0])
    with pytest.raises(ValidationError, match="area 'health' appears twice"):
        Checklist.model_validate(data)


@pytest.mark.parametrize(
    "change",
    [
        {"required_at": "always"},
        {"unexpected": True},
        {"text": {"fi": "vain suomeksi"}},
    ],
)
def test_a_question_is_read_strictly(change: dict[str, object]) -> None:
    data = checklist_data({"health": [question("health.topic.a", "light") | change]})
    with pytest.raises(ValidationError):
        Checklist.model_validate(data)


def test_the_questions_come_in_the_order_of_the_file() -> None:
    assert [q.id for _, _, q in HEALTH.questions()] == [
        "health.topic.a",
        "health.topic.b",
        "economy.topic.c",
        "economy.topic.d",
    ]


def test_the_shipped_checklists_require_something_at_each_depth_and_full_asks_more() -> None:
    catalogue = load_catalogue(default_workflows_dir())
    [name] = catalogue.names()
    pinned = catalogue.bundle(name).checklists
    assert pinned
    one = alternatives(1)
    light, _ = missing_answers(pinned, LIGHT, one, [])
    full, _ = missing_answers(pinned, FULL, one, [])
    required_light = sum(q.required_for(LIGHT) for c in pinned for _, _, q in c.questions())
    required_full = sum(q.required_for(FULL) for c in pinned for _, _, q in c.questions())
    assert 0 < len(light) == required_light < len(full) == required_full
    assert all(p.what == NOT_ANSWERED for p in full)
