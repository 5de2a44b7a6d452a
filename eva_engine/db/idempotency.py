"""The stored results of API requests sent with an ``Idempotency-Key`` (``IdempotencyRecord``):
the SQL of ``services.idempotency``, which decides what the records mean."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from eva_engine.models import IdempotencyRecord


class IdempotencyRecords:
    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, user_id: int, key: str) -> IdempotencyRecord | None:
        """The record as committed now (not an older copy this session holds)."""
        return self.session.scalar(
            select(IdempotencyRecord)
            .where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
            .execution_options(populate_existing=True)
        )

    def insert_if_absent(self, values: dict[str, Any]) -> int | None:
        """Insert a record unless one with its (user, key) exists: the new id, or None. On
        PostgreSQL this waits on the unique index for a concurrent insert of the same key."""
        postgres = self.session.get_bind().dialect.name == "postgresql"
        insert = (pg_insert if postgres else sqlite_insert)(IdempotencyRecord).values(**values)
        inserted: int | None = self.session.execute(
            insert.on_conflict_do_nothing().returning(IdempotencyRecord.id)
        ).scalar_one_or_none()
        return inserted

    def remove(self, record: IdempotencyRecord) -> None:
        self.session.delete(record)
        self.session.flush()

    def remove_key(self, user_id: int, key: str, status_code: int) -> None:
        self.session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id,
                IdempotencyRecord.key == key,
                IdempotencyRecord.status_code == status_code,
            )
        )

    def remove_expired(self, before: datetime, user_id: int | None = None) -> int:
        """Records made at or before ``before`` (only ``user_id``'s, if given): how many."""
        statement = delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= before)
        if user_id is not None:
            statement = statement.where(IdempotencyRecord.user_id == user_id)
        result = self.session.execute(statement)
        return int(getattr(result, "rowcount", 0) or 0)
