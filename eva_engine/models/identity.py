"""Single sign-on: an organisation's OpenID Connect identity provider and the bindings of users
to a provider's subjects. The client secret is never stored: it is read from the environment
(``EVA_SSO_<CODE>_CLIENT_SECRET``, docs/security.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eva_engine.models.base import Audited, Base, utcnow


class IdentityProvider(Audited, Base):
    __tablename__ = "identity_providers"
    __audit_name__ = "identity_provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True)
    issuer: Mapped[str] = mapped_column(String(300))
    client_id: Mapped[str] = mapped_column(String(200))
    # The ID token's claim that names the user within the organisation: ``email`` or ``sub``.
    match_claim: Mapped[str] = mapped_column(String(40), default="email")
    provision: Mapped[bool] = mapped_column(default=False)  # first login creates a user
    local_passwords: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExternalIdentity(Audited, Base):
    """A user bound to a provider's subject (``iss`` + ``sub``) at their first SSO login."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)
    __audit_name__ = "external_identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
