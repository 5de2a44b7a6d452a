"""The guards and routing conditions a workflow file may name, each on its own: a guard lists
every missing item (nothing when it passes), a condition says yes or no. Then the shipped
workflow: its four-eyes and presenter guards keep the wrong people out of its routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from eva_engine.config import default_workflows_dir
from eva_engine.errors import Problem
from eva_engine.models import Meeting
from eva_engine.vocabulary import Direction, Magnitude, Role, ScreeningOutcome
from eva_engine.workflow import engine
from eva_engine.workflow.context import AssessmentSnapshot, FlowContext
from eva_engine.workflow.definition import Transition, WorkflowBundle
from eva_engine.workflow.guards import CONDITIONS, GUARDS
from eva_engine.workflow.loader import load_catalogue
from tests.unit.flows import (
    OTHER_ID,
    PREPARER_ID,
    PRESENTER_ID,
    alternatives,
    answer,
    bundle,
    checklist,
    context,
    indicator,
    mitigation,
    question,
    screening,
)
from tests.unit.flows import (
    meeting as a_meeting,
)

STATES: list[dict[str, Any]] = [{"id": "open"}, {"id": "done", "final": True}]
TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "go", "source": "open", "dest": "done", "roles": ["preparer"]}
]
LIGHT_Q = "area.topic.light_question"
FULL_Q = "area.topic.full_question"


@pytest.fixture(scope="module")
def flow() -> WorkflowBundle:
    questions = [question(LIGHT_Q, "light"), question(FULL_Q, "full")]
    return bundle(STATES, TRANSITIONS, [checklist({"area": questions})])


def problems(
    flow: WorkflowBundle,
    guard: str,
    snapshot: AssessmentSnapshot,
    actor_id: int = PREPARER_ID,
    meeting: Meeting | None = None,
) -> list[str]:
    ctx = context(flow, snapshot=snapshot, actor_id=actor_id, meeting=meeting)
    return [p.location for p in GUARDS[guard](ctx)]


def outcome(value: ScreeningOutcome, plan: str | None = None) -> AssessmentSnapshot:
    return AssessmentSnapshot(screening=screening(value, plan))


NONE = AssessmentSnapshot()
EXEMPT, LIGHT, FULL = (outcome(o) for o in ScreeningOutcome)


def test_screening_recorded_asks_for_a_screening(flow: WorkflowBundle) -> None:
    assert problems(flow, "screening_recorded", NONE) == ["screening"]
    assert all(problems(flow, "screening_recorded", s) == [] for s in (EXEMPT, LIGHT, FULL))


def test_an_exempt_screening_needs_no_assessment_and_an_assessment_needs_no_exemption(
    flow: WorkflowBundle,
) -> None:
    assert problems(flow, "screening_requires_assessment", EXEMPT) == ["screening.outcome"]
    assert problems(flow, "screening_requires_assessment", LIGHT) == []
    assert problems(flow, "screening_requires_assessment", NONE) == []
    assert problems(flow, "screening_is_exempt", EXEMPT) == []
    ctx = context(flow, snapshot=FULL)
    [found] = GUARDS["screening_is_exempt"](ctx)
    assert found.message == "screening found that a full is needed: begin it first"


def test_a_full_assessment_needs_a_participation_plan_that_is_more_than_blanks(
    flow: WorkflowBundle,
) -> None:
    guard = "participation_plan_for_full"
    assert problems(flow, guard, outcome(ScreeningOutcome.FULL, "  ")) == [
        "screening.participation_plan"
    ]
    assert problems(flow, guard, outcome(ScreeningOutcome.FULL, "Asukaskysely.")) == []
    assert problems(flow, guard, LIGHT) == []


@pytest.mark.parametrize(
    ("count", "chosen", "expected"),
    [
        (0, None, "no alternatives: at least the chosen one is assessed"),
        (2, None, "exactly one alternative must be chosen, not 0"),
        (2, 2, None),
    ],
)
def test_exactly_one_alternative_is_chosen(
    flow: WorkflowBundle, count: int, chosen: int | None, expected: str | None
) -> None:
    snapshot = AssessmentSnapshot(alternatives=alternatives(count, chosen))
    found = GUARDS["chosen_alternative_marked"](context(flow, snapshot=snapshot))
    assert [p.message for p in found] == ([expected] if expected else [])


def test_two_chosen_alternatives_are_one_too_many(flow: WorkflowBundle) -> None:
    two = alternatives(2)
    two[1].chosen = True
    [found] = GUARDS["chosen_alternative_marked"](
        context(flow, snapshot=AssessmentSnapshot(alternatives=two))
    )
    assert found.message == "exactly one alternative must be chosen, not 2"


def test_required_questions_are_asked_at_the_depth_the_screening_chose(
    flow: WorkflowBundle,
) -> None:
    def missing(depth: ScreeningOutcome | None) -> list[Problem]:
        snapshot = AssessmentSnapshot(
            screening=screening(depth) if depth else None, alternatives=alternatives(2)
        )
        return GUARDS["required_questions_answered"](context(flow, snapshot=snapshot))

    assert missing(None) == []
    assert missing(ScreeningOutcome.EXEMPT) == []
    assert len(missing(ScreeningOutcome.LIGHT)) == 2  # one question, two alternatives
    assert len(missing(ScreeningOutcome.FULL)) == 4  # two questions, two alternatives


def test_a_significant_negative_impact_needs_a_mitigation(flow: WorkflowBundle) -> None:
    harm = answer(1, LIGHT_Q, Direction.NEGATIVE, Magnitude.SIGNIFICANT, "Haittaa.")
    snapshot = AssessmentSnapshot(alternatives=alternatives(1), answers=[harm])
    guard = "significant_negatives_mitigated"
    assert len(GUARDS[guard](context(flow, snapshot=snapshot))) == 1
    snapshot.mitigations = [mitigation(LIGHT_Q, 1)]
    assert GUARDS[guard](context(flow, snapshot=snapshot)) == []


def test_follow_up_indicators_are_named_for_a_full_assessment_and_needed_to_follow_up(
    flow: WorkflowBundle,
) -> None:
    named = AssessmentSnapshot(screening=screening(ScreeningOutcome.FULL), indicators=[indicator()])
    assert problems(flow, "follow_up_indicators_named", FULL) == ["follow_up_indicators"]
    assert problems(flow, "follow_up_indicators_named", named) == []
    assert problems(flow, "follow_up_indicators_named", LIGHT) == []
    assert problems(flow, "follow_up_indicators_exist", LIGHT) == ["follow_up_indicators"]
    assert problems(flow, "follow_up_indicators_exist", named) == []


def test_the_preparer_never_reviews_their_own_proposal(flow: WorkflowBundle) -> None:
    assert problems(flow, "reviewer_is_not_preparer", NONE, actor_id=PREPARER_ID) == ["reviewer"]
    assert problems(flow, "reviewer_is_not_preparer", NONE, actor_id=OTHER_ID) == []


def test_only_the_proposals_own_presenter_signs_it_off(flow: WorkflowBundle) -> None:
    assert problems(flow, "actor_is_presenter", NONE, actor_id=OTHER_ID) == ["presenter"]
    assert problems(flow, "actor_is_presenter", NONE, actor_id=PRESENTER_ID) == []


def test_a_meeting_must_be_scheduled(flow: WorkflowBundle) -> None:
    assert problems(flow, "meeting_scheduled", NONE) == ["meeting"]
    assert problems(flow, "meeting_scheduled", NONE, meeting=a_meeting()) == []


def test_the_conditions_read_the_screening_and_the_indicators(flow: WorkflowBundle) -> None:
    def holds(name: str, snapshot: AssessmentSnapshot) -> bool:
        return CONDITIONS[name](context(flow, snapshot=snapshot))

    assert holds("screening_exempt", EXEMPT)
    assert not any(holds("screening_exempt", s) for s in (NONE, LIGHT, FULL))
    assert holds("has_follow_up_indicators", AssessmentSnapshot(indicators=[indicator()]))
    assert not holds("has_follow_up_indicators", NONE)


def test_every_guard_and_condition_is_known_by_its_function_name() -> None:
    named: list[tuple[str, Callable[[FlowContext], object]]] = [
        *GUARDS.items(),
        *CONDITIONS.items(),
    ]
    assert all(name == function.__name__ for name, function in named)
    assert not set(GUARDS) & set(CONDITIONS)


# the shipped workflow -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shipped() -> WorkflowBundle:
    catalogue = load_catalogue(default_workflows_dir())
    [name] = catalogue.names()
    return catalogue.bundle(name)


def guarded_by(shipped: WorkflowBundle, guard: str) -> list[Transition]:
    routes = [t for t in shipped.workflow.transitions if guard in t.guards]
    assert routes, f"the shipped workflow names {guard}"
    return routes


def test_in_the_shipped_workflow_a_preparer_holding_the_reviewers_role_cannot_review(
    shipped: WorkflowBundle,
) -> None:
    for route in guarded_by(shipped, "reviewer_is_not_preparer"):
        roles = [Role.PREPARER, *route.roles]
        source = route.sources(shipped.workflow.states)[0]
        own = engine.judge_route(context(shipped, source, roles=roles), route)
        assert own.role_ok
        assert "reviewer" in [p.location for p in own.problems]
        other = engine.judge_route(context(shipped, source, roles=roles, actor_id=OTHER_ID), route)
        assert "reviewer" not in [p.location for p in other.problems]


def test_in_the_shipped_workflow_only_the_named_presenter_passes_the_presenters_guard(
    shipped: WorkflowBundle,
) -> None:
    for route in guarded_by(shipped, "actor_is_presenter"):
        source = route.sources(shipped.workflow.states)[0]
        stranger = context(shipped, source, roles=route.roles, actor_id=OTHER_ID)
        assert "presenter" in [p.location for p in engine.judge_route(stranger, route).problems]
        presenter = context(shipped, source, roles=route.roles, actor_id=PRESENTER_ID)
        assert engine.judge_route(presenter, route).problems == []
