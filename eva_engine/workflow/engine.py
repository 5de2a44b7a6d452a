"""Choosing and checking a transition: route, role, reason, guards. Pure: no database here."""

from __future__ import annotations

from dataclasses import dataclass

from eva_engine.errors import (
    N_,
    GuardFailed,
    PermissionDenied,
    Problem,
    Text,
    TransitionNotAllowed,
)
from eva_engine.workflow.context import FlowContext, ProposalFlow
from eva_engine.workflow.definition import Transition, WorkflowBundle
from eva_engine.workflow.guards import CONDITIONS, GUARDS
from eva_engine.workflow.machine import MACHINES, route_event


def routes(bundle: WorkflowBundle, state: str, trigger: str) -> list[Transition]:
    wf = bundle.workflow
    return [t for t in wf.transitions if t.trigger == trigger and state in t.sources(wf.states)]


def route_index(bundle: WorkflowBundle, transition: Transition) -> int:
    """The position of this route (this very object) among the workflow's transitions."""
    return next(i for i, t in enumerate(bundle.workflow.transitions) if t is transition)


def triggers_from(bundle: WorkflowBundle, state: str) -> list[str]:
    wf = bundle.workflow
    seen: dict[str, None] = {}
    for t in wf.transitions:
        if state in t.sources(wf.states):
            seen.setdefault(t.trigger)
    return list(seen)


def select_route(ctx: FlowContext, trigger: str) -> Transition:
    state = ctx.proposal.state
    candidates = routes(ctx.bundle, state, trigger)
    if not candidates:
        available = ", ".join(triggers_from(ctx.bundle, state)) or "none: the proposal is closed"
        raise TransitionNotAllowed(
            f"'{trigger}' is not possible in state '{state}'; possible here: {available}",
            text=Text(N_("This step is not possible in the proposal's present state.")),
        )
    for candidate in candidates:
        if all(CONDITIONS[c](ctx) for c in candidate.when) and not any(
            CONDITIONS[c](ctx) for c in candidate.unless
        ):
            return candidate
    raise TransitionNotAllowed(
        f"'{trigger}' has no route from '{state}' in this situation",
        text=Text(N_("This step is not possible in the proposal's present state.")),
    )


@dataclass(frozen=True)
class Verdict:
    trigger: str
    transition: Transition
    role_ok: bool
    problems: list[Problem]

    @property
    def allowed(self) -> bool:
        return self.role_ok and not self.problems


def judge(ctx: FlowContext, trigger: str) -> Verdict:
    return judge_route(ctx, select_route(ctx, trigger))


def available_actions(ctx: FlowContext) -> list[Verdict]:
    """Every trigger from the current state, with whether this actor may fire it and why not."""
    return [judge(ctx, trigger) for trigger in triggers_from(ctx.bundle, ctx.proposal.state)]


def judge_route(ctx: FlowContext, transition: Transition) -> Verdict:
    """The role and the guards of a route already chosen (by ``select_route``)."""
    role_ok = bool(ctx.actor_roles.intersection(transition.roles))
    problems: list[Problem] = []
    for name in transition.guards:
        problems.extend(GUARDS[name](ctx))
    return Verdict(transition.trigger, transition, role_ok, problems)


def fire(
    ctx: FlowContext, route: Transition | str, bundle_hash: str
) -> tuple[Transition, ProposalFlow]:
    """Check everything, then move the proposal. Raises before changing anything. ``route`` is
    a trigger, or the route ``select_route`` chose for it (its conditions are not evaluated
    again: the machine fires exactly that route)."""
    transition = select_route(ctx, route) if isinstance(route, str) else route
    verdict = judge_route(ctx, transition)
    trigger = transition.trigger
    if not verdict.role_ok:
        roles = ", ".join(r.value for r in transition.roles)
        raise PermissionDenied(
            f"'{trigger}' needs one of the roles {roles} for this proposal's body; "
            f"you hold: {', '.join(sorted(r.value for r in ctx.actor_roles)) or 'none'}",
            text=Text(
                N_(
                    "Your role does not allow this step for this proposal: it needs one of the "
                    "roles %(roles)s."
                ),
                {"roles": roles},
            ),
        )
    problems = list(verdict.problems)
    if transition.reason_required and not (ctx.reason or "").strip():
        problems.insert(
            0, Problem.of("reason", Text(N_("this step needs a reason")), Text(N_("Reason")))
        )
    if problems:
        raise GuardFailed(
            f"'{trigger}' cannot be done yet: {len(problems)} item(s) missing",
            problems,
            text=Text(N_("The step cannot be taken yet: items are missing.")),
        )
    flow = ProposalFlow(ctx)
    machine = MACHINES.get(bundle_hash, ctx.bundle.workflow)
    if not machine.events[route_event(route_index(ctx.bundle, transition))].trigger(flow):
        raise TransitionNotAllowed(  # pragma: no cover
            Text(N_("This step is not possible in the proposal's present state."))
        )
    return transition, flow
