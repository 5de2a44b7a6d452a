"""One revision of a proposal's impact assessment: screening, alternatives, the impact matrix,
mitigations and follow-up indicators. Earlier revisions are kept unchanged."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eva_engine.models.base import Audited, Base, enum_column, utcnow
from eva_engine.vocabulary import Certainty, Direction, Duration, Magnitude, ScreeningOutcome


class Assessment(Audited, Base):
    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("proposal_id", "revision"),)
    __audit_name__ = "assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    revision: Mapped[int]
    summary: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Screening(Audited, Base):
    """Tarveharkinta: does the decision need an assessment, and how deep."""

    __tablename__ = "screenings"
    __audit_name__ = "screening"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), unique=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    outcome: Mapped[ScreeningOutcome] = mapped_column(enum_column(ScreeningOutcome))
    criteria: Mapped[list[str]] = mapped_column(JSON, default=list)
    exemption: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(Text)
    participation_plan: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alternative(Audited, Base):
    """Position 0 is the status quo (do nothing); the chosen alternative is always assessed."""

    __tablename__ = "alternatives"
    __table_args__ = (UniqueConstraint("assessment_id", "position"),)
    __audit_name__ = "alternative"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    chosen: Mapped[bool] = mapped_column(default=False)


class Answer(Audited, Base):
    """One cell of the impact matrix: a checklist question for one alternative."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("alternative_id", "question_id"),)
    __audit_name__ = "answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    alternative_id: Mapped[int] = mapped_column(ForeignKey("alternatives.id"))
    question_id: Mapped[str] = mapped_column(String(160))
    direction: Mapped[Direction] = mapped_column(enum_column(Direction))
    magnitude: Mapped[Magnitude | None] = mapped_column(enum_column(Magnitude))
    duration: Mapped[Duration | None] = mapped_column(enum_column(Duration))
    certainty: Mapped[Certainty | None] = mapped_column(enum_column(Certainty))
    evidence_source: Mapped[str | None] = mapped_column(Text)
    affected_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    justification: Mapped[str | None] = mapped_column(Text)


class Mitigation(Audited, Base):
    """A measure that lessens a negative impact (haittojen lieventäminen)."""

    __tablename__ = "mitigations"
    __audit_name__ = "mitigation"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    question_id: Mapped[str] = mapped_column(String(160))
    # None: the measure applies to the question under every alternative.
    alternative_id: Mapped[int | None] = mapped_column(ForeignKey("alternatives.id"))
    description: Mapped[str] = mapped_column(Text)
    responsible: Mapped[str | None]


class FollowUpIndicator(Audited, Base):
    """What will be measured later (seuranta), from which source, by whom and when."""

    __tablename__ = "follow_up_indicators"
    __audit_name__ = "follow_up_indicator"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    source: Mapped[str | None]  # e.g. Sotkanet indicator 289
    responsible: Mapped[str]
    due: Mapped[date]
    question_id: Mapped[str | None] = mapped_column(String(160))
