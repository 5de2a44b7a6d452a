"""The database schema: migrating to the newest revision."""

from __future__ import annotations

from eva_engine.db import migrate
from eva_engine.services.runtime import Eva


def upgrade(eva: Eva) -> str | None:
    """Create or migrate the database to the newest schema; returns the revision it is at."""
    engine = eva.database.engine
    migrate.upgrade(engine)
    return migrate.current_revision(engine)
