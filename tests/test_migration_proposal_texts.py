"""The proposal texts migration: it adds the proposal_texts table on the schema before it, and
going back one revision removes exactly that table again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from eva_engine.db.engine import make_engine
from eva_engine.db.migrate import alembic_config, current_revision, upgrade
from tests.conftest import FreshDatabase

TEXTS = "7d3e9b1c5a20"
BEFORE = "4f2a8c9e1d37"


def test_the_proposal_texts_migration_adds_its_table_and_goes_back(
    fresh_databases: FreshDatabase,
) -> None:
    engine = make_engine(fresh_databases.new_url())
    try:
        upgrade(engine)
        with engine.connect() as conn:
            inspector = inspect(conn)
            columns = {c["name"] for c in inspector.get_columns("proposal_texts")}
            uniques = {u["name"] for u in inspector.get_unique_constraints("proposal_texts")}
        assert {"proposal_id", "kind", "language", "content", "written_by_id"} <= columns
        assert "uq_proposal_texts_proposal_id_kind_language" in uniques
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, BEFORE)
        assert current_revision(engine) == BEFORE
        with engine.connect() as conn:
            assert "proposal_texts" not in inspect(conn).get_table_names()
            assert "follow_ups" in inspect(conn).get_table_names()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, TEXTS)
        assert current_revision(engine) == TEXTS
    finally:
        engine.dispose()
