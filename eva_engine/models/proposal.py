"""A decision proposal (päätösehdotus): the aggregate root that the workflow moves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eva_engine.models.base import Audited, Base, enum_column, utcnow
from eva_engine.vocabulary import MeetingOutcome, Publicity


class Proposal(Audited, Base):
    __tablename__ = "proposals"
    __table_args__ = (
        UniqueConstraint("body_id", "section_year", "section_number"),
        CheckConstraint(
            "publicity = 'public' OR confidentiality_ground IS NOT NULL",
            name="confidential_has_ground",
        ),
        Index("ix_proposals_org_state", "organisation_id", "state"),
        # A case imported from a case-management system is found again by its id there.
        Index(
            "ux_proposals_external_ref",
            "organisation_id",
            "source_system",
            "external_ref",
            unique=True,
        ),
    )
    __audit_name__ = "proposal"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    case_number: Mapped[str] = mapped_column(String(60), index=True)
    title_fi: Mapped[str] = mapped_column(String(500))
    title_sv: Mapped[str | None] = mapped_column(String(500))
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    section_year: Mapped[int | None]  # § numbers run per body per year
    section_number: Mapped[int | None]
    agenda_position: Mapped[int | None]
    publicity: Mapped[Publicity] = mapped_column(enum_column(Publicity), default=Publicity.PUBLIC)
    confidentiality_ground: Mapped[str | None] = mapped_column(Text)  # salassapitoperuste
    contains_personal_data: Mapped[bool] = mapped_column(default=False)
    preparer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    presenter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[MeetingOutcome | None] = mapped_column(enum_column(MeetingOutcome))
    workflow_name: Mapped[str] = mapped_column(String(80))
    workflow_version: Mapped[int]
    workflow_hash: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    row_version: Mapped[int] = mapped_column(default=1)
    # Where an imported case came from (e.g. "dynasty") and its id there (diaarinumero, case id).
    source_system: Mapped[str | None] = mapped_column(String(40))
    external_ref: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)  # as registered in the source system

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 - SQLAlchemy API

    def touch(self) -> None:
        """Mark the aggregate changed, so a child edit bumps the row version (optimistic lock)."""
        self.updated_at = utcnow()
