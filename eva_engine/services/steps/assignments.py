"""Assignments of a proposal, and handing an open assignment over to someone else."""

from __future__ import annotations

from pydantic import Field

from eva_engine.errors import N_, InvalidInput, NotFound, Problem, Text
from eva_engine.models import Assignment, utcnow
from eva_engine.services.access import actor_for, load_proposal, require_named_user, require_role
from eva_engine.services.command import Command
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.fields import Id, Reason, Username, Version
from eva_engine.services.proposals.queries import assignment_view, assignment_views
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import AssignmentView
from eva_engine.vocabulary import AssignmentState, Role


class Reassign(Command):
    assignment_id: Id
    assignee: Username = Field(min_length=1, description="The new assignee's username")
    reason: Reason | None = None
    expected_version: Version | None = None


def proposal_assignments(eva: Eva, caller: Caller, proposal_id: int) -> list[AssignmentView]:
    """Every assignment of the proposal, open and closed, oldest first."""
    with eva.reading() as uow:
        _, user = actor_for(uow.repos, caller)
        proposal = load_proposal(uow.repos, proposal_id, user)
        return assignment_views(uow.repos, uow.repos.assignments_for_proposal(proposal.id))


def reassign(eva: Eva, caller: Caller, cmd: Reassign) -> AssignmentView:
    """Close an open assignment as reassigned and open the same task for another user. The
    current assignee, or a secretary or administrator of the proposal's body, may do it; the new
    assignee must hold a role that can do the task. Bumps the proposal's row version.

    The proposal is locked before the assignment's state is read for the change (the lock
    order of every write to a proposal): of two reassignments of one task at the same moment
    one wins and the other is a conflict, never a second open task."""
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "reassigning")
        found = repos.assignment(cmd.assignment_id)  # only to find its proposal
        if found is None:
            raise NotFound(_no_assignment(cmd.assignment_id))
        was_open = found.state == AssignmentState.OPEN
        proposal = load_proposal(repos, found.proposal_id, user, for_update=True)
        current = repos.assignment(cmd.assignment_id)  # read again, after the lock
        if current is None:  # pragma: no cover - assignments are never deleted
            raise NotFound(_no_assignment(cmd.assignment_id))
        if was_open and current.state != AssignmentState.OPEN:
            raise uow.conflict(proposal.id)  # closed or reassigned while we waited
        uow.check_version(proposal, cmd.expected_version)
        if current.assignee_id == user.id:
            role = None
        else:
            role = require_role(
                repos,
                user,
                proposal.organisation_id,
                proposal.body_id,
                [Role.SECRETARY, Role.ADMIN],
                "reassign another user's assignment",
            )
        uow.audit.role = role.value if role else None
        if current.state != AssignmentState.OPEN:
            closed = Text(N_("Only an open task can be reassigned; this one is done already."))
            raise InvalidInput(closed, [Problem.of("assignment_id", closed)])
        assignee = repos.user_by_username(cmd.assignee)
        if assignee is None or not assignee.active:
            nobody = Text(
                N_("There is no active user %(username)s: choose another person."),
                {"username": cmd.assignee},
            )
            raise InvalidInput(nobody, [Problem.of("assignee", nobody)])
        if assignee.id == current.assignee_id:
            theirs = Text(
                N_("%(username)s has this task already: choose another person."),
                {"username": assignee.full_name or cmd.assignee},
            )
            raise InvalidInput(theirs, [Problem.of("assignee", theirs)])
        # Who can take it over: a queue names its roles; a named task's kind, in the
        # proposal's own workflow version, names them (``task_kinds``).
        bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
        task = bundle.workflow.task_kind(current.kind)
        wanted = [Role(r) for r in current.roles] or (list(task.roles) if task else [])
        held = repos.roles_for(assignee.id, proposal.organisation_id, proposal.body_id)
        if not held or (wanted and not held.intersection(wanted)):
            cannot = Text(
                N_(
                    "%(username)s cannot take this task: it needs one of the roles %(roles)s "
                    "for this body. Choose another person."
                ),
                {
                    "username": assignee.full_name or cmd.assignee,
                    "roles": ", ".join(r.value for r in wanted),
                },
            )
            raise InvalidInput(cannot, [Problem.of("assignee", cannot)])
        if task is not None and task.four_eyes and assignee.id == proposal.preparer_id:
            own = Text(
                N_(
                    "%(username)s prepared this proposal and cannot review it (four eyes): "
                    "choose another person."
                ),
                {"username": assignee.full_name or cmd.assignee},
            )
            raise InvalidInput(own, [Problem.of("assignee", own)])
        reason = (cmd.reason or "").strip() or None
        current.state, current.closed_at, current.reason = (
            AssignmentState.REASSIGNED,
            utcnow(),
            reason,
        )
        new = Assignment(
            organisation_id=current.organisation_id,
            proposal_id=current.proposal_id,
            kind=current.kind,
            assignee_id=assignee.id,
            roles=list(current.roles),
            due=current.due,
            reason=reason,
        )
        repos.add(new)
        proposal.touch()
        uow.commit()
        return assignment_view(repos, new)


def assignment_proposal(eva: Eva, caller: Caller, assignment_id: int) -> int:
    """The id of the assignment's proposal, if the caller may read it."""
    with eva.reading() as uow:
        _, user = actor_for(uow.repos, caller)
        current = uow.repos.assignment(assignment_id)
        if current is None:
            raise NotFound(_no_assignment(assignment_id))
        try:
            return load_proposal(uow.repos, current.proposal_id, user).id
        except NotFound:
            raise NotFound(_no_assignment(assignment_id)) from None


def _no_assignment(assignment_id: int) -> Text:
    return Text(
        N_("There is no task %(id)s that you may see. Open it from My work."),
        {"id": assignment_id},
    )
