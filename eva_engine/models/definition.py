"""Published workflow and checklist definitions, pinned by version and content hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eva_engine.models.base import Audited, Base, utcnow


class PublishedDefinition(Audited, Base):
    """The exact content of one version of a definition as it was published. Never changed:
    a proposal that started on this version keeps running on this content."""

    __tablename__ = "published_definitions"
    __table_args__ = (UniqueConstraint("kind", "name", "version"),)
    __audit_name__ = "definition"
    __audit_ignore__ = frozenset({"content"})

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # workflow | checklist
    name: Mapped[str] = mapped_column(String(80))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    # Canonical JSON of the validated bundle. Deferred: read only when the parsed bundle is not
    # cached yet (it is cached by content hash), not on every transition.
    content: Mapped[str] = mapped_column(Text, deferred=True)
    source_file: Mapped[str] = mapped_column(String(255))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
