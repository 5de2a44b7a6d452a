"""Set-based reads and writes for the bulk paths (``eva import proposals``, the generated year).

A bulk path reads what its checks need once per batch, not once per row: the organisation's
bodies, the users a file names, their grants in the organisation, the meetings of the bodies
and the proposals already imported under the file's ids — each in one query (or one per chunk
of ``CHUNK`` ids, so that no statement carries an unbounded parameter list).

It writes through the session, so every row is captured by the audit hooks exactly as a single
write is (same events, same content, sealed into the chain at commit): ``add_all`` adds a
batch and flushes it once. SQLAlchemy 2 sends the INSERTs of one flush of many objects of one
class as one ``INSERT ... VALUES (...), (...) ... RETURNING`` per batch of up to 1,000 rows
("insertmanyvalues"), and the audit events likewise when the unit of work seals them. A
batch therefore costs a constant number of statements, not a number per row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from sqlalchemy import func, inspect, select, tuple_
from sqlalchemy.orm import Session

from eva_engine.models import Base, Body, Meeting, Proposal, RoleGrant, User
from eva_engine.vocabulary import Role

CHUNK = 500  # ids per IN (...) list
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Lookups:
    """What an import's checks read, loaded in a few queries and then answered from memory."""

    def __init__(self, session: Session, organisation_id: int) -> None:
        self.session = session
        self.organisation_id = organisation_id
        self._bodies: dict[str, Body] | None = None
        self._users: dict[str, User | None] = {}
        # user id -> (body id or None for the whole organisation) -> roles
        self._grants: dict[int, dict[int | None, set[Role]]] = {}
        self._meetings: dict[int, list[Meeting]] | None = None

    # bodies and meetings ---------------------------------------------------------------------
    def body(self, code: str) -> Body | None:
        if self._bodies is None:
            found = self.session.scalars(
                select(Body).where(Body.organisation_id == self.organisation_id)
            ).all()
            self._bodies = {b.code: b for b in found}
        return self._bodies.get(code)

    def meetings(self, body_id: int) -> Sequence[Meeting]:
        """The body's meetings in time order (all bodies' meetings are read at the first call)."""
        if self._meetings is None:
            self._meetings = defaultdict(list)
            found = self.session.scalars(
                select(Meeting)
                .where(Meeting.organisation_id == self.organisation_id)
                .order_by(Meeting.starts_at)
            ).all()
            for meeting in found:
                self._meetings[meeting.body_id].append(meeting)
        return self._meetings.get(body_id, [])

    # users and roles -------------------------------------------------------------------------
    def load_users(self, usernames: Iterable[str]) -> None:
        """Read the named users and their active grants in the organisation (a query each per
        chunk of names); the names already read are not read again."""
        wanted = sorted({u for u in usernames if u and u not in self._users})
        for part in chunks(wanted):
            found = self.session.scalars(select(User).where(User.username.in_(part))).all()
            by_name = {u.username: u for u in found}
            for name in part:
                self._users[name] = by_name.get(name)
            ids = [u.id for u in found]
            for user_id in ids:
                self._grants.setdefault(user_id, {})
            if not ids:
                continue
            grants = self.session.execute(
                select(RoleGrant.user_id, RoleGrant.body_id, RoleGrant.role).where(
                    RoleGrant.user_id.in_(ids),
                    RoleGrant.organisation_id == self.organisation_id,
                    RoleGrant.revoked_at.is_(None),
                )
            ).all()
            for user_id, body_id, role in grants:
                self._grants[user_id].setdefault(body_id, set()).add(Role(role))

    def user(self, username: str) -> User | None:
        if username not in self._users:
            self.load_users([username])
        return self._users[username]

    def roles_for(self, user: User, body_id: int | None) -> frozenset[Role]:
        """Roles held in the organisation as a whole or in this one body (``roles_for``)."""
        if user.id not in self._grants:
            self.load_users([user.username])
        held = self._grants.get(user.id, {})
        return frozenset(held.get(None, set()) | (held.get(body_id, set()) if body_id else set()))

    # imported before -------------------------------------------------------------------------
    def imported(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The ids of the proposals imported before under (source system, external id)."""
        found: dict[tuple[str, str], int] = {}
        for part in chunks(sorted(set(keys))):
            rows = self.session.execute(
                select(Proposal.source_system, Proposal.external_ref, Proposal.id).where(
                    Proposal.organisation_id == self.organisation_id,
                    tuple_(Proposal.source_system, Proposal.external_ref).in_(list(part)),
                )
            ).all()
            found.update({(str(s), str(e)): int(i) for s, e, i in rows})
        return found


def add_all(session: Session, rows: Sequence[Base]) -> None:
    """Add a batch of new rows and flush them (and what the flush's hooks add, such as the
    outbox's messages) in a few statements: one multi-row INSERT per class and per batch of
    1,000 rows. The audit hooks capture each row as they capture a single write.

    On SQLite, whose RETURNING does not keep the order of the rows, SQLAlchemy would insert a
    row at a time to learn each new id; so the new rows are given their ids here, after the
    largest in their table (the writing transaction holds SQLite's write lock, so nobody takes
    them meanwhile), and are sent as one executemany. PostgreSQL numbers them from its
    sequences in multi-row INSERTs."""
    session.add_all(rows)
    for _ in range(10):  # a flush's hooks may add rows, written by the next flush
        if not session.new:
            return
        if session.get_bind().dialect.name == "sqlite":
            _number(session)
        session.flush()
    raise RuntimeError("the flushes keep adding rows")  # pragma: no cover


def _number(session: Session) -> None:
    """Give the new rows of single integer ``id`` tables the next ids of their tables."""
    pending: dict[type[Base], list[Base]] = defaultdict(list)
    for obj in list(session.new):
        mapper = inspect(type(obj))
        key = mapper.primary_key
        single = len(key) == 1 and key[0].name == "id" and key[0].type.python_type is int
        if single and getattr(obj, "id", None) is None:
            pending[type(obj)].append(obj)
    for cls, objs in pending.items():
        column = inspect(cls).primary_key[0]
        with session.no_autoflush:  # the rows are not sent before they have their ids
            last = int(session.execute(select(func.max(column))).scalar_one() or 0)
        for offset, obj in enumerate(objs, start=1):
            obj.id = last + offset  # type: ignore[attr-defined]
