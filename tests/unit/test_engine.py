"""The workflow engine on its own: routes chosen by their conditions, roles, reasons and
guards checked before anything changes, effects collected, one machine per workflow. No
database: the proposal is a model object that is never stored."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from eva_engine.errors import GuardFailed, PermissionDenied, TransitionNotAllowed
from eva_engine.vocabulary import Role, ScreeningOutcome
from eva_engine.workflow import engine
from eva_engine.workflow.context import AssessmentSnapshot
from eva_engine.workflow.definition import OpenAssignment, SimpleEffect, WorkflowBundle
from eva_engine.workflow.loader import content_hash
from eva_engine.workflow.machine import MachineCache, build_machine, route_event
from tests.unit.flows import (
    OTHER_ID,
    PRESENTER_ID,
    Loads,
    bundle,
    context,
    indicator,
    screening,
)

STATES: list[dict[str, Any]] = [
    {"id": "start"},
    {"id": "middle"},
    {"id": "side"},
    {"id": "end", "final": True},
]
TRANSITIONS: list[dict[str, Any]] = [
    {
        "trigger": "advance",
        "source": "start",
        "dest": "side",
        "roles": ["preparer"],
        "when": ["screening_exempt"],
    },
    {"trigger": "advance", "source": "start", "dest": "middle", "roles": ["preparer"]},
    {
        "trigger": "shortcut",
        "source": "start",
        "dest": "end",
        "roles": ["preparer"],
        "when": ["has_follow_up_indicators"],
    },
    {
        "trigger": "finish",
        "source": ["middle", "side"],
        "dest": "end",
        "roles": ["presenter"],
        "guards": ["actor_is_presenter", "follow_up_indicators_exist"],
        "reason_required": True,
        "effects": [
            {"do": "open_assignment", "kind": "work", "assignee": "preparer", "due_days": 3},
            {"do": "new_revision"},
        ],
    },
    {"trigger": "withdraw", "source": "*", "dest": "end", "roles": ["preparer", "presenter"]},
]


@pytest.fixture(scope="module")
def flow() -> WorkflowBundle:
    return bundle(STATES, TRANSITIONS)


def exempt() -> AssessmentSnapshot:
    return AssessmentSnapshot(screening=screening(ScreeningOutcome.EXEMPT))


def test_the_first_route_whose_conditions_hold_is_chosen(flow: WorkflowBundle) -> None:
    assert engine.select_route(context(flow, snapshot=exempt()), "advance").dest == "side"
    light = AssessmentSnapshot(screening=screening(ScreeningOutcome.LIGHT))
    assert engine.select_route(context(flow, snapshot=light), "advance").dest == "middle"
    assert engine.select_route(context(flow), "advance").dest == "middle"  # nothing recorded


def test_a_trigger_whose_only_route_does_not_apply_is_not_possible(flow: WorkflowBundle) -> None:
    with pytest.raises(TransitionNotAllowed, match="'shortcut' has no route from 'start'"):
        engine.select_route(context(flow), "shortcut")
    with_indicator = AssessmentSnapshot(indicators=[indicator()])
    assert engine.select_route(context(flow, snapshot=with_indicator), "shortcut").dest == "end"


def test_a_trigger_unknown_in_the_state_names_the_triggers_possible_there(
    flow: WorkflowBundle,
) -> None:
    with pytest.raises(TransitionNotAllowed) as refused:
        engine.select_route(context(flow, "middle"), "advance")
    assert refused.value.message == (
        "'advance' is not possible in state 'middle'; possible here: finish, withdraw"
    )
    assert refused.value.text is not None


def test_in_a_final_state_nothing_is_possible(flow: WorkflowBundle) -> None:
    assert engine.triggers_from(flow, "end") == []
    with pytest.raises(TransitionNotAllowed, match="none: the proposal is closed"):
        engine.select_route(context(flow, "end"), "withdraw")


def test_the_triggers_of_a_state_come_once_each_in_the_order_of_the_definition(
    flow: WorkflowBundle,
) -> None:
    assert engine.triggers_from(flow, "start") == ["advance", "shortcut", "withdraw"]
    assert engine.triggers_from(flow, "side") == ["finish", "withdraw"]
    routes = engine.routes(flow, "start", "advance")
    assert [r.dest for r in routes] == ["side", "middle"]
    assert [engine.route_index(flow, r) for r in routes] == [0, 1]


def test_a_route_from_any_open_state_starts_from_every_state_but_the_final_ones(
    flow: WorkflowBundle,
) -> None:
    withdraw = flow.workflow.transitions[-1]
    assert withdraw.sources(flow.workflow.states) == ["start", "middle", "side"]


def test_firing_moves_the_proposal_and_collects_the_effects_of_its_route(
    flow: WorkflowBundle,
) -> None:
    ctx = context(
        flow,
        "middle",
        roles=[Role.PRESENTER],
        actor_id=PRESENTER_ID,
        snapshot=AssessmentSnapshot(indicators=[indicator()]),
        reason="Valmis.",
    )
    transition, moved = engine.fire(ctx, "finish", content_hash(flow))
    assert (transition.trigger, transition.dest) == ("finish", "end")
    assert ctx.proposal.state == moved.state == "end"
    assert [type(e) for e in moved.effects] == [OpenAssignment, SimpleEffect]
    assert moved.effects == transition.effects


def test_without_the_role_nothing_changes_and_the_roles_needed_and_held_are_named(
    flow: WorkflowBundle,
) -> None:
    ctx = context(flow, "middle", roles=[Role.PREPARER, Role.EXPERT], actor_id=PRESENTER_ID)
    with pytest.raises(PermissionDenied) as denied:
        engine.fire(ctx, "finish", content_hash(flow))
    assert denied.value.message == (
        "'finish' needs one of the roles presenter for this proposal's body; "
        "you hold: expert, preparer"
    )
    assert ctx.proposal.state == "middle"
    with pytest.raises(PermissionDenied, match="you hold: none"):
        engine.fire(context(flow, "middle", roles=[]), "finish", content_hash(flow))


def test_every_missing_item_is_named_at_once_the_reason_first_and_nothing_changes(
    flow: WorkflowBundle,
) -> None:
    # The presenter's role, held by someone who is not this proposal's presenter, no reason,
    # no follow-up indicators: three problems.
    ctx = context(flow, "side", roles=[Role.PRESENTER], actor_id=OTHER_ID, reason="   ")
    with pytest.raises(GuardFailed) as refused:
        engine.fire(ctx, "finish", content_hash(flow))
    assert [p.location for p in refused.value.problems] == [
        "reason",
        "presenter",
        "follow_up_indicators",
    ]
    assert refused.value.message == "'finish' cannot be done yet: 3 item(s) missing"
    assert ctx.proposal.state == "side"


def test_a_route_chosen_before_is_fired_as_chosen(flow: WorkflowBundle) -> None:
    """The service chooses the route once; the machine fires exactly that route, even when the
    conditions would choose another by now."""
    ctx = context(flow, snapshot=exempt())
    chosen = engine.select_route(ctx, "advance")
    ctx.assessment.screening = screening(ScreeningOutcome.FULL)
    transition, _ = engine.fire(ctx, chosen, content_hash(flow))
    assert transition is chosen
    assert ctx.proposal.state == "side"


def test_the_actions_of_a_state_say_who_may_fire_them_and_what_is_missing(
    flow: WorkflowBundle,
) -> None:
    ctx = context(flow, "side", roles=[Role.PRESENTER], actor_id=PRESENTER_ID)
    verdicts = {v.trigger: v for v in engine.available_actions(ctx)}
    assert list(verdicts) == ["finish", "withdraw"]
    assert verdicts["finish"].role_ok
    assert [p.location for p in verdicts["finish"].problems] == ["follow_up_indicators"]
    assert not verdicts["finish"].allowed
    assert verdicts["withdraw"].allowed
    assert not engine.judge(context(flow, "side"), "finish").role_ok


def test_the_assessment_is_read_only_when_a_guard_or_a_route_needs_it(
    flow: WorkflowBundle,
) -> None:
    plain = context(flow)
    engine.fire(plain, "withdraw", content_hash(flow))
    assert isinstance(plain.load_assessment, Loads)
    assert plain.load_assessment.calls == 0
    routed = context(flow, snapshot=AssessmentSnapshot(indicators=[indicator()]))
    engine.available_actions(routed)  # two conditions and a guard read it, once
    assert isinstance(routed.load_assessment, Loads)
    assert routed.load_assessment.calls == 1


def test_the_machine_has_one_event_per_route(flow: WorkflowBundle) -> None:
    machine = build_machine(flow.workflow)
    assert set(machine.events) == {route_event(i) for i in range(len(TRANSITIONS))}
    assert set(machine.states) == {s["id"] for s in STATES}


def test_the_cache_builds_a_machine_once_per_key(flow: WorkflowBundle) -> None:
    cache = MachineCache()
    key = content_hash(flow)
    seen = []

    def ask() -> None:
        seen.append(cache.get(key, flow.workflow))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.builds == 1
    assert all(machine is seen[0] for machine in seen)
    other = bundle(STATES[:2] + STATES[3:], TRANSITIONS[1:2] + TRANSITIONS[-1:])
    assert cache.get(content_hash(other), other.workflow) is not seen[0]
    assert cache.builds == 2
