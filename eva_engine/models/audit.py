"""The append-only, hash-chained history. The database refuses UPDATE and DELETE on it.

One chain per organisation, and one for the installation (``INSTALLATION_CHAIN``: events that
belong to no organisation, such as the operator creating one or a failed login of an unknown
user). An event's chain is its organisation's: ``chain_id`` is its ``organisation_id``, or 0."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eva_engine.models.base import Base

GENESIS_HASH = "0" * 64
INSTALLATION_CHAIN = 0  # the chain of events without an organisation


def chain_of(organisation_id: int | None) -> int:
    """The chain an event of ``organisation_id`` belongs to."""
    return INSTALLATION_CHAIN if organisation_id is None else organisation_id


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_proposal", "proposal_id", "seq"),
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
        # An organisation's latest event of one kind (the auditor's last chain check) and its
        # chain filtered by action, without reading the whole chain (migration 0009).
        Index("ix_audit_events_chain_action", "chain_id", "action", "seq"),
    )

    chain_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # in its chain
    occurred_at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(120))
    actor_role: Mapped[str | None] = mapped_column(String(40))
    client: Mapped[str] = mapped_column(String(120))  # cli, web, api token id, system
    action: Mapped[str] = mapped_column(String(80))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[int | None] = mapped_column(index=True)
    proposal_id: Mapped[int | None]
    before: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    after: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHead(Base):
    """One row per chain: its last sequence number and hash. Locked (that row only) while
    events are appended to that chain, so each chain stays linear under concurrent writers and
    writers of different organisations never wait on each other; also lets the verifier notice
    a cut-off tail."""

    __tablename__ = "audit_chain_head"

    chain_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
