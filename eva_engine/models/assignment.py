"""Who must do what on which proposal by when. Created and closed by the workflow."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eva_engine.models.base import Audited, Base, enum_column, utcnow
from eva_engine.vocabulary import AssignmentState


class Assignment(Audited, Base):
    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_assignee_state", "assignee_id", "state"),)
    __audit_name__ = "assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # prepare, review, sign_off, ...
    # A named person, or else a queue: anyone holding one of ``roles`` for the proposal's body.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    due: Mapped[date | None]
    state: Mapped[AssignmentState] = mapped_column(
        enum_column(AssignmentState), default=AssignmentState.OPEN
    )
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
