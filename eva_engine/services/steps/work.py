""" "My work": what waits for a user, overdue first."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from eva_engine.models import Assignment, utcnow
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


def my_work(eva: Eva, caller: Caller) -> WorkView:
    today = utcnow().date()
    with eva.reading() as uow:
        repos = uow.repos
        _, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "my work")
        mine: list[tuple[Assignment, bool]] = [
            (a, False) for a in repos.open_assignments_for_user(user.id)
        ]
        mine += [(a, True) for a in repos.open_queue_assignments(repos.organisations_of(user.id))]
        items = []
        for a, queue in mine:
            proposal = repos.proposal(a.proposal_id)
            if proposal is None:  # pragma: no cover - a foreign key
                continue
            if queue:
                held = repos.roles_for(user.id, proposal.organisation_id, proposal.body_id)
                bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
                task = bundle.workflow.task_kind(a.kind)
                own_review = task is not None and task.four_eyes and proposal.preparer_id == user.id
                if own_review or not held.intersection(a.roles):
                    continue
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
                    queue=queue,
                )
            )
        items.sort(key=lambda i: (not i.overdue, i.due or date.max, i.assignment_id))
        return WorkView(
            items=items,
            total=len(items),
            overdue=sum(i.overdue for i in items),
            due_soon=sum(i.due_soon for i in items),
        )
