"""What the audit tests share: the test's own connection, the chain of an organisation, and
the triggers an attacker with the database owner's rights switches off before rewriting the
history."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

from eva_engine.services.runtime import Eva


def connection(eva: Eva) -> Connection:
    bind = eva.database.bind
    assert isinstance(bind, Connection)
    return bind


def chain_id(eva: Eva, code: str) -> int:
    """The chain of the organisation ``code`` (its id)."""
    bind = eva.database.bind
    sql = text("SELECT id FROM organisations WHERE code = :c")
    if isinstance(bind, Connection):
        return int(bind.execute(sql, {"c": code}).scalar_one())
    with bind.connect() as conn:
        return int(conn.execute(sql, {"c": code}).scalar_one())


@contextmanager
def triggers_bypassed(eva: Eva) -> Iterator[Connection]:
    """What an attacker with DBA rights does first. Undone by the test's rollback."""
    conn = connection(eva)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        conn.exec_driver_sql("ALTER TABLE audit_chain_head DISABLE TRIGGER USER")
    else:
        for name in (
            "audit_events_no_update",
            "audit_events_no_delete",
            "audit_chain_head_no_delete",
        ):
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
    yield conn
