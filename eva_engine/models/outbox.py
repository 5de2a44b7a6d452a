"""The transactional outbox: notifications written in the same transaction as the change that
causes them, delivered later (email, webhook) at least once, with retries and dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eva_engine.models.base import Audited, Base, enum_column, utcnow
from eva_engine.vocabulary import Channel, DeliveryState, NotificationKind


class Webhook(Audited, Base):
    """A receiver of an organisation's notifications, signed with HMAC-SHA256 of ``secret``."""

    __tablename__ = "webhooks"
    __audit_name__ = "webhook"
    __audit_redact__ = frozenset({"secret"})

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(128))
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every kind
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """One notification to one receiver (a user by email, or a webhook). ``event_id`` is shared
    by every receiver of the same event, so a receiver can de-duplicate by it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), index=True)
    # A notification that must be made once only (e.g. "due soon" for one assignment).
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, 16))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[DeliveryState] = mapped_column(
        enum_column(DeliveryState, 16), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
