"""What the follow-ups of a proposal are, and which ones wait for a person (for My work)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from pydantic import BaseModel, Field

from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, NotFound, Text
from eva_engine.models import FollowUp, FollowUpIndicator, Proposal, RoleGrant, User, utcnow
from eva_engine.services import paging
from eva_engine.services.access import (
    actor_for,
    load_proposal,
    log_disclosure,
    require_named_user,
)
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import (
    Direction,
    FollowUpOutcome,
    FollowUpSource,
    FollowUpState,
    Publicity,
    Role,
)


class FollowUpView(BaseModel):
    id: int
    proposal_id: int
    kind: str  # the workflow's task kind (its title names the task)
    indicator: str  # the indicator's name
    indicator_source: str | None  # where the indicator said its data would come from
    indicator_responsible: str  # who the assessment named (a title or a name)
    question: str | None  # the checklist question the indicator follows
    predicted: Direction | None  # the chosen alternative's predicted direction for it
    responsible: str  # the username of the person who records the result
    # Their full name, for the people who read it (the JSON keeps ``responsible``).
    responsible_name: str = Field(default="", exclude=True)
    due: date
    overdue: bool
    state: FollowUpState
    value: str | None
    measured_on: date | None
    source_kind: FollowUpSource | None
    source_reference: str | None
    note: str | None
    outcome: FollowUpOutcome | None
    waive_reason: str | None
    settled_by: str | None
    settled_at: datetime | None


class ProposalFollowUps(BaseModel):
    proposal_id: int
    case_number: str
    title_fi: str
    title_sv: str | None
    state: str
    row_version: int
    follow_ups: list[FollowUpView]
    open: int
    overdue: int
    # May the caller record results and waive them (and the proposal is not closed)?
    can_record: bool


class FollowUpWorkItem(BaseModel):
    """An open follow-up a person is responsible for: for My work and the reports."""

    follow_up_id: int
    proposal_id: int
    case_number: str
    title_fi: str
    title_sv: str | None
    kind: str
    indicator: str
    due: date
    overdue: bool


class FollowUpWork(BaseModel):
    items: list[FollowUpWorkItem]
    total: int
    overdue: int


def _username(repos: Repositories, user_id: int | None) -> str | None:
    user = repos.user(user_id) if user_id is not None else None
    return user.username if user else None


def _full_name(repos: Repositories, user_id: int | None) -> str | None:
    """The user's full name (the user ``_username`` read: no query of its own)."""
    user = repos.user(user_id) if user_id is not None else None
    return (user.full_name or user.username) if user else None


def follow_up_view(repos: Repositories, follow_up: FollowUp, today: date) -> FollowUpView:
    indicator = repos.indicator(follow_up.indicator_id)
    if indicator is None:  # pragma: no cover - a foreign key
        raise LookupError(follow_up.indicator_id)
    predicted = None
    if indicator.question_id:
        snap = repos.snapshot(follow_up.assessment_id)
        chosen = {a.id for a in snap.alternatives if a.chosen}
        predicted = next(
            (
                a.direction
                for a in snap.answers
                if a.question_id == indicator.question_id and a.alternative_id in chosen
            ),
            None,
        )
    return FollowUpView(
        id=follow_up.id,
        proposal_id=follow_up.proposal_id,
        kind=follow_up.kind,
        indicator=indicator.name,
        indicator_source=indicator.source,
        indicator_responsible=indicator.responsible,
        question=indicator.question_id,
        predicted=predicted,
        responsible=_username(repos, follow_up.responsible_id) or "",
        responsible_name=_full_name(repos, follow_up.responsible_id) or "",
        due=follow_up.due,
        overdue=is_overdue(follow_up, today),
        state=follow_up.state,
        value=follow_up.value,
        measured_on=follow_up.measured_on,
        source_kind=follow_up.source_kind,
        source_reference=follow_up.source_reference,
        note=follow_up.note,
        outcome=follow_up.outcome,
        waive_reason=follow_up.waive_reason,
        settled_by=_username(repos, follow_up.settled_by_id),
        settled_at=follow_up.settled_at,
    )


def is_overdue(follow_up: FollowUp, today: date) -> bool:
    return follow_up.state == FollowUpState.OPEN and follow_up.due < today


def may_record(repos: Repositories, user: User | None, proposal: Proposal) -> bool:
    """Who records follow-up results and waives follow-ups: the proposal's preparer or
    presenter, an administrator of its organisation, or (for their own follow-ups) the
    person responsible; the shell operator too."""
    if user is None:
        return True
    if user.id in (proposal.preparer_id, proposal.presenter_id):
        return True
    return Role.ADMIN in repos.roles_for(user.id, proposal.organisation_id, proposal.body_id)


