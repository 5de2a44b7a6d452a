"""Recording a follow-up's result, and waiving a follow-up with the reason why.

Who may: the person responsible for the follow-up, the proposal's preparer or presenter, or an
administrator of the proposal's organisation (and the shell operator). Another organisation's
follow-up is not found (404); one's own without that standing is forbidden (403). Once the
proposal is in a final state (closed), its follow-ups are no longer changed.

A result whose outcome is ``cannot_tell_yet`` is recorded but leaves the follow-up open (an
interim measurement); any other outcome makes it done. A later recording replaces the result
on the follow-up; the history keeps every earlier one. Every write locks the proposal first
and bumps its row version (the proposal is the aggregate its version guards)."""

from __future__ import annotations

from pydantic import Field

from eva_engine.db.audit import Annotation
from eva_engine.db.repositories import Repositories
from eva_engine.db.unit_of_work import UnitOfWork
from eva_engine.errors import N_, InvalidInput, NotFound, PermissionDenied, Problem, Text
from eva_engine.models import FollowUp, Proposal, User, utcnow
from eva_engine.services.access import actor_for, load_proposal
from eva_engine.services.command import Command
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.fields import (
    Id,
    LongText,
    Reason,
    ResultValue,
    Source,
    TypedDate,
    Version,
)
from eva_engine.services.follow_up.queries import FollowUpView, follow_up_view, may_record
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import FollowUpOutcome, FollowUpSource, FollowUpState, Role

WHERE = Text(N_("Follow-up"))


class RecordResult(Command):
    """The measured result of one follow-up, and how it compares with the prediction."""

    follow_up_id: Id
    value: ResultValue = Field(min_length=1, description='As measured, e.g. "23,4 %"')
    measured_on: TypedDate = Field(description="When it was measured or published, e.g. 13.6.2023")
    source_kind: FollowUpSource
    source_reference: Source | None = Field(
        default=None, description="e.g. the Sotkanet indicator id 289, or the report's name"
    )
    note: LongText | None = None
    outcome: FollowUpOutcome = Field(description="How the impact went compared with the forecast")
    expected_version: Version | None = None


class WaiveFollowUp(Command):
    """A follow-up that will not be measured, with the reason why."""

    follow_up_id: Id
    reason: Reason = Field(min_length=1, description="Why the follow-up is not done")
    expected_version: Version | None = None


def _missing(follow_up_id: int) -> NotFound:
    return NotFound(Text(N_("There is no follow-up %(id)s."), {"id": follow_up_id}))


def _open(
    uow: UnitOfWork, caller: Caller, follow_up_id: int, expected_version: int | None, doing: str
) -> tuple[User | None, Proposal, FollowUp]:
    """The follow-up to change, after its proposal is locked (the lock order of every write)."""
    repos = uow.repos
    uow.audit.actor, user = actor_for(repos, caller)
    found = repos.follow_up(follow_up_id)  # only to find its proposal
    if found is None:
        raise _missing(follow_up_id)
    try:
        proposal = load_proposal(repos, found.proposal_id, user, for_update=True)
    except NotFound:
        raise _missing(follow_up_id) from None
    follow_up = repos.follow_up(follow_up_id)  # read again, after the lock
    if follow_up is None:  # pragma: no cover - follow-ups are never deleted
        raise _missing(follow_up_id)
    uow.check_version(proposal, expected_version)
    uow.audit.role = _standing(repos, user, proposal, follow_up, doing)
    bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
    if bundle.workflow.state(proposal.state).final:
        raise InvalidInput(
            Text(N_("The proposal has been closed: its follow-ups can no longer change.")),
            [
                Problem.of(
                    "follow_up_id",
                    Text(N_("the proposal has been closed: its follow-ups can no longer change")),
                    WHERE,
                )
            ],
        )
    return user, proposal, follow_up


def _standing(
    repos: Repositories, user: User | None, proposal: Proposal, follow_up: FollowUp, doing: str
) -> str | None:
    """The role the user acts in, or PermissionDenied (the operator acts in none)."""
    if user is None:
        return None
    if user.id == proposal.preparer_id:
        return Role.PREPARER.value
    if user.id == proposal.presenter_id:
        return Role.PRESENTER.value
    if follow_up.responsible_id == user.id:
        return None
    if may_record(repos, user, proposal):
        return Role.ADMIN.value
    raise PermissionDenied(
        f"{user.username} cannot {doing}: only the person responsible, "
        "the proposal's preparer or presenter, or an administrator can",
        text=Text(
            N_(
                "Only the person responsible for the follow-up, the proposal's preparer "
                "or presenter, or an administrator can do this."
            )
        ),
    )


def record_result(eva: Eva, caller: Caller, cmd: RecordResult) -> FollowUpView:
    with eva.uow() as uow:
        user, proposal, follow_up = _open(
            uow, caller, cmd.follow_up_id, cmd.expected_version, "record a follow-up result"
        )
        now = utcnow()
        if cmd.measured_on > now.date():
            raise InvalidInput(
                Text(N_("The measurement date is in the future: give the day it was measured.")),
                [
                    Problem.of(
                        "measured_on",
                        Text(N_("is in the future: give the day the value was measured")),
                    )
                ],
            )
        done = cmd.outcome != FollowUpOutcome.CANNOT_TELL_YET
        uow.audit.annotate(
            follow_up,
            Annotation(action="indicator_follow_up.record", extra={"outcome": cmd.outcome.value}),
        )
        follow_up.value = cmd.value
        follow_up.measured_on = cmd.measured_on
        follow_up.source_kind = cmd.source_kind
        follow_up.source_reference = (cmd.source_reference or "").strip() or None
        follow_up.note = (cmd.note or "").strip() or None
        follow_up.outcome = cmd.outcome
        follow_up.waive_reason = None
        follow_up.state = FollowUpState.DONE if done else FollowUpState.OPEN
        follow_up.settled_by_id = user.id if done and user else None
        follow_up.settled_at = now if done else None
        return _commit(uow, proposal, follow_up)


def waive(eva: Eva, caller: Caller, cmd: WaiveFollowUp) -> FollowUpView:
    with eva.uow() as uow:
        user, proposal, follow_up = _open(
            uow, caller, cmd.follow_up_id, cmd.expected_version, "waive a follow-up"
        )
        uow.audit.annotate(
            follow_up, Annotation(action="indicator_follow_up.waive", reason=cmd.reason)
        )
        follow_up.state = FollowUpState.WAIVED
        follow_up.waive_reason = cmd.reason
        follow_up.settled_by_id = user.id if user else None
        follow_up.settled_at = utcnow()
        return _commit(uow, proposal, follow_up)


def _commit(uow: UnitOfWork, proposal: Proposal, follow_up: FollowUp) -> FollowUpView:
    uow.session.flush()
    if uow.audit.pending:
        proposal.touch()
    uow.commit()
    return follow_up_view(uow.repos, follow_up, utcnow().date())
