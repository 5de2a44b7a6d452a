"""A ``limits`` storage over the ``rate_limit_counters`` table: fixed-window counters that every
worker process of the web application shares, with nothing to install beside the database.

Each increment is one short transaction of its own (not the caller's unit of work, so a count
survives the failed request it counts); a read inside a request reads in the request's own
transaction. An increment is a single ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on SQLite
and on PostgreSQL, so two processes counting the same key at once never lose a hit, and a
window that has ended starts again from the increment that finds it over. Rows of ended
windows are deleted whenever a new window starts (the table holds only the keys counted in the
last window)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, cast

from limits.storage import Storage
from sqlalchemy import Connection, Table, bindparam, case, delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from eva_engine.db.engine import READ_ONLY
from eva_engine.db.unit_of_work import Database, active_unit_of_work
from eva_engine.errors import ConfigurationError
from eva_engine.models import utcnow
from eva_engine.models.base import UTCDateTime
from eva_engine.models.user import RateLimitCounter

SCHEME = "eva+database"  # storage_from_string("eva+database://", database=...)

_table = cast(Table, RateLimitCounter.__table__)


class DatabaseStorage(Storage):
    """Fixed-window counters in eva's database (``limits`` storage ``eva+database://``)."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 - the attribute limits registers schemes by

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        database: Database | None = None,
        **options: Any,
    ) -> None:
        super().__init__(uri, wrap_exceptions, **options)
        if not isinstance(database, Database):
            raise ConfigurationError("the database rate-limit storage needs eva's database")
        self.database = database

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    @contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """A transaction of its own: on an engine a new connection (on SQLite a writer takes
        the write lock with ``BEGIN IMMEDIATE``, a reader does not); on the single connection
        that tests hand in, a savepoint."""
        if not write:
            # A read inside a request joins the request's own transaction (its snapshot): a
            # check of the window opens no transaction of its own.
            active = active_unit_of_work(self.database)
            if active is not None:
                yield active.session.connection()
                return
        bind = self.database.bind
        if isinstance(bind, Connection):
            with bind.begin_nested():
                yield bind
            return
        with bind.connect() as connection:
            if not write:
                connection.execution_options(**{READ_ONLY: True})
            with connection.begin():
                yield connection

    def incr(self, key: str, expiry: int | float, amount: int = 1) -> int:
        """Add ``amount`` to the key's counter and return the new count. The first hit of a
        window (no row, or the row's window over) sets the count to ``amount`` and the end of
        the window ``expiry`` seconds from now; later hits leave the end where it is."""
        now = utcnow()
        until = now + timedelta(seconds=float(expiry))
        now_p = bindparam("now", now, type_=UTCDateTime())
        until_p = bindparam("until", until, type_=UTCDateTime())
        over = _table.c.expires_at <= now_p
        with self._transaction() as connection:
            dialect = connection.dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            values = insert(_table).values(key=key, hits=amount, expires_at=until)
            statement = values.on_conflict_do_update(
                index_elements=[_table.c.key],
                set_={
                    "hits": case((over, amount), else_=_table.c.hits + amount),
                    "expires_at": case((over, until_p), else_=_table.c.expires_at),
                },
            ).returning(_table.c.hits, _table.c.expires_at)
            hits, expires_at = connection.execute(statement).one()
            if expires_at == until:  # a new window: forget the windows that are over
                connection.execute(delete(_table).where(_table.c.expires_at <= now_p))
            return int(hits)

    def _row(self, key: str) -> tuple[int, datetime] | None:
        with self._transaction(write=False) as connection:
            row = connection.execute(
                select(_table.c.hits, _table.c.expires_at).where(_table.c.key == key)
            ).one_or_none()
        if row is None or row.expires_at <= utcnow():
            return None
        return int(row.hits), row.expires_at

    def get(self, key: str) -> int:
        """The key's count in its current window (0 when it has none)."""
        row = self._row(key)
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        """When the key's window ends (Unix time); now if it has no window."""
        row = self._row(key)
        return row[1].timestamp() if row else time.time()

    def clear(self, key: str) -> None:
        with self._transaction() as connection:
            connection.execute(delete(_table).where(_table.c.key == key))

    def reset(self) -> int | None:
        """Forget every counter; returns how many there were."""
        with self._transaction() as connection:
            count = connection.execute(select(func.count()).select_from(_table)).scalar_one()
            connection.execute(delete(_table))
            return int(count)

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with self._transaction(write=False) as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True
