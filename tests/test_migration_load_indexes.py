"""The load indexes migration (0009): it adds the audit events' index by chain and action on
the schema before it, going back one revision removes exactly that index, and the auditor's
page finds an organisation's last chain check through it."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from eva_engine.db.engine import make_engine
from eva_engine.db.migrate import alembic_config, current_revision, upgrade
from tests.conftest import FreshDatabase

pytestmark = pytest.mark.postgres  # DDL and plans differ per backend

LOAD_INDEXES = "7d3b9a51c0e8"
BEFORE = "7d3e9b1c5a20"  # the proposal texts (0009)
INDEX = "ix_audit_events_chain_action"


def _indexes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {str(i["name"]) for i in inspect(conn).get_indexes("audit_events")}


def test_the_load_index_migration_adds_its_index_and_goes_back(
    fresh_databases: FreshDatabase,
) -> None:
    engine = make_engine(fresh_databases.new_url())
    try:
        upgrade(engine)
        assert INDEX in _indexes(engine)
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, BEFORE)
        assert current_revision(engine) == BEFORE
        assert INDEX not in _indexes(engine)
        assert "ix_audit_events_proposal" in _indexes(engine)
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, LOAD_INDEXES)
        assert current_revision(engine) == LOAD_INDEXES
        assert INDEX in _indexes(engine)
    finally:
        engine.dispose()


def test_an_organisations_last_chain_check_is_read_from_the_index_on_postgresql(
    fresh_databases: FreshDatabase,
) -> None:
    engine = make_engine(fresh_databases.new_url())
    try:
        if engine.dialect.name != "postgresql":
            pytest.skip("the plan is PostgreSQL's")
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(
                str(r[0])
                for r in conn.execute(
                    text(
                        "EXPLAIN SELECT seq FROM audit_events WHERE chain_id = 1"
                        " AND organisation_id = 1 AND action = 'audit.chain_verified'"
                        " ORDER BY seq DESC LIMIT 1"
                    )
                )
            )
        assert INDEX in plan
        assert "Backward" in plan
    finally:
        engine.dispose()
