"""The transactional outbox: notification rows written in the same transaction as the change
that causes them, and the queries that claim and settle them for delivery.

Assignments are seen by a session hook (``install_outbox_hooks``): whichever path creates an
open assignment or names a new assignee (the workflow's effects, a new proposal, a
reassignment through the API, an import), the flush that writes it also writes an
``assignment_made`` message for each receiver. Events that belong to a workflow step (returned,
signed off, outcome recorded) are written by ``services.notifications.notices`` from ``fire()``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    bindparam,
    event,
    func,
    insert,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, UOWTransaction

from eva_engine.db.audit import AUDIT_KEY, AuditContext
from eva_engine.db.unit_cache import unit_cache
from eva_engine.models import (
    Assignment,
    FollowUp,
    FollowUpIndicator,
    Organisation,
    OutboxMessage,
    Proposal,
    RoleGrant,
    User,
    Webhook,
    utcnow,
)
from eva_engine.vocabulary import (
    FOLLOW_UP_KEY,
    AssignmentState,
    Channel,
    DeliveryState,
    FollowUpState,
    NotificationKind,
    Publicity,
    Role,
)

PENDING_KEY = "eva.outbox.assignments"


def new_event_id() -> str:
    return str(uuid.uuid4())


# writing ------------------------------------------------------------------------------------
def proposal_payload(proposal: Proposal) -> dict[str, Any]:
    """What every event says about its proposal. The title of a non-public proposal may itself
    be confidential, so it is left out (the receiver follows the link and logs in)."""
    public = proposal.publicity == Publicity.PUBLIC
    return {
        "id": proposal.id,
        "case_number": proposal.case_number,
        "title": proposal.title_fi if public else None,
        "title_sv": proposal.title_sv if public else None,
        "publicity": proposal.publicity.value,
        "state": proposal.state,
        "revision": proposal.revision,
    }


def assignment_payload(session: Session, a: Assignment) -> dict[str, Any]:
    assignee = session.get(User, a.assignee_id) if a.assignee_id else None
    return {
        "id": a.id,
        "kind": a.kind,
        "assignee": assignee.username if assignee else None,
        "roles": list(a.roles or []),
        "due": a.due.isoformat() if a.due else None,
    }


def actor_name(session: Session) -> str | None:
    ctx: AuditContext | None = session.info.get(AUDIT_KEY)
    return ctx.actor.name if ctx is not None else None


def write_event(
    session: Session,
    *,
    kind: NotificationKind,
    proposal: Proposal,
    users: Iterable[User],
    details: dict[str, Any],
    dedup: str | None = None,
) -> str | None:
    """One event: a message per user (by email) and per active webhook of the organisation that
    takes this kind, all sharing one ``event_id``. ``dedup`` (e.g. ``due_soon:17``) makes the
    event once-only: every row's ``dedup_key`` starts with it. Returns the event id, or None
    when nobody receives it. The rows are written together, in one INSERT of many rows, by
    the next flush of the unit of work (``write_pending``), not one ORM object each."""
    event_id = new_event_id()
    org = session.get(Organisation, proposal.organisation_id)
    now = utcnow()
    payload: dict[str, Any] = {
        "event_id": event_id,
        "kind": kind.value,
        "occurred_at": now.isoformat(),
        "organisation": org.code if org else None,
        "actor": actor_name(session),
        "proposal": proposal_payload(proposal),
        **details,
    }
    common: dict[str, Any] = {
        "event_id": event_id,
        "organisation_id": proposal.organisation_id,
        "proposal_id": proposal.id,
        "kind": kind,
        "payload": payload,
        "state": DeliveryState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "last_error": None,
        "recipient_id": None,
        "webhook_id": None,
    }
    rows: list[dict[str, Any]] = session.info.setdefault(ROWS_KEY, [])
    written = len(rows)
    seen: set[int] = set()
    for user in users:
        if user.id in seen or not user.active:
            continue
        seen.add(user.id)
        row = common | {
            "dedup_key": f"{dedup}:user:{user.id}" if dedup else None,
            "channel": Channel.EMAIL,
            "recipient_id": user.id,
        }
        if not user.email:
            # Nothing to retry until someone adds the address: a dead letter at once, visible
            # to administrators, who can retry it after fixing the user's email.
            row["state"] = DeliveryState.DEAD
            row["last_error"] = f"user {user.username} has no email address"
        rows.append(row)
    for hook in webhooks_for(session, proposal.organisation_id, kind):
        rows.append(
            common
            | {
                "dedup_key": f"{dedup}:webhook:{hook.id}" if dedup else None,
                "channel": Channel.WEBHOOK,
                "webhook_id": hook.id,
            }
        )
    return event_id if len(rows) > written else None


ROWS_KEY = "eva.outbox.rows"  # session.info: the messages written since the last flush


def write_pending(session: Session) -> int:
    """Insert the messages written since the last time, all in one statement. Returns how
    many (``UnitOfWork`` calls it when it flushes, the session hook after each flush)."""
    rows: list[dict[str, Any]] = session.info.pop(ROWS_KEY, [])
    if rows:
        session.connection().execute(insert(_MESSAGES), rows)  # Core: no ORM bulk machinery
    return len(rows)


_MESSAGES: Table = OutboxMessage.__table__  # type: ignore[assignment]


def webhooks_for(session: Session, organisation_id: int, kind: NotificationKind) -> list[Webhook]:
    """The organisation's active webhooks for this kind: read once per unit of work (a
    transition writes several events; its proposal's lock read them already), and read again
    after a webhook changes in it (``db.unit_cache``)."""
    cache = unit_cache(session).webhooks
    hooks = cache.get(organisation_id)
    if hooks is None:
        hooks = cache[organisation_id] = list(
            session.scalars(
                select(Webhook)
                .where(Webhook.organisation_id == organisation_id, Webhook.active.is_(True))
                .order_by(Webhook.id)
            ).all()
        )
    return [h for h in hooks if not h.kinds or kind.value in h.kinds]


def holders_of(
    session: Session, organisation_id: int, body_id: int | None, roles: Sequence[str]
) -> Sequence[User]:
    """Active users who hold one of ``roles`` in the organisation, or in this body."""
    return session.scalars(
        _holders_statement(body_id is not None),
        {"organisation": organisation_id, "body": body_id, "roles": [Role(r) for r in roles]},
    ).all()


@cache
def _holders_statement(of_body: bool) -> Select[User]:
    body_match: ColumnElement[bool] = RoleGrant.body_id.is_(None)
    if of_body:
        body_match = or_(body_match, RoleGrant.body_id == bindparam("body"))
    return (
        select(User)
        .where(
            User.active.is_(True),
            User.id.in_(
                select(RoleGrant.user_id).where(
                    RoleGrant.organisation_id == bindparam("organisation"),
                    RoleGrant.revoked_at.is_(None),
                    RoleGrant.role.in_(bindparam("roles", expanding=True)),
                    body_match,
                )
            ),
        )
        .order_by(User.username)
    )


def assignment_receivers(session: Session, a: Assignment, proposal: Proposal) -> list[User]:
    """The named assignee; for a queue, everyone holding one of its roles for the body."""
    if a.assignee_id is not None:
        user = session.get(User, a.assignee_id)
        return [user] if user is not None else []
    return list(holders_of(session, a.organisation_id, proposal.body_id, a.roles or []))


def write_assignment_event(
    session: Session, kind: NotificationKind, a: Assignment, dedup: str | None = None
) -> str | None:
    proposal = session.get(Proposal, a.proposal_id)
    if proposal is None:  # pragma: no cover - a foreign key guarantees it
        return None
    return write_event(
        session,
        kind=kind,
        proposal=proposal,
        users=assignment_receivers(session, a, proposal),
        details={"assignment": assignment_payload(session, a)},
        dedup=dedup,
    )


def follow_up_payload(session: Session, f: FollowUp, proposal: Proposal) -> dict[str, Any]:
    """What a follow-up's notice says of it. The indicator's name is assessment content: like
    the title, it travels only with public proposals."""
    indicator = session.get(FollowUpIndicator, f.indicator_id)
    responsible = session.get(User, f.responsible_id)
    public = proposal.publicity == Publicity.PUBLIC
    return {
        "id": f.id,
        "kind": f.kind,
        "indicator": indicator.name if indicator is not None and public else None,
        "responsible": responsible.username if responsible else None,
        "due": f.due.isoformat(),
    }


def write_follow_up_event(
    session: Session, kind: NotificationKind, f: FollowUp, dedup: str
) -> str | None:
    """A ``due_soon`` or ``overdue`` notice of one follow-up, to the person responsible for it
    (and the organisation's webhooks that take the kind)."""
    proposal = session.get(Proposal, f.proposal_id)
    responsible = session.get(User, f.responsible_id)
    if proposal is None:  # pragma: no cover - a foreign key guarantees it
        return None
    return write_event(
        session,
        kind=kind,
        proposal=proposal,
        users=[responsible] if responsible is not None else [],
        details={FOLLOW_UP_KEY: follow_up_payload(session, f, proposal)},
        dedup=dedup,
    )


def open_follow_ups_due_by(session: Session, last_day: date) -> Sequence[FollowUp]:
    """Open follow-ups due on ``last_day`` or before, the earliest first."""
    return session.scalars(
        select(FollowUp)
        .where(FollowUp.state == FollowUpState.OPEN, FollowUp.due <= last_day)
        .order_by(FollowUp.due, FollowUp.id)
    ).all()


# the session hook ----------------------------------------------------------------------------
def _is_open(a: Assignment) -> bool:
    return a.state in (None, AssignmentState.OPEN)


def _before_flush(session: Session, _context: UOWTransaction, _instances: object) -> None:
    found: list[Assignment] = session.info.setdefault(PENDING_KEY, [])
    for obj in session.new:
        if isinstance(obj, Assignment) and _is_open(obj):
            found.append(obj)
    for obj in session.dirty:
        if isinstance(obj, Assignment) and _is_open(obj):
            history = inspect(obj).attrs.assignee_id.history
            if history.has_changes() and obj.assignee_id is not None:
                found.append(obj)  # reassigned to a named person


def _after_flush_postexec(session: Session, _context: UOWTransaction) -> None:
    found: list[Assignment] = session.info.pop(PENDING_KEY, [])
    # The messages of the assignments just written, and those of the step's own events
    # written before this flush, go in one INSERT now, inside the same transaction.
    for a in found:
        write_assignment_event(session, NotificationKind.ASSIGNMENT_MADE, a)
    write_pending(session)


def _after_rollback(session: Session, _previous: object) -> None:
    session.info.pop(PENDING_KEY, None)
    session.info.pop(ROWS_KEY, None)


def install_outbox_hooks(session_class: type[Session]) -> None:
    for name, fn in (
        ("before_flush", _before_flush),
        ("after_flush_postexec", _after_flush_postexec),
        ("after_soft_rollback", _after_rollback),
    ):
        if not event.contains(session_class, name, fn):
            event.listen(session_class, name, fn)


# scanning ------------------------------------------------------------------------------------
def open_assignments_due_by(session: Session, last_day: date) -> Sequence[Assignment]:
    return session.scalars(
        select(Assignment)
        .where(
            Assignment.state == AssignmentState.OPEN,
            Assignment.due.is_not(None),
            Assignment.due <= last_day,
        )
        .order_by(Assignment.due, Assignment.id)
    ).all()


def event_made(session: Session, dedup: str) -> bool:
    """Whether a once-only event (``dedup`` prefix of its rows' keys) was already written."""
    return (
        session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedup_key.startswith(dedup + ":")).limit(1)
        )
        is not None
    )


