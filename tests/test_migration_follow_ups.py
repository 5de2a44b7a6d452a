"""The follow-up migration: it adds the follow_ups table on the schema before it, and going
back one revision removes exactly that table again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from eva_engine.db.engine import make_engine
from eva_engine.db.migrate import alembic_config, current_revision, upgrade
from tests.conftest import FreshDatabase

FOLLOW_UPS = "4f2a8c9e1d37"
BEFORE = "b1e7c4d2a906"


def test_the_follow_up_migration_adds_its_table_and_goes_back(
    fresh_databases: FreshDatabase,
) -> None:
    engine = make_engine(fresh_databases.new_url())
    try:
        upgrade(engine)
        with engine.connect() as conn:
            inspector = inspect(conn)
            columns = {c["name"] for c in inspector.get_columns("follow_ups")}
            indexes = {i["name"] for i in inspector.get_indexes("follow_ups")}
        assert {"indicator_id", "responsible_id", "due", "state", "outcome"} <= columns
        assert {"value", "measured_on", "source_kind", "source_reference", "waive_reason"} <= (
            columns
        )
        assert "ix_follow_ups_responsible_state" in indexes
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, BEFORE)
        assert current_revision(engine) == BEFORE
        with engine.connect() as conn:
            assert "follow_ups" not in inspect(conn).get_table_names()
            assert "proposals" in inspect(conn).get_table_names()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, FOLLOW_UPS)
        assert current_revision(engine) == FOLLOW_UPS
    finally:
        engine.dispose()
