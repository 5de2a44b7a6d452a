""" "My work": what waits for a user, overdue first."""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel

from eva_engine.db.repositories import WorkFilter
from eva_engine.models import utcnow
from eva_engine.services import paging
from eva_engine.services.access import actor_for, require_named_user
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.runtime import Caller, Eva

DUE_SOON_DAYS = 3


class WorkItem(BaseModel):
    assignment_id: int
    kind: str
    proposal_id: int
    case_number: str
    title_fi: str
    title_sv: str | None
    state: str
    due: date | None
    overdue: bool
    due_soon: bool
    queue: bool  # waits for anyone in the role, not for this user by name


class WorkView(BaseModel):
    items: list[WorkItem]
    total: int
    overdue: int
    due_soon: int
    next_cursor: str | None = None  # the next page's ``after`` (None: this is the last page)


def my_work(eva: Eva, caller: Caller, *, after: str | None = None) -> WorkView:
    """One page (``paging.PAGE_SIZE``) of the user's open tasks, overdue first (by due date,
    undated last), continuing after the cursor ``after`` (``next_cursor`` of the page before);
    the counts are of every page. A fixed number of statements however much waits."""
    today = utcnow().date()
    position = _position(after) if after is not None else None
    with eva.reading() as uow:
        repos = uow.repos
        _, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "my work")
        four_eyes = {}
        for record in repos.definitions():
            bundle, _ = stored_bundle(repos, record.name, record.version)
            kinds = frozenset(k.id for k in bundle.workflow.task_kinds if k.four_eyes)
            four_eyes[(record.name, record.version)] = kinds
        work = WorkFilter(
            user_id=user.id,
            scopes=[(g.organisation_id, g.body_id, str(g.role)) for g in repos.grants(user.id)],
            four_eyes=four_eyes,
            after=position,
            limit=paging.PAGE_SIZE + 1,
        )
        rows = repos.open_work(work)
        total, overdue, due_soon = repos.open_work_counts(
            work, today, today + timedelta(days=DUE_SOON_DAYS)
        )
    more = len(rows) > paging.PAGE_SIZE
    items = []
    for a, proposal in rows[: paging.PAGE_SIZE]:
        days = (a.due - today).days if a.due else None
        items.append(
            WorkItem(
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
            )
        )
    last = items[-1] if more and items else None
    return WorkView(
        items=items,
        total=total,
        overdue=overdue,
        due_soon=due_soon,
        next_cursor=paging.cursor(_KIND, last.due, last.assignment_id) if last else None,
    )


_KIND = "work-after"


def _position(after: str) -> tuple[date | None, int]:
    due, assignment_id = paging.parts(_KIND, after, 2)
    try:
        day = date.fromisoformat(due) if due else None
    except ValueError:
        raise paging.bad_cursor() from None
    return day, paging.row_id(assignment_id)
