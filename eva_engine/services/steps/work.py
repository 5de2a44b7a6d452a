""" "My work": what waits for a user, overdue first, each task with its proposal's state,
progress, next step and the latest return for revision; filtered by state, kind and overdue."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from pydantic import BaseModel, Field

from eva_engine.db.repositories import Repositories, WorkFilter
from eva_engine.localized import LocalizedText
from eva_engine.models import Assignment, AuditEvent, Proposal, User, utcnow
from eva_engine.services import paging
from eva_engine.services.access import actor_for, load_proposal, require_named_user
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.proposals.queries import completeness
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import NotificationKind
from eva_engine.workflow.definition import WorkflowBundle

DUE_SOON_DAYS = 3


class Returned(BaseModel):
    """The latest time a proposal was returned to its preparer: why, by whom, when."""

    reason: str
    by: str
    at: datetime


class WorkItem(BaseModel):
    assignment_id: int
    kind: str
    proposal_id: int
    case_number: str
    title_fi: str
    title_sv: str | None
    state: str
    state_title_fi: str = ""
    state_title_sv: str = ""
    state_title_en: str = ""
    # impact areas complete out of those the assessment needs (none: not screened or exempt)
    areas_complete: int | None = None
    areas_required: int | None = None
    # the step this task leads to, as the workflow names it (none: no step for its roles)
    next_step: str | None = None
    next_step_fi: str | None = None
    next_step_sv: str | None = None
    next_step_en: str | None = None
    due: date | None
    overdue: bool
    due_soon: bool
    queue: bool  # waits for anyone in the role, not for this user by name
    returned: Returned | None = None


class WorkChoice(BaseModel):
    """A value a filter of My work offers: a state or a task kind, with its title."""

    id: str
    title_fi: str
    title_sv: str
    title_en: str


class WorkView(BaseModel):
    items: list[WorkItem]
    total: int
    overdue: int
    due_soon: int
    next_cursor: str | None = None  # the next page's ``after`` (None: this is the last page)
    states: list[WorkChoice] = Field(default_factory=list)  # the state filter's choices
    kinds: list[WorkChoice] = Field(default_factory=list)  # the task kind filter's choices


def return_triggers(bundles: Iterable[WorkflowBundle]) -> frozenset[str]:
    """The steps that return a proposal to its preparer: those that notify it as returned."""
    return frozenset(
        t.trigger
        for bundle in bundles
        for t in bundle.workflow.transitions
        if NotificationKind.RETURNED in t.notify
    )


def _choices(titles: dict[str, LocalizedText]) -> list[WorkChoice]:
    return [
        WorkChoice(id=key, title_fi=title.fi, title_sv=title.sv, title_en=title.en)
        for key, title in titles.items()
    ]


def my_work(
    eva: Eva,
    caller: Caller,
    *,
    after: str | None = None,
    state: str | None = None,
    kind: str | None = None,
    overdue: bool = False,
) -> WorkView:
    """One page (``paging.PAGE_SIZE``) of the user's open tasks, overdue first (by due date,
    undated last), continuing after the cursor ``after`` (``next_cursor`` of the page before);
    only those of proposals in ``state``, of ``kind``, or ``overdue`` where given; the counts
    are of every page. A fixed number of statements however much waits."""
    today = utcnow().date()
    position = _position(after) if after is not None else None
    with eva.reading() as uow:
        repos = uow.repos
        _, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "my work")
        bundles: dict[tuple[str, int], WorkflowBundle] = {}
        four_eyes = {}
        for record in sorted(repos.definitions(), key=lambda r: (r.name, r.version)):
            bundle, _ = stored_bundle(repos, record.name, record.version)
            bundles[(record.name, record.version)] = bundle
            four_eyes[(record.name, record.version)] = frozenset(
                k.id for k in bundle.workflow.task_kinds if k.four_eyes
            )
        work = WorkFilter(
            user_id=user.id,
            scopes=[(g.organisation_id, g.body_id, str(g.role)) for g in repos.grants(user.id)],
            four_eyes=four_eyes,
            after=position,
            limit=paging.PAGE_SIZE + 1,
            state=state or None,
            kind=kind or None,
            overdue_on=today if overdue else None,
        )
        rows = repos.open_work(work)
        total, overdue_count, due_soon = repos.open_work_counts(
            work, today, today + timedelta(days=DUE_SOON_DAYS)
        )
        shown = rows[: paging.PAGE_SIZE]
        items = _items(repos, shown, bundles, today)
    more = len(rows) > paging.PAGE_SIZE
    last = items[-1] if more and items else None
    states: dict[str, LocalizedText] = {}
    kinds: dict[str, LocalizedText] = {}
    for bundle in bundles.values():
        states.update({s.id: s.title for s in bundle.workflow.states})
        kinds.update({k.id: k.title for k in bundle.workflow.task_kinds})
    return WorkView(
        items=items,
        total=total,
        overdue=overdue_count,
        due_soon=due_soon,
        next_cursor=paging.cursor(_KIND, last.due, last.assignment_id) if last else None,
        states=_choices(states),
        kinds=_choices(kinds),
    )


def _items(
    repos: Repositories,
    rows: Sequence[tuple[Assignment, Proposal]],
    bundles: dict[tuple[str, int], WorkflowBundle],
    today: date,
) -> list[WorkItem]:
    """The page's tasks with their proposals' progress (every assessment read at once) and
    latest returns (one query)."""
    proposal_ids = {p.id for _, p in rows}
    assessments = repos.current_assessments(proposal_ids)
    snapshots = repos.snapshots(a.id for a in assessments.values())
    returns = repos.latest_reasoned_transitions(proposal_ids, return_triggers(bundles.values()))
    items = []
    for a, proposal in rows:
        bundle = bundles.get((proposal.workflow_name, proposal.workflow_version))
        days = (a.due - today).days if a.due else None
        item = WorkItem(
            assignment_id=a.id,
            kind=a.kind,
            proposal_id=proposal.id,
            case_number=proposal.case_number,
            title_fi=proposal.title_fi,
            title_sv=proposal.title_sv,
            state=proposal.state,
            due=a.due,
            overdue=days is not None and days < 0,
            due_soon=days is not None and 0 <= days <= DUE_SOON_DAYS,
            queue=a.assignee_id is None,
            returned=_returned(returns.get(proposal.id)),
        )
        if bundle is not None:
            _describe(item, a, bundle)
            assessment = assessments.get(proposal.id)
            if assessment is not None:
                progress, _ = completeness(bundle, snapshots[assessment.id])
                needed = [area for area in progress if area.required]
                if needed:
                    item.areas_required = len(needed)
                    item.areas_complete = sum(1 for x in needed if x.complete >= x.required)
        items.append(item)
    return items


def _describe(item: WorkItem, a: Assignment, bundle: WorkflowBundle) -> None:
    """The state's title and the next step: the first step the workflow declares from this
    state that a role of the task may take."""
    flow = bundle.workflow
    title = flow.state(item.state).title
    item.state_title_fi, item.state_title_sv, item.state_title_en = title.fi, title.sv, title.en
    kind = flow.task_kind(a.kind)
    roles = {*(a.roles or ()), *(kind.roles if kind else ())}
    for transition in flow.transitions:
        if item.state in transition.sources(flow.states) and roles & set(transition.roles):
            step = transition.title
            item.next_step = transition.trigger
            item.next_step_fi, item.next_step_sv, item.next_step_en = step.fi, step.sv, step.en
            return


def _returned(found: tuple[AuditEvent, User | None] | None) -> Returned | None:
    if found is None:
        return None
    event, user = found
    by = (user.full_name or user.username) if user is not None else event.actor_name
    return Returned(reason=event.reason or "", by=by, at=event.occurred_at)


def latest_return(eva: Eva, caller: Caller, proposal_id: int) -> Returned | None:
    """The latest time this proposal was returned to its preparer (for its page)."""
    with eva.reading() as uow:
        repos = uow.repos
        _, user = actor_for(repos, caller)
        proposal = load_proposal(repos, proposal_id, user)
        bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
        found = repos.latest_reasoned_transitions([proposal.id], return_triggers([bundle]))
        return _returned(found.get(proposal.id))


_KIND = "work-after"


def _position(after: str) -> tuple[date | None, int]:
    due, assignment_id = paging.parts(_KIND, after, 2)
    try:
        day = date.fromisoformat(due) if due else None
    except ValueError:
        raise paging.bad_cursor() from None
    return day, paging.row_id(assignment_id)
