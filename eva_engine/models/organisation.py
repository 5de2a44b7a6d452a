"""Organisations (municipalities, wellbeing services counties), their bodies and meetings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eva_engine.models.base import Audited, Base, enum_column, utcnow
from eva_engine.vocabulary import BodyKind, OrganisationKind


class Organisation(Audited, Base):
    __tablename__ = "organisations"
    __audit_name__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_fi: Mapped[str]
    name_sv: Mapped[str | None]
    kind: Mapped[OrganisationKind] = mapped_column(enum_column(OrganisationKind))
    # A regular expression every case number must match,
    # e.g. Dynasty ``\d+/\d\d\.\d\d\.\d\d/\d{4}``.
    case_number_pattern: Mapped[str] = mapped_column(String(200))
    case_number_example: Mapped[str] = mapped_column(String(60))
    workflow_name: Mapped[str] = mapped_column(String(80), default="eva-standard")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Body(Audited, Base):
    """A decision-making body (toimielin): council, board, committee, office holder..."""

    __tablename__ = "bodies"
    __table_args__ = (UniqueConstraint("organisation_id", "code"),)
    __audit_name__ = "body"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name_fi: Mapped[str]
    name_sv: Mapped[str | None]
    kind: Mapped[BodyKind] = mapped_column(enum_column(BodyKind))
    active: Mapped[bool] = mapped_column(default=True)


class Meeting(Audited, Base):
    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("body_id", "starts_at"),)
    __audit_name__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"), index=True)
    starts_at: Mapped[datetime]
    location: Mapped[str | None]
