"""The only place that commits. One unit of work = one transaction: the change, its audit
events and its optimistic version check succeed together or not at all.

A unit of work opened while another one of the same database is active in this context (an
entry point's ``Eva.transaction()``, say) *joins* it instead of opening a second transaction:
it runs in a savepoint of the outer one (so a refusal undoes only its own part), its
``commit()`` flushes but does not commit, and its audit events (with its own actor) are sealed
into the chain when the outermost unit of work commits. Only the outermost one commits.

A *read-only* unit of work (``read_only=True``) reads one consistent snapshot without taking
a write lock: on SQLite a deferred ``BEGIN``, on PostgreSQL ``REPEATABLE READ, READ ONLY``. It
joins any active unit of work; a writing one never joins a read-only one (it opens a short
transaction of its own). The reads the law makes into writes (a disclosure of a non-public
proposal, the auditor's reads) are audit events recorded on a read-only unit: its
``commit()`` writes just those events, in a short writing transaction of its own (or, joined
to a writing unit, with that one); any other change in it is a bug and is refused.

``retrying`` runs a whole unit of work (or an entry point's request) again when the database
reports contention — a deadlock, a serialisation failure, a lock not granted, SQLite's
"database is locked" — a bounded number of times, then reports it as a ``Contended``
conflict; a database that cannot be reached stays ``Unavailable``."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import suppress
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from eva_engine.db.audit import AUDIT_KEY, Actor, AuditContext, install_audit_hooks, seal
from eva_engine.db.engine import READ_ONLY, is_contention, make_engine
from eva_engine.db.outbox import install_outbox_hooks, write_pending
from eva_engine.db.repositories import Repositories
from eva_engine.db.search import install_search_hooks
from eva_engine.db.unit_cache import install_cache_hooks
from eva_engine.errors import N_, Conflict, Contended, EvaError, Text, Unavailable
from eva_engine.models import AuditEvent, Proposal

T = TypeVar("T")

ATTEMPTS = 3  # how many times ``retrying`` runs a contended unit of work in all
BACKOFF = 0.02  # seconds before the second attempt; doubled for each further one, jittered


def unavailable(exc: OperationalError) -> EvaError:
    """The error an OperationalError means: contention (retried, then a conflict) or a
    database that cannot be reached or used."""
    if is_contention(exc):
        return Contended()
    reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
    return Unavailable(
        f"the database is unavailable ({reason}); nothing was changed, try again",
        text=Text(N_("The database is unavailable; nothing was changed. Please try again.")),
    )


class EvaSession(Session):
    """Sessions whose flushes are captured into the audit history."""


install_audit_hooks(EvaSession)
install_outbox_hooks(EvaSession)
install_cache_hooks(EvaSession)
install_search_hooks(EvaSession)

# The outermost unit of work active in this context (a thread, a request).
_ACTIVE: ContextVar[UnitOfWork | None] = ContextVar("eva_unit_of_work", default=None)
_INNERMOST = "eva.unit_of_work.innermost"  # session.info: the innermost joined unit of work


def active_unit_of_work(database: Database) -> UnitOfWork | None:
    """The unit of work open on ``database`` in this context (an entry point's), if any: for a
    reader that should see the request's own snapshot instead of opening a transaction."""
    active = _ACTIVE.get()
    return active if active is not None and active.database is database else None


class Database:
    """An engine (or, in tests, one outer connection) and the sessions made from it."""

    def __init__(self, bind: Engine | Connection) -> None:
        self.bind = bind
        options: dict[str, Any] = {}
        if isinstance(bind, Connection):
            options["join_transaction_mode"] = "create_savepoint"
        self._sessions = sessionmaker(
            bind=bind, class_=EvaSession, expire_on_commit=False, autoflush=True, **options
        )
        self._readers = self._sessions
        if isinstance(bind, Engine):
            # Readers begin lazily (a unit of work that reads nothing begins nothing) with
            # their own options: SQLite begins deferred (``engine._on_begin``), PostgreSQL
            # reads one snapshot and refuses any write. The pool resets them on check-in.
            reading: dict[str, Any] = {READ_ONLY: True}
            if bind.dialect.name == "postgresql":
                reading |= {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            self._readers = sessionmaker(
                bind=bind.execution_options(**reading),
                class_=EvaSession,
                expire_on_commit=False,
                autoflush=True,
            )

    @classmethod
    def connect(cls, url: str) -> Database:
        return cls(make_engine(url))

    @property
    def engine(self) -> Engine:
        if isinstance(self.bind, Connection):
            return self.bind.engine
        return self.bind

    @property
    def dialect(self) -> str:
        return self.bind.dialect.name

    def unit_of_work(self, actor: Actor | None = None, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self, actor or Actor.system(), read_only=read_only)

    def dispose(self) -> None:
        if isinstance(self.bind, Engine):
            self.bind.dispose()


class UnitOfWork:
    session: EvaSession
    audit: AuditContext
    repos: Repositories

    def __init__(self, database: Database, actor: Actor, *, read_only: bool = False) -> None:
        self.database = database
        self.actor = actor
        self.read_only = read_only
        self._outer: UnitOfWork | None = None  # the innermost unit of work this one joined
        self._savepoint: SessionTransaction | None = None
        self._previous_audit: AuditContext | None = None
        self._token: Token[UnitOfWork | None] | None = None
        self._deferred: list[AuditContext] = []  # joined units' events, sealed at commit

    @property
    def joined(self) -> bool:
        """Whether this unit of work runs inside an outer one (and does not commit itself)."""
        return self._outer is not None

    def __enter__(self) -> UnitOfWork:
        active = _ACTIVE.get()
        if (
            active is not None
            and active.database is self.database
            and (self.read_only or not active.read_only)
        ):
            self.session = active.session
            self._outer = self.session.info.get(_INNERMOST, active)
            self.session.info[_INNERMOST] = self
            self.audit = AuditContext(self.actor)
            self._previous_audit = self.session.info.get(AUDIT_KEY)
            # What the outer unit did so far is flushed (and so recorded) under its actor.
            self._savepoint = self.session.begin_nested()
            self.session.info[AUDIT_KEY] = self.audit
            self.repos = Repositories(self.session)
            return self
        if self.read_only:
            self.session = self.database._readers()
        else:
            self.session = self.database._sessions()
        self.audit = AuditContext(self.actor)
        self.session.info[AUDIT_KEY] = self.audit
        self.repos = Repositories(self.session)
        self._token = _ACTIVE.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if isinstance(exc, StaleDataError):
                # An autoflush before commit() found the row changed by someone else.
                raise self._stale(exc) from exc
            if isinstance(exc, OperationalError):
                raise unavailable(exc) from exc
        finally:
            if self._outer is not None:
                # Whatever this joined unit did not commit is undone (with the events of units
                # it joined in turn); the outer one goes on.
                self._end_savepoint(release=self._unchanged_read())
                self._deferred.clear()
                self.session.info[AUDIT_KEY] = self._previous_audit
                if self._outer.joined:
                    self.session.info[_INNERMOST] = self._outer
                else:
                    self.session.info.pop(_INNERMOST, None)
            else:
                if self._token is not None:
                    try:
                        _ACTIVE.reset(self._token)
                    except ValueError:  # pragma: no cover - left in another context
                        _ACTIVE.set(None)
                    self._token = None
                if self.read_only and exc is None and self._deferred:
                    self._write_reads(self._deferred)
                self._deferred = []
                if self._unchanged_read():
                    # A reader ends its transaction (or, on one shared connection, its
                    # savepoint) without undoing what a short writer recorded meanwhile.
                    with suppress(SQLAlchemyError):
                        self.session.commit()
                # close() ends the transaction (rolling back anything uncommitted) without
                # expiring the objects a read-only unit of work hands back.
                self.session.close()

    def _unchanged_read(self) -> bool:
        return self.read_only and not (
            self.session.new or self.session.deleted or self.session.dirty
        )

    def commit(self) -> None:
        if self.read_only:
            self._record_reads()
            return
        try:
            if self._outer is not None:
                self._commit_joined(self._outer)
                return
            self.session.flush()
            write_pending(self.session)  # messages written since the flush (none, mostly)
            for ctx in [*self._deferred, self.audit]:
                self.session.info[AUDIT_KEY] = ctx
                seal(self.session)
            self.session.info[AUDIT_KEY] = self.audit
            self._deferred.clear()
            self.session.commit()
            _committed()
        except StaleDataError as exc:
            raise self._stale(exc) from exc
        except OperationalError as exc:
            raise unavailable(exc) from exc
        except IntegrityError as exc:
            self._rollback()
            raise Conflict(
                "the change conflicts with data stored meanwhile; reload and try again "
                f"({exc.orig.__class__.__name__})",
                text=Text(
                    N_("The change conflicts with data stored meanwhile; reload and try again.")
                ),
            ) from exc

    def _record_reads(self) -> None:
        """A read-only unit's commit: write the audit events it recorded (reads the law makes
        into writes), with the writing unit it joined, else in a short transaction of its
        own, so a reading request never holds the write lock for its whole length."""
        if self.session.new or self.session.deleted or self.session.dirty:
            raise RuntimeError("a read-only unit of work cannot commit changes")  # a bug
        active = _ACTIVE.get()
        if self._outer is not None and active is not None and not active.read_only:
            self._commit_joined(self._outer)
            return
        if not self.audit.pending:
            return
        done, self.audit = self.audit, AuditContext(self.audit.actor, role=self.audit.role)
        self.session.info[AUDIT_KEY] = self.audit
        if self._outer is not None and active is not None:
            active._deferred.append(done)  # the request's reader writes them all at its end
        else:
            self._write_reads([done])

    def _write_reads(self, contexts: list[AuditContext]) -> None:
        """Write recorded reads (each with its own actor) in one short writing transaction."""
        recorder = UnitOfWork(self.database, Actor.system())
        with recorder:  # never joins a read-only unit: a transaction of its own
            recorder._deferred.extend(contexts)
            recorder.commit()

    def _commit_joined(self, outer: UnitOfWork) -> None:
        """Flush this unit's changes into the outer transaction; its events wait for the
        outer commit (the audit chain head is locked last, when the transaction commits)."""
        for _ in range(5):  # a flush hook may add rows: flush those too
            self.session.flush()
            if not (self.session.new or self.session.dirty or self.session.deleted):
                break
        write_pending(self.session)
        if self._savepoint is not None:
            self._savepoint.commit()
        # The outer unit seals them, or drops them if its own part is undone.
        outer._deferred.extend([*self._deferred, self.audit])
        self._deferred = []
        # Anything this unit does after its commit is a new part, with the same actor.
        fresh = AuditContext(self.audit.actor, role=self.audit.role)
        self.audit = fresh
        self._savepoint = self.session.begin_nested()
        self.session.info[AUDIT_KEY] = fresh

    def _end_savepoint(self, *, release: bool = False) -> None:
        savepoint, self._savepoint = self._savepoint, None
        if savepoint is None or self.session.get_nested_transaction() is None:
            return
        with suppress(SQLAlchemyError):  # the connection is gone: the outer unit fails too
            if release:  # a reader changed nothing: keep what was written meanwhile
                savepoint.commit()
            else:
                savepoint.rollback()

    def _rollback(self) -> None:
        """Undo this unit's part: its savepoint when joined, else the transaction."""
        if self._outer is not None:
            self._end_savepoint()
            self._savepoint = self.session.begin_nested()
        else:
            self.session.rollback()

    def _stale(self, _exc: StaleDataError) -> Conflict:
        stale = [o.id for o in self.session.dirty if isinstance(o, Proposal)]
        self._rollback()
        return self.conflict(stale[0] if stale else None)

    def conflict(self, proposal_id: int | None) -> Conflict:
        """The conflict to report when someone else changed the proposal meanwhile: names who
        and when, from its last audit event."""
        if proposal_id is None:
            return Conflict(
                "someone else changed this record meanwhile; reload and try again",
                text=Text(N_("Someone else changed this record meanwhile; reload and try again.")),
            )
        last = self.session.execute(
            select(AuditEvent)
            .where(AuditEvent.proposal_id == proposal_id)
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).scalar_one_or_none()
        who = f" by {last.actor_name} at {last.occurred_at:%Y-%m-%d %H:%M:%S} UTC" if last else ""
        params: dict[str, str | int] = {"id": proposal_id}
        if last:
            params |= {"who": last.actor_name, "when": f"{last.occurred_at:%Y-%m-%d %H:%M} UTC"}
        return Conflict(
            f"proposal {proposal_id} was changed{who} after you read it; reload it and try again",
            text=Text(
                N_(
                    "%(who)s changed this proposal at %(when)s after you read it; "
                    "reload it and try again."
                )
                if last
                else N_("This proposal was changed after you read it; reload it and try again."),
                params,
            ),
        )

    def check_version(self, proposal: Proposal, expected: int | None) -> None:
        """A stale version from the caller (e.g. an If-Match) is a conflict, never an overwrite."""
        if expected is not None and proposal.row_version != expected:
            conflict = self.conflict(proposal.id)
            now = proposal.row_version
            raise Conflict(
                f"{conflict.message} (you had version {expected}, it is now {now})",
                text=conflict.text,
            )


# retrying ---------------------------------------------------------------------------------------
@dataclass
class RetryStats:
    """What ``retrying`` did in this process (for tests and measurements)."""

    runs: int = 0  # calls of the outermost runner
    retries: int = 0  # attempts run again after contention
    gave_up: int = 0  # contention reported after the last attempt (or after a commit)


RETRY_STATS = RetryStats()


@dataclass
class _Attempt:
    committed: bool = False  # an outermost unit of work committed during this attempt


_ATTEMPT: ContextVar[_Attempt | None] = ContextVar("eva_retry_attempt", default=None)


def _committed() -> None:
    attempt = _ATTEMPT.get()
    if attempt is not None:
        attempt.committed = True


def retry_active() -> bool:
    """Whether a ``retrying`` runner is around the code running now."""
    return _ATTEMPT.get() is not None


def retrying(fn: Callable[[], T], *, attempts: int = ATTEMPTS) -> T:
    """Run ``fn`` (a whole request: every unit of work it opens) and run it again, up to
    ``attempts`` times in all with a short jittered pause, when it fails with ``Contended``.
    An attempt that already committed a transaction is not run again (that would do its
    committed part twice): its contention is reported. Inside another runner ``fn`` just runs
    (the outermost runner retries)."""
    if _ATTEMPT.get() is not None:
        return fn()
    RETRY_STATS.runs += 1
    for attempt in range(1, attempts + 1):
        state = _Attempt()
        token = _ATTEMPT.set(state)
        try:
            return fn()
        except Contended:
            if attempt >= attempts or state.committed:
                RETRY_STATS.gave_up += 1
                raise
            RETRY_STATS.retries += 1
        finally:
            _ATTEMPT.reset(token)
        time.sleep(BACKOFF * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))  # noqa: S311
    raise AssertionError("unreachable")  # pragma: no cover
