"""An attachment (liite) of a proposal, or evidence of one area of its assessment: the file's
name, media type, size and SHA-256 (the blob itself is stored content-addressed outside the
database, ``services.attachments.store``), its publicity and legal ground like a proposal's,
who uploaded it and when. A removed attachment keeps its row (``removed``): the history
names it and the blob stays for backups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eva_engine.models.base import Audited, Base, enum_column, utcnow
from eva_engine.vocabulary import Publicity


class Attachment(Audited, Base):
    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint(
            "publicity = 'public' OR confidentiality_ground IS NOT NULL",
            name="confidential_has_ground",
        ),
    )
    __audit_name__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    area: Mapped[str | None] = mapped_column(String(80))  # the assessment area it is evidence of
    file_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    publicity: Mapped[Publicity] = mapped_column(enum_column(Publicity), default=Publicity.PUBLIC)
    confidentiality_ground: Mapped[str | None] = mapped_column(Text)  # salassapitoperuste
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed: Mapped[bool] = mapped_column(default=False)
