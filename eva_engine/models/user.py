"""People who use eva and the roles they hold in an organisation, optionally in one body."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from eva_engine.models.base import Audited, Base, enum_column, utcnow
from eva_engine.vocabulary import Language, Role


class User(Audited, Base):
    __tablename__ = "users"
    __audit_name__ = "user"
    __audit_redact__ = frozenset({"password_hash"})
    # Logins and logouts are events of their own; the epoch they move is not worth an event.
    __audit_ignore__ = frozenset({"row_version", "updated_at", "session_epoch"})

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    # The home organisation: its administrators manage this account (none: only the operator).
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    full_name: Mapped[str]
    email: Mapped[str | None]
    title: Mapped[str | None]  # e.g. hyvinvointijohtaja
    language: Mapped[Language] = mapped_column(enum_column(Language, 2), default=Language.FI)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None]
    # Raised when the user logs out, changes the password or is disabled: every web session
    # carries the epoch it began in, and one from an older epoch is over (server-side logout).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoleGrant(Audited, Base):
    """A role in an organisation; ``body_id`` narrows it to one body. Revoked, never deleted."""

    __tablename__ = "role_grants"
    __audit_name__ = "role_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    body_id: Mapped[int | None] = mapped_column(ForeignKey("bodies.id"))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class RateLimitCounter(Base):
    """A fixed-window counter of the rate limiter (e.g. failed logins per account), kept in the
    database so that every worker process counts the same attempts."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int]
    expires_at: Mapped[datetime] = mapped_column(index=True)
