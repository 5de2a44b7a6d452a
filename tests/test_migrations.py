"""Alembic: an empty database migrates to head, matches the models exactly, and goes back."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from eva_engine.db.engine import make_engine
from eva_engine.db.migrate import alembic_config, current_revision, upgrade
from eva_engine.models import Base
from tests.conftest import FreshDatabase

# PostgreSQL too: DDL, types and constraints differ per backend
pytestmark = pytest.mark.postgres


def head() -> str:
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def test_an_empty_database_upgrades_to_head_with_no_drift_from_the_models(
    fresh_databases: FreshDatabase,
) -> None:
    engine = make_engine(fresh_databases.new_url())
    try:
        upgrade(engine)
        assert current_revision(engine) == head()
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            tables = set(inspect(conn).get_table_names())
        assert set(Base.metadata.tables) <= tables
    finally:
        engine.dispose()


def test_the_schema_downgrades_to_nothing_and_upgrades_again(
    fresh_databases: FreshDatabase,
) -> None:
    from alembic import command  # noqa: PLC0415

    engine = make_engine(fresh_databases.new_url())
    try:
        upgrade(engine)
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert current_revision(engine) == head()
    finally:
        engine.dispose()
