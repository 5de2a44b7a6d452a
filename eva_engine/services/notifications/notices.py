"""Notification events, written to the outbox in the transaction of the change that causes them.

* ``assignment_made``: written by the session hook of ``eva_engine.db.outbox`` for every new
  open assignment and every reassignment, whatever the path (CLI, web UI, API, import).
* ``returned``, ``signed_off``, ``outcome_recorded``: written here, from ``transitions.fire``,
  for a transition whose ``notify`` (in the workflow file) names them.
* ``due_soon``, ``overdue``: found by ``scan`` (run by ``eva outbox deliver``, the worker, or
  ``eva notifications scan``), once per assignment (``dedup_key``), and once per follow-up of
  an indicator (its ``follow_up`` in the payload instead of an ``assignment``): due soon
  ``FOLLOW_UP_NOTICE_DAYS`` before its due date, overdue the day after."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from pydantic import BaseModel

from eva_engine.db import outbox as store
from eva_engine.db.repositories import Repositories
from eva_engine.errors import Conflict
from eva_engine.models import Proposal, User, utcnow
from eva_engine.services.access import actor_for, require_admin
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import FollowUpState, NotificationKind
from eva_engine.workflow.definition import Effect, SetOutcome, Transition


def _people(repos: Repositories, *ids: int | None) -> list[User]:
    found: list[User] = []
    for user_id in dict.fromkeys(i for i in ids if i is not None):
        user = repos.user(user_id)
        if user is not None:
            found.append(user)
    return found


def after_transition(
    repos: Repositories,
    proposal: Proposal,
    *,
    transition: Transition,
    from_state: str,
    effects: Sequence[Effect],
    reason: str | None,
) -> list[str]:
    """The events of one workflow step (called by ``fire`` before it commits). Returns the
    event ids written. Assignments the step opened are notified by the session hook."""
    session = repos.session
    public = proposal.publicity.value == "public"
    step = {
        "trigger": transition.trigger,
        "from_state": from_state,
        "to_state": proposal.state,
        # A reason may quote confidential content; it travels only with public proposals.
        "reason": reason if public else None,
    }
    written: list[str | None] = []
    for kind in (NotificationKind.RETURNED, NotificationKind.SIGNED_OFF):
        if kind in transition.notify:
            written.append(
                store.write_event(
                    session,
                    kind=kind,
                    proposal=proposal,
                    users=_people(repos, proposal.preparer_id),
                    details={"transition": step},
                )
            )
    outcomes = [e.outcome for e in effects if isinstance(e, SetOutcome)]
    if outcomes and NotificationKind.OUTCOME_RECORDED in transition.notify:
        written.append(
            store.write_event(
                session,
                kind=NotificationKind.OUTCOME_RECORDED,
                proposal=proposal,
                users=_people(repos, proposal.preparer_id, proposal.presenter_id),
                details={"transition": step, "outcome": outcomes[-1].value},
            )
        )
    return [w for w in written if w is not None]


# A follow-up's measurement takes longer to arrange than a task: its "due soon" notice comes
# this many days before its due date (an assignment's after EVA_NOTIFY_DUE_SOON_DAYS).
FOLLOW_UP_NOTICE_DAYS = 14


class ScanResult(BaseModel):
    due_soon: int = 0
    overdue: int = 0
    follow_ups_due_soon: int = 0
    follow_ups_overdue: int = 0
    events: list[str] = []


def scan(
    eva: Eva,
    caller: Caller,
    *,
    today: date | None = None,
    due_soon_days: int = 2,
    follow_up_days: int = FOLLOW_UP_NOTICE_DAYS,
) -> ScanResult:
    """Write ``due_soon`` (due within ``due_soon_days``) and ``overdue`` (due date passed)
    events for open assignments, each once per assignment, and for open follow-ups (due within
    ``follow_up_days``), each once per follow-up. Safe to run from several workers at once: a
    second writer of the same event fails on the unique ``dedup_key`` and skips it."""
    today = today or utcnow().date()
    result = ScanResult()
    with eva.uow() as uow:
        uow.audit.actor, user = actor_for(uow.repos, caller)
        require_admin(uow.repos, user, "scan for due assignments")
        candidates = [
            (a.id, a.due)
            for a in store.open_assignments_due_by(
                uow.repos.session, today + timedelta(due_soon_days)
            )
        ]
        follow_ups = [
            (f.id, f.due)
            for f in store.open_follow_ups_due_by(
                uow.repos.session, today + timedelta(follow_up_days)
            )
        ]
    for assignment_id, due in candidates:
        if due is None:  # pragma: no cover - the query excludes them
            continue
        kind = NotificationKind.OVERDUE if due < today else NotificationKind.DUE_SOON
        dedup = f"{kind.value}:assignment:{assignment_id}"
        try:
            with eva.uow() as uow:
                uow.audit.actor, _ = actor_for(uow.repos, caller)
                session = uow.repos.session
                a = uow.repos.assignment(assignment_id)
                if a is None or store.event_made(session, dedup):
                    continue
                event_id = store.write_assignment_event(session, kind, a, dedup)
                uow.commit()
        except Conflict:  # another scan wrote it first
            continue
        if event_id is None:  # pragma: no cover
            continue
        result.events.append(event_id)
        if kind == NotificationKind.OVERDUE:
            result.overdue += 1
        else:
            result.due_soon += 1
    for follow_up_id, due in follow_ups:
        kind = NotificationKind.OVERDUE if due < today else NotificationKind.DUE_SOON
        event_id = _follow_up_notice(eva, caller, kind, follow_up_id)
        if event_id is None:
            continue
        result.events.append(event_id)
        if kind == NotificationKind.OVERDUE:
            result.follow_ups_overdue += 1
        else:
            result.follow_ups_due_soon += 1
    return result


def _follow_up_notice(
    eva: Eva, caller: Caller, kind: NotificationKind, follow_up_id: int
) -> str | None:
    """One follow-up's notice in a short transaction of its own, unless it was made already
    (or the follow-up was settled meanwhile)."""
    dedup = f"{kind.value}:follow_up:{follow_up_id}"
    try:
        with eva.uow() as uow:
            uow.audit.actor, _ = actor_for(uow.repos, caller)
            session = uow.repos.session
            found = uow.repos.follow_up(follow_up_id)
            if (
                found is None
                or found.state != FollowUpState.OPEN
                or store.event_made(session, dedup)
            ):
                return None
            event_id = store.write_follow_up_event(session, kind, found, dedup)
            uow.commit()
            return event_id
    except Conflict:  # another scan wrote it first
        return None
