"""The only place that commits. One unit of work = one transaction: the change, its audit
events and its optimistic version check succeed together or not at all."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from eva_engine.db.audit import AUDIT_KEY, Actor, AuditContext, install_audit_hooks, seal
from eva_engine.db.engine import READ_ONLY, make_engine
from eva_engine.db.outbox import install_outbox_hooks
from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, Conflict, Text, Unavailable
from eva_engine.models import AuditEvent, Proposal


def unavailable(exc: OperationalError) -> Unavailable:
    reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
    return Unavailable(
        f"the database is unavailable ({reason}); nothing was changed, try again",
        text=Text(N_("The database is unavailable; nothing was changed. Please try again.")),
    )


class EvaSession(Session):
    """Sessions whose flushes are captured into the audit history."""


install_audit_hooks(EvaSession)
install_outbox_hooks(EvaSession)


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
        return UnitOfWork(self._sessions, actor or Actor.system(), read_only=read_only)

    def dispose(self) -> None:
        if isinstance(self.bind, Engine):
            self.bind.dispose()


class UnitOfWork:
    def __init__(
        self, sessions: sessionmaker[EvaSession], actor: Actor, *, read_only: bool = False
    ) -> None:
        self._sessions = sessions
        self.actor = actor
        self.read_only = read_only

    def __enter__(self) -> UnitOfWork:
        self.session = self._sessions()
        if self.read_only:
            # On SQLite a reader begins deferred instead of taking the write lock.
            self.session.connection(execution_options={READ_ONLY: True})
        self.audit = AuditContext(self.actor)
        self.session.info[AUDIT_KEY] = self.audit
        self.repos = Repositories(self.session)
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
            # close() ends the transaction (rolling back anything uncommitted) without
            # expiring the objects a read-only unit of work hands back.
            self.session.close()

    def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit")  # a bug, not input
        try:
            self.session.flush()
            seal(self.session)
            self.session.commit()
        except StaleDataError as exc:
            raise self._stale(exc) from exc
        except OperationalError as exc:
            raise unavailable(exc) from exc
        except IntegrityError as exc:
            self.session.rollback()
            raise Conflict(
                "the change conflicts with data stored meanwhile; reload and try again "
                f"({exc.orig.__class__.__name__})",
                text=Text(
                    N_("The change conflicts with data stored meanwhile; reload and try again.")
                ),
            ) from exc

    def _stale(self, _exc: StaleDataError) -> Conflict:
        stale = [o.id for o in self.session.dirty if isinstance(o, Proposal)]
        self.session.rollback()
        return self._conflict(stale[0] if stale else None)

    def _conflict(self, proposal_id: int | None) -> Conflict:
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
            conflict = self._conflict(proposal.id)
            now = proposal.row_version
            raise Conflict(
                f"{conflict.message} (you had version {expected}, it is now {now})",
                text=conflict.text,
            )
