"""A proposal's texts as the minutes hold them: the presentation text (esittelyteksti,
perustelut), the decision proposal (päätösehdotus) and the decision as made (päätös), each in
Finnish and optionally in Swedish. Every change is in the proposal's audit history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eva_engine.models.base import Audited, Base, enum_column, utcnow
from eva_engine.vocabulary import TextKind, TextLanguage


class ProposalText(Audited, Base):
    __tablename__ = "proposal_texts"
    __table_args__ = (UniqueConstraint("proposal_id", "kind", "language"),)
    __audit_name__ = "proposal_text"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    kind: Mapped[TextKind] = mapped_column(enum_column(TextKind))
    language: Mapped[TextLanguage] = mapped_column(enum_column(TextLanguage, length=2))
    content: Mapped[str] = mapped_column(Text)
    written_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