# delivering ----------------------------------------------------------------------------------
def due_message_ids(
    session: Session, now: datetime, limit: int, channels: Sequence[Channel]
) -> list[tuple[int, datetime]]:
    """Pending messages whose attempt is due, oldest first. On PostgreSQL the rows are locked
    with ``FOR UPDATE SKIP LOCKED``: a concurrent worker skips them instead of waiting."""
    query = (
        select(OutboxMessage.id, OutboxMessage.next_attempt_at)
        .where(
            OutboxMessage.state == DeliveryState.PENDING,
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.channel.in_(list(channels)),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [(row[0], row[1]) for row in session.execute(query).all()]


def claim(session: Session, message_id: int, seen_at: datetime, lease_until: datetime) -> bool:
    """Take one message for delivery: move its ``next_attempt_at`` to the end of the lease, only
    if nobody else moved it since we read it (a conditional UPDATE, which is also how SQLite
    keeps two workers apart). The lease end is the claim's token for settling it later."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.state == DeliveryState.PENDING,
            OutboxMessage.next_attempt_at == seen_at,
        )
        .values(next_attempt_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def extend_lease(session: Session, message_id: int, token: datetime, lease_until: datetime) -> bool:
    """Move a held claim's lease end (its token) to ``lease_until``, only if the message still
    carries our token: False when its lease ran out and another worker took it, or it was
    settled. A lease that ran out but that nobody took is still ours and is extended."""
    return claim(session, message_id, token, lease_until)


def next_due_at(session: Session, channels: Sequence[Channel]) -> datetime | None:
    """When the next pending message of these channels is due (a held lease ends, a retry
    waits), or None when none is pending."""
    found: datetime | None = session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.state == DeliveryState.PENDING,
            OutboxMessage.channel.in_(list(channels)),
        )
    )
    return found


def claimed_message(session: Session, message_id: int, token: datetime) -> OutboxMessage | None:
    """The message if our claim still holds (not expired and taken by another worker)."""
    message = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if (
        message is None
        or message.state != DeliveryState.PENDING
        or message.next_attempt_at != token
    ):
        return None
    return message


def message(session: Session, message_id: int) -> OutboxMessage | None:
    return session.get(OutboxMessage, message_id)


def messages(
    session: Session,
    organisation_ids: Sequence[int] | None,
    states: Sequence[DeliveryState],
    limit: int,
    before_id: int | None = None,
) -> Sequence[OutboxMessage]:
    """Newest first; ``before_id``: the page after the one that ended with that message."""
    query = select(OutboxMessage)
    if before_id is not None:
        query = query.where(OutboxMessage.id < before_id)
    if organisation_ids is not None:
        query = query.where(OutboxMessage.organisation_id.in_(list(organisation_ids)))
    if states:
        query = query.where(OutboxMessage.state.in_(list(states)))
    return session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)).all()


def webhook(session: Session, webhook_id: int) -> Webhook | None:
    return session.get(Webhook, webhook_id)


def webhooks(session: Session, organisation_ids: Sequence[int] | None) -> Sequence[Webhook]:
    query = select(Webhook)
    if organisation_ids is not None:
        query = query.where(Webhook.organisation_id.in_(list(organisation_ids)))
    return session.scalars(query.order_by(Webhook.id)).all()


def admin_organisations(session: Session, user_id: int) -> list[int]:
    """The organisations in which the user holds the administrator role."""
    return sorted(
        set(
            session.scalars(
                select(RoleGrant.organisation_id).where(
                    RoleGrant.user_id == user_id,
                    RoleGrant.role == Role.ADMIN,
                    RoleGrant.revoked_at.is_(None),
                )
            )
        )
    )
