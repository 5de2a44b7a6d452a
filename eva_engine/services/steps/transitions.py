"""Firing a workflow trigger: permission, guards, state change, effects and audit event in one
transaction, with an optimistic version check, or nothing at all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pydantic import Field

from eva_engine.db.audit import Annotation
from eva_engine.db.repositories import Repositories, TransitionRead
from eva_engine.errors import N_, NotFound, PermissionDenied, Text
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
    User,
    utcnow,
)
from eva_engine.services.access import (
    actor_for,
    load_proposal,
    no_proposal,
    require_named_user,
    require_proposal_access,
)
from eva_engine.services.command import Command
from eva_engine.services.definitions import pinned_bundle, stored_bundle
from eva_engine.services.fields import ChoiceId, Id, Reason, Version
from eva_engine.services.notifications import notices
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import TransitionResult
from eva_engine.vocabulary import AssignmentState
from eva_engine.workflow import engine
from eva_engine.workflow.context import AssessmentSnapshot, FlowContext
from eva_engine.workflow.definition import (
    CloseAssignments,
    Effect,
    OpenAssignment,
    OpenFollowUps,
    SetOutcome,
    SimpleEffect,
)
from eva_engine.workflow.guards import SCREENING_ONLY


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
    """One workflow step. Locks the proposal, reading with it in one statement everything the
    checks, effects and notices need (``Repositories.lock_for_transition``: the acting user
    and their grants too); only the assessment's lists, when a guard of the step needs them,
    and a queue's receivers are read besides. Every change is then written by
    the one flush of the commit, its notices in one INSERT, its audit events in another."""
    with eva.uow() as uow:
        repos = uow.repos
        if caller.username is None:
            require_named_user(None, "a workflow step")
        read = repos.lock_for_transition(proposal_id, caller.username or "")
        # The user came with the lock (and is only checked now: disabled, unknown).
        uow.audit.actor, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "a workflow step")
        if read is None:
            raise NotFound(no_proposal(proposal_id))
        proposal = read.proposal
        require_proposal_access(repos, user, proposal)
        uow.check_version(proposal, expected_version)
        ctx, digest = _context(repos, read, user, trigger, (reason or "").strip() or None)
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
        with repos.session.no_autoflush:  # everything is written by the commit's one flush
            apply_effects(repos, proposal, flow.effects, read.open_assignments)
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


def _context(
    repos: Repositories, read: TransitionRead, user: User, trigger: str, reason: str | None
) -> tuple[FlowContext, str]:
    """What the guards and routes see. The assessment's screening came with the lock; its
    lists are read (a query each) only when a route of the step has a guard or condition that
    reads more than the screening."""
    proposal = read.proposal
    bundle, digest = pinned_bundle(
        repos, proposal.workflow_name, proposal.workflow_version, proposal.workflow_hash
    )
    ctx = FlowContext(
        proposal=proposal,
        actor_id=user.id,
        actor_roles=repos.roles_for(user.id, proposal.organisation_id, proposal.body_id),
        bundle=bundle,
        load_assessment=lambda: AssessmentSnapshot(screening=read.screening),
        meeting=repos.meeting(proposal.meeting_id) if proposal.meeting_id else None,
        reason=reason,
        load_follow_ups=lambda: list(repos.follow_ups(proposal.id)),
    )
    wf = bundle.workflow
    named = {
        name
        for t in wf.transitions
        if t.trigger == trigger and proposal.state in t.sources(wf.states)
        for name in (*t.guards, *t.when, *t.unless)
    }
    if not named <= SCREENING_ONLY:

        def whole() -> AssessmentSnapshot:
            snap = repos.current_snapshot(proposal.id, proposal.revision)
            snap.screening = read.screening
            return snap

        ctx.load_assessment = whole
    return ctx, digest


def apply_effects(
    repos: Repositories,
    proposal: Proposal,
    effects: Sequence[Effect],
    open_assignments: Sequence[Assignment] | None = None,
) -> None:
    """Apply a step's effects. ``open_assignments``: the proposal's open assignments as read
    with its lock (else they are read here)."""
    now = utcnow()
    for effect in effects:
        if isinstance(effect, CloseAssignments):
            named = [k for k in effect.kinds if k != "*"]
            if open_assignments is None:
                open_assignments = repos.open_assignments(proposal.id)
            for a in open_assignments:
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
