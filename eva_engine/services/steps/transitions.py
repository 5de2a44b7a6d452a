"""Firing a workflow trigger: permission, guards, state change, effects and audit event in one
transaction, with an optimistic version check, or nothing at all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pydantic import Field

from eva_engine.db.audit import Annotation
from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, PermissionDenied, Text
from eva_engine.models import (
    Alternative,
    Answer,
    Assessment,
    Assignment,
    FollowUp,
    FollowUpIndicator,
    Mitigation,
    Proposal,
    Screening,
    utcnow,
)
from eva_engine.services.access import actor_for, load_proposal, require_named_user
from eva_engine.services.command import Command
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.fields import ChoiceId, Id, Reason, Version
from eva_engine.services.notifications import notices
from eva_engine.services.proposals.queries import flow_context
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import TransitionResult
from eva_engine.vocabulary import AssignmentState
from eva_engine.workflow import engine
from eva_engine.workflow.definition import (
    CloseAssignments,
    Effect,
    OpenAssignment,
    OpenFollowUps,
    SetOutcome,
    SimpleEffect,
)


class FireTrigger(Command):
    """A workflow step on a proposal: the input of ``fire``."""

    proposal_id: Id
    trigger: ChoiceId = Field(min_length=1, description="e.g. submit_for_review")
    reason: Reason | None = Field(default=None, description="Required by some steps")
    expected_version: Version | None = None


def reauthenticated_triggers(eva: Eva, caller: Caller, proposal_id: int) -> frozenset[str]:
    """The triggers of the proposal's workflow version whose actor proves again who they are
    (``reauthenticate: true`` in the workflow file, e.g. the presenter's sign-off): the web UI
    asks the password, an API token needs the ``sign`` scope, the command line runs on the
    server. Another organisation's proposal is not found."""
    with eva.reading() as uow:
        _, user = actor_for(uow.repos, caller)
        proposal = load_proposal(uow.repos, proposal_id, user)
        bundle, _ = stored_bundle(uow.repos, proposal.workflow_name, proposal.workflow_version)
        return bundle.workflow.reauthenticated_triggers()


def _refuse_unconfirmed(trigger: str) -> PermissionDenied:
    return PermissionDenied(
        f"{trigger} needs re-authentication: sign off in the web UI, which asks your "
        "password, or use an API token with the 'sign' scope",
        text=Text(
            N_(
                "This step needs you to confirm who you are: sign off in the web UI, "
                "which asks your password, or use an API token with the sign scope."
            )
        ),
    )


def fire(
    eva: Eva,
    caller: Caller,
    proposal_id: int,
    trigger: str,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
) -> TransitionResult:
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "a workflow step")
        proposal = load_proposal(repos, proposal_id, user, for_update=True)
        uow.check_version(proposal, expected_version)
        ctx, digest = flow_context(repos, proposal, user, reason=(reason or "").strip() or None)
        before = proposal.state
        note = Annotation(
            action="proposal.transition", reason=ctx.reason, extra={"trigger": trigger}
        )
        uow.audit.annotate(proposal, note)
        route = engine.select_route(ctx, trigger)  # the one place a route is chosen
        if route.reauthenticate and not caller.confirmed:
            raise _refuse_unconfirmed(trigger)
        transition, flow = engine.fire(ctx, route, digest)
        role = next(r for r in transition.roles if r in ctx.actor_roles)
        note.role = uow.audit.role = role.value
        apply_effects(repos, proposal, flow.effects)
        notices.after_transition(
            repos,
            proposal,
            transition=transition,
            from_state=before,
            effects=flow.effects,
            reason=ctx.reason,
        )
        uow.commit()
        return TransitionResult(
            proposal_id=proposal.id,
            trigger=trigger,
            from_state=before,
            to_state=proposal.state,
            row_version=proposal.row_version,
            revision=proposal.revision,
        )


def apply_effects(repos: Repositories, proposal: Proposal, effects: Sequence[Effect]) -> None:
    now = utcnow()
    for effect in effects:
        if isinstance(effect, CloseAssignments):
            named = [k for k in effect.kinds if k != "*"]
            for a in repos.open_assignments(proposal.id):
                if a.kind in named:
                    a.state, a.closed_at = AssignmentState.DONE, now
                elif "*" in effect.kinds:
                    a.state, a.closed_at = AssignmentState.CANCELLED, now
        elif isinstance(effect, OpenAssignment):
            assignee = {
                "preparer": proposal.preparer_id,
                "presenter": proposal.presenter_id,
                "queue": None,
            }[effect.assignee]
            repos.add(
                Assignment(
                    organisation_id=proposal.organisation_id,
                    proposal_id=proposal.id,
                    kind=effect.kind,
                    assignee_id=assignee,
                    roles=[r.value for r in effect.roles],
                    due=(now + timedelta(days=effect.due_days)).date(),
                )
            )
        elif isinstance(effect, SetOutcome):
            proposal.outcome = effect.outcome
        elif isinstance(effect, OpenFollowUps):
            open_follow_ups(repos, proposal, effect)
        elif isinstance(effect, SimpleEffect):
            _simple_effect(repos, proposal, effect.do)


