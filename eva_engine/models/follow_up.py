"""A follow-up (seuranta): one follow-up indicator of a decided proposal, with the person who
measures it by its due date and, once measured, the result and how the impact went."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eva_engine.models.base import Audited, Base, enum_column, utcnow
from eva_engine.vocabulary import FollowUpOutcome, FollowUpSource, FollowUpState


class FollowUp(Audited, Base):
    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_responsible_state", "responsible_id", "state"),)
    __audit_name__ = "indicator_follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    # One follow-up per indicator of the decided revision.
    indicator_id: Mapped[int] = mapped_column(ForeignKey("follow_up_indicators.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(40))  # the workflow's task kind, for its title
    responsible_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due: Mapped[date]
    state: Mapped[FollowUpState] = mapped_column(
        enum_column(FollowUpState), default=FollowUpState.OPEN
    )
    # The result, once recorded (a later recording replaces it; the history keeps each one).
    value: Mapped[str | None]
    measured_on: Mapped[date | None]
    source_kind: Mapped[FollowUpSource | None] = mapped_column(enum_column(FollowUpSource))
    source_reference: Mapped[str | None] = mapped_column(String(1000))
    note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[FollowUpOutcome | None] = mapped_column(enum_column(FollowUpOutcome))
    waive_reason: Mapped[str | None] = mapped_column(Text)
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    settled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