def proposal_follow_ups(eva: Eva, caller: Caller, proposal_id: int) -> ProposalFollowUps:
    """The follow-ups of a proposal, in the order of its indicators. Anyone who may see the
    proposal sees them (another organisation's proposal is not found); reading a non-public
    proposal's follow-ups is recorded as a disclosure."""
    today = utcnow().date()
    with eva.reading() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        proposal = load_proposal(repos, proposal_id, user)
        found = repos.follow_ups(proposal.id)
        views = [follow_up_view(repos, f, today) for f in found]
        recorder = may_record(repos, user, proposal) or any(
            user is not None and f.responsible_id == user.id for f in found
        )
        result = ProposalFollowUps(
            proposal_id=proposal.id,
            case_number=proposal.case_number,
            title_fi=proposal.title_fi,
            title_sv=proposal.title_sv,
            state=proposal.state,
            row_version=proposal.row_version,
            follow_ups=views,
            open=sum(v.state == FollowUpState.OPEN for v in views),
            overdue=sum(v.overdue for v in views),
            can_record=recorder and bool(views) and not _final(repos, proposal),
        )
        if log_disclosure(uow.audit, proposal, "proposal.read"):
            uow.commit()
        return result


def _final(repos: Repositories, proposal: Proposal) -> bool:
    bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
    return bundle.workflow.state(proposal.state).final


def my_follow_ups(eva: Eva, caller: Caller, *, today: date | None = None) -> FollowUpWork:
    """The first page (``paging.PAGE_SIZE``) of the open follow-ups the caller is responsible
    for, the earliest due (so the overdue) first, with the counts of all of them: what My work
    shows, in a fixed number of statements."""
    today = today or utcnow().date()
    with eva.reading() as uow:
        repos = uow.repos
        _, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "my follow-ups")
        rows, total, overdue = repos.follow_ups_waiting_for(user.id, today, paging.PAGE_SIZE)
        items = [_item(f, p, i, today) for f, p, i in rows]
        return FollowUpWork(items=items, total=total, overdue=overdue)


def overdue_follow_ups(eva: Eva, caller: Caller, *, today: date | None = None) -> FollowUpWork:
    """Every overdue follow-up of the proposals the caller may see, in the organisations they
    hold a role in (the operator: every organisation), the oldest due first: in a fixed number
    of statements (the caller's grants, then the follow-ups with their proposals and
    indicators), whatever their number."""
    today = today or utcnow().date()
    with eva.reading() as uow:
        repos = uow.repos
        _, user = actor_for(repos, caller)
        sees: Callable[[Proposal], bool] = _everything
        if user is None:
            orgs = [o.id for o in repos.organisations()]
        else:
            sees, orgs = _visibility(repos.grants(user.id))
        items = [
            _item(f, p, i, today) for f, p, i in repos.overdue_follow_ups(orgs, today) if sees(p)
        ]
        return FollowUpWork(items=items, total=len(items), overdue=len(items))


def _item(
    follow_up: FollowUp, proposal: Proposal, indicator: FollowUpIndicator, today: date
) -> FollowUpWorkItem:
    return FollowUpWorkItem(
        follow_up_id=follow_up.id,
        proposal_id=proposal.id,
        case_number=proposal.case_number,
        title_fi=proposal.title_fi,
        title_sv=proposal.title_sv,
        kind=follow_up.kind,
        indicator=indicator.name,
        due=follow_up.due,
        overdue=is_overdue(follow_up, today),
    )


def _everything(_proposal: Proposal) -> bool:
    return True


def _visibility(
    grants: Sequence[RoleGrant],
) -> tuple[Callable[[Proposal], bool], list[int]]:
    """Which proposals a user sees, from their grants read once: ``require_proposal_access``'s
    rule (a public proposal with any role in its organisation, a non-public one with a grant
    for the whole organisation or for its body), and the organisations they hold a role in."""
    anywhere = {g.organisation_id for g in grants}
    whole = {g.organisation_id for g in grants if g.body_id is None}
    bodies = {(g.organisation_id, g.body_id) for g in grants if g.body_id is not None}

    def sees(proposal: Proposal) -> bool:
        if proposal.publicity == Publicity.PUBLIC:
            return proposal.organisation_id in anywhere
        return (
            proposal.organisation_id in whole
            or (proposal.organisation_id, proposal.body_id) in bodies
        )

    return sees, sorted(anywhere)


def follow_up_proposal(eva: Eva, caller: Caller, follow_up_id: int) -> int:
    """The id of the follow-up's proposal, if the caller may read it (else not found)."""
    with eva.reading() as uow:
        _, user = actor_for(uow.repos, caller)
        found = uow.repos.follow_up(follow_up_id)
        missing = NotFound(Text(N_("There is no follow-up %(id)s."), {"id": follow_up_id}))
        if found is None:
            raise missing
        try:
            return load_proposal(uow.repos, found.proposal_id, user).id
        except NotFound:
            raise missing from None