def open_follow_ups(repos: Repositories, proposal: Proposal, effect: OpenFollowUps) -> None:
    """One follow-up per follow-up indicator of the decided revision (the indicators of the
    chosen alternative's assessment), due when the indicator says, for the preparer or the
    presenter as the effect names; an indicator followed up already is left as it is."""
    assessment = repos.assessment(proposal.id, proposal.revision)
    if assessment is None:  # pragma: no cover - created with every revision
        return
    followed = {f.indicator_id for f in repos.follow_ups(proposal.id)}
    responsible = proposal.preparer_id if effect.assignee == "preparer" else proposal.presenter_id
    for indicator in repos.indicators(assessment.id):
        if indicator.id in followed:
            continue
        repos.add(
            FollowUp(
                organisation_id=proposal.organisation_id,
                proposal_id=proposal.id,
                assessment_id=assessment.id,
                indicator_id=indicator.id,
                kind=effect.kind,
                responsible_id=responsible,
                due=indicator.due,
            )
        )


def _simple_effect(repos: Repositories, proposal: Proposal, action: str) -> None:
    if action == "clear_outcome":
        proposal.outcome = None
    elif action == "clear_meeting":
        proposal.meeting_id = None
        proposal.agenda_position = None
        proposal.section_year = None
        proposal.section_number = None
    elif action == "assign_section":
        meeting = repos.meeting(proposal.meeting_id) if proposal.meeting_id else None
        if meeting is not None and proposal.section_number is None:
            year = meeting.starts_at.year
            proposal.section_year = year
            proposal.section_number = repos.next_section_number(proposal.body_id, year)
    elif action == "new_revision":
        start_new_revision(repos, proposal)


def start_new_revision(repos: Repositories, proposal: Proposal) -> Assessment:
    """Returned for new preparation: the old revision is kept as it was; the new one starts as
    a copy of it, for the preparer to rework."""
    old = repos.assessment(proposal.id, proposal.revision)
    proposal.revision += 1
    new = Assessment(
        proposal_id=proposal.id, revision=proposal.revision, summary=old.summary if old else None
    )
    repos.add(new)
    repos.flush()
    if old is None:  # pragma: no cover
        return new
    snap = repos.snapshot(old.id)
    if snap.screening is not None:
        s = snap.screening
        repos.add(
            Screening(
                assessment_id=new.id,
                proposal_id=proposal.id,
                outcome=s.outcome,
                criteria=list(s.criteria),
                exemption=s.exemption,
                reason=s.reason,
                participation_plan=s.participation_plan,
                recorded_by_id=s.recorded_by_id,
                recorded_at=s.recorded_at,
            )
        )
    ids: dict[int, int] = {}
    for alt in snap.alternatives:
        copy = Alternative(
            assessment_id=new.id,
            proposal_id=proposal.id,
            position=alt.position,
            title=alt.title,
            description=alt.description,
            chosen=alt.chosen,
        )
        repos.add(copy)
        repos.flush()
        ids[alt.id] = copy.id
    for ans in snap.answers:
        repos.add(
            Answer(
                assessment_id=new.id,
                proposal_id=proposal.id,
                alternative_id=ids[ans.alternative_id],
                question_id=ans.question_id,
                direction=ans.direction,
                magnitude=ans.magnitude,
                duration=ans.duration,
                certainty=ans.certainty,
                evidence_source=ans.evidence_source,
                affected_groups=list(ans.affected_groups),
                justification=ans.justification,
            )
        )
    for m in snap.mitigations:
        repos.add(
            Mitigation(
                assessment_id=new.id,
                proposal_id=proposal.id,
                question_id=m.question_id,
                alternative_id=ids[m.alternative_id] if m.alternative_id else None,
                description=m.description,
                responsible=m.responsible,
            )
        )
    for ind in snap.indicators:
        repos.add(
            FollowUpIndicator(
                assessment_id=new.id,
                proposal_id=proposal.id,
                name=ind.name,
                source=ind.source,
                responsible=ind.responsible,
                due=ind.due,
                question_id=ind.question_id,
            )
        )
    return new
