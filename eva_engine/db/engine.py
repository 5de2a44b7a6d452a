"""Database engines. SQLite is the embedded default; PostgreSQL is the production database."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from eva_engine.db.stemming import STEM_FUNCTION, stemmed

READ_ONLY = "eva_read_only"  # execution option of a read-only unit of work's connection

# PostgreSQL's deadlock_detected, serialization_failure and lock_not_available: another
# transaction held what this one needed; the transaction was rolled back and can be run again.
CONTENTION_SQLSTATES = frozenset({"40P01", "40001", "55P03"})
_SQLITE_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def is_contention(error: BaseException) -> bool:
    """Whether a database error (SQLAlchemy's, or the driver's own) means "someone else was
    writing at the same moment" rather than "the database cannot be reached"."""
    orig = getattr(error, "orig", None) or error
    if getattr(orig, "sqlstate", None) in CONTENTION_SQLSTATES:
        return True
    if isinstance(orig, sqlite3.OperationalError):
        code = getattr(orig, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _SQLITE_BUSY  # the primary code of an extended one
        return "database is locked" in str(orig) or "database table is locked" in str(orig)
    return False


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (so SAVEPOINT
        # and BEGIN IMMEDIATE work), and set what every connection needs.
        dbapi_connection.isolation_level = None
        # The search index's stemmer (db.stemming), as PostgreSQL's text search has its own.
        dbapi_connection.create_function(STEM_FUNCTION, 2, stemmed, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if database and database != ":memory:":
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes the write lock at the start, so two writers queue instead of failing
        # half-way; a reader (a read-only unit of work) begins deferred and, in WAL mode,
        # neither waits for writers nor holds them up.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
