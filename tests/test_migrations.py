"""Alembic: an empty database migrates to head, matches the models exactly, and goes back; a
populated single audit chain moves into verified chains per organisation (0007) and back; the
SQLite search index is rebuilt with Snowball stems (0015) and back."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from eva_engine.config import default_workflows_dir
from eva_engine.db.engine import make_engine
from eva_engine.db.migrate import alembic_config, current_revision, upgrade
from eva_engine.db.search import include_name
from eva_engine.db.unit_of_work import Database
from eva_engine.models import Base
from eva_engine.services.history import trail
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.runtime import Eva
from tests.builders import ORG, as_, build_foreign, build_world, proposal_in
from tests.conftest import FreshDatabase, publish_workflows

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
            opts = {"compare_type": True, "include_name": include_name}  # the search index
            context = MigrationContext.configure(conn, opts=opts)
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


# 0007: one chain per organisation ------------------------------------------------------------
SINGLE_CHAIN = "b1e7c4d2a906"  # 0006, the last revision with one chain for the installation
CONTENT = (
    "SELECT actor_name, action, entity_type, entity_id, organisation_id, proposal_id, before,"
    " after, reason FROM audit_events WHERE action <> 'audit.chain_migrated'"
)


def _downgrade(engine: Engine, revision: str) -> None:
    from alembic import command  # noqa: PLC0415

    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def _content(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return sorted((tuple(r) for r in conn.execute(text(CONTENT))), key=repr)


@pytest.fixture
def populated(fresh_databases: FreshDatabase) -> Iterator[Eva]:
    """Two organisations with proposals, tasks and answers, moved back to the single chain."""
    eva = Eva(Database.connect(fresh_databases.new_url()), default_workflows_dir())
    upgrade(eva.database.engine)
    publish_workflows(eva)
    build_world(eva)
    proposal_in(eva, "decided")
    proposal_in(eva, "review")
    build_foreign(eva)
    yield eva
    eva.database.dispose()


def test_the_single_chain_moves_into_verified_chains_per_organisation_and_back(
    populated: Eva,
) -> None:
    engine = populated.database.engine
    before = _content(engine)
    _downgrade(engine, SINGLE_CHAIN)  # one chain again, re-linked in the old format
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_chain_head")).scalar_one() == 1
        events = conn.execute(text("SELECT count(*), max(seq) FROM audit_events")).one()
        assert events[0] == events[1] > len(before)  # with the first move's records
    upgrade(engine)  # verifies the single chain, then moves it
    result = trail.verify(populated)
    assert result.ok, result.problem
    assert len(result.chains) == 3  # the installation's, testila's and muualla's
    assert _content(engine) == before  # every event kept, as it was recorded
    with engine.connect() as conn:
        records = conn.execute(
            text(
                "SELECT chain_id, seq, after FROM audit_events"
                " WHERE action = 'audit.chain_migrated' AND client = 'migration 0007'"
                " ORDER BY chain_id, seq"
            )
        ).all()
        found = conn.execute(text("SELECT chain_id, last_seq FROM audit_chain_head"))
        heads = {int(c): int(s) for c, s in found}
    last = {chain: json.loads(after) for chain, seq, after in records if seq == heads[chain]}
    assert set(last) == set(heads)  # each chain ends with the record of its move
    assert last[0]["old_head"]["seq"] == events[1]
    assert sum(last[0]["chains"].values()) == events[0]
    assert proposal_in(populated, "screening")  # and takes new events
    assert trail.verify(populated).ok


def test_a_tampered_single_chain_is_not_moved_and_the_upgrade_stops(populated: Eva) -> None:
    engine = populated.database.engine
    _downgrade(engine, SINGLE_CHAIN)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        conn.exec_driver_sql("UPDATE audit_events SET reason = 'forged' WHERE seq = 30")
        if conn.dialect.name == "postgresql":  # the attacker covers their tracks
            conn.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER USER")
        else:
            conn.exec_driver_sql(
                "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events"
                " BEGIN SELECT RAISE(ABORT, 'append-only'); END"
            )
    with pytest.raises(Exception, match="event 30 was altered"):
        upgrade(engine)
    assert current_revision(engine) == SINGLE_CHAIN  # nothing changed
    with engine.connect() as conn:
        assert "chain_id" not in {c["name"] for c in inspect(conn).get_columns("audit_events")}


# 0015: the SQLite search index stems ----------------------------------------------------------
BEFORE_STEMMING = "5b8e2d0c7a14"  # 0014: SQLite's search rows hold the words as written


def _index_row(engine: Engine, pid: int) -> str:
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            sql = "SELECT document::text FROM proposal_search WHERE proposal_id = :pid"
        else:
            sql = "SELECT title || '|' || body FROM proposal_search WHERE rowid = :pid"
        return str(conn.execute(text(sql), {"pid": pid}).scalar_one())


def test_the_search_index_is_rebuilt_with_stems_and_back(fresh_databases: FreshDatabase) -> None:
    eva = Eva(Database.connect(fresh_databases.new_url()), default_workflows_dir())
    try:
        engine = eva.database.engine
        upgrade(engine)
        publish_workflows(eva)
        build_world(eva)
        pid = proposal_commands.create_proposal(
            eva,
            as_("prep"),
            proposal_commands.CreateProposal(
                organisation=ORG,
                case_number="330/12.00.00/2026",
                title_fi="Kirjastojen aukioloajat",
                title_sv="Bibliotekens öppettider",
                body="HYVLTK",
                presenter="pres",
            ),
        ).id
        stemmed = _index_row(engine, pid)
        _downgrade(engine, BEFORE_STEMMING)
        old = _index_row(engine, pid)
        upgrade(engine)
        assert _index_row(engine, pid) == stemmed
        if engine.dialect.name == "postgresql":  # stemmed all along: the migration is a no-op
            assert old == stemmed
        else:
            assert old.split("|")[0] == "Kirjastojen aukioloajat Bibliotekens öppettider"
            assert stemmed.split("|")[0] == "kirjasto aukioloaj bibliotek öppettid"
    finally:
        eva.database.dispose()
