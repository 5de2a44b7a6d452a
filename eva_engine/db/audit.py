"""The audit history: captured from the session (not written by hand in each service), sealed
into SHA-256 hash chains when the unit of work commits (one chain per organisation, one for
the installation), and verified end to end."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Table,
    bindparam,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, UOWTransaction

from eva_engine.db.engine import READ_ONLY
from eva_engine.db.unit_cache import unit_cache
from eva_engine.errors import N_, Problem, Text
from eva_engine.models import (
    GENESIS_HASH,
    INSTALLATION_CHAIN,
    Assessment,
    AuditChainHead,
    Audited,
    AuditEvent,
    Organisation,
    Proposal,
    User,
    chain_of,
    jsonable,
    utcnow,
)

AUDIT_KEY = "eva.audit"
REDACTED = "<redacted>"


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Actor:
    """Who acts. ``user_id`` is None for the system or a shell operator."""

    user_id: int | None
    name: str
    client: str = "cli"

    @classmethod
    def system(cls, client: str = "system") -> Actor:
        return cls(None, "system", client)


@dataclass
class Annotation:
    action: str
    reason: str | None = None
    role: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class PendingEvent:
    action: str
    entity_type: str
    entity_id: str
    organisation_id: int | None
    proposal_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    role: str | None
    # The chain it goes to, when its organisation_id does not say (an answer's is its
    # proposal's organisation's); found by ``seal`` from the proposal when not given.
    chain: int | None = None


@dataclass
class AuditContext:
    actor: Actor
    role: str | None = None
    pending: list[PendingEvent] = field(default_factory=list)
    annotations: dict[int, Annotation] = field(default_factory=dict)
    _rows: dict[tuple[str, str], PendingEvent] = field(default_factory=dict)

    def annotate(self, entity: Audited, annotation: Annotation) -> None:
        """Name the action (and reason) of the change about to be made to ``entity``."""
        self.annotations[id(entity)] = annotation

    def record(self, event_: PendingEvent) -> None:
        """An event that is not a row change (a read of confidential data, an export...)."""
        self.pending.append(event_)

    def row_change(self, op: str, event_: PendingEvent) -> None:
        """One event per entity per unit of work, however many flushes it took."""
        key = (event_.entity_type, event_.entity_id)
        earlier = self._rows.get(key)
        if earlier is None:
            self._rows[key] = event_
            self.pending.append(event_)
            return
        if op == "delete":
            if earlier.before is None:  # created and deleted in one transaction: no trace
                self.pending.remove(earlier)
                del self._rows[key]
                return
            earlier.action, earlier.after = event_.action, None
            return
        after = earlier.after if earlier.after is not None else {}
        for name, value in (event_.after or {}).items():
            if earlier.before is not None and name not in earlier.before:
                earlier.before[name] = (event_.before or {}).get(name)
            after[name] = value
        earlier.after = after
        if earlier.action.endswith(".update") and not event_.action.endswith(".update"):
            earlier.action = event_.action
        earlier.reason = earlier.reason or event_.reason
        earlier.role = earlier.role or event_.role

    def sealed(self) -> None:
        self.pending.clear()
        self._rows.clear()


def _columns(obj: Audited) -> Iterator[tuple[str, Any]]:
    mapper = inspect(type(obj))
    for attr in mapper.column_attrs:
        yield attr.key, getattr(obj, attr.key)


def _value(obj: Audited, key: str, value: Any) -> Any:
    return REDACTED if key in obj.__audit_redact__ and value is not None else jsonable(value)


def _snapshot(obj: Audited) -> dict[str, Any]:
    return {k: _value(obj, k, v) for k, v in _columns(obj) if k not in obj.__audit_ignore__}


def _changes(obj: Audited) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in inspect(type(obj)).column_attrs:
        key = attr.key
        if key in obj.__audit_ignore__:
            continue
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if jsonable(old) == jsonable(new):
            continue
        before[key] = _value(obj, key, old)
        after[key] = _value(obj, key, new)
    return before, after


def _scope(obj: Audited) -> tuple[int | None, int | None]:
    organisation = getattr(obj, "organisation_id", None)
    proposal = getattr(obj, "proposal_id", None)
    if obj.__audit_name__ == "proposal":
        proposal = getattr(obj, "id", None)
    elif obj.__audit_name__ == "organisation":
        organisation = getattr(obj, "id", None)
    return organisation, proposal


def _after_flush(session: Session, _flush_context: UOWTransaction) -> None:
    ctx: AuditContext | None = session.info.get(AUDIT_KEY)
    changed = [
        (op, obj)
        for op, objs in (
            ("create", session.new),
            ("update", session.dirty),
            ("delete", session.deleted),
        )
        for obj in objs
        if isinstance(obj, Audited)
    ]
    if not changed:
        return
    if ctx is None:
        raise RuntimeError("audited entities may only be changed inside a unit of work")
    for op, obj in changed:
        if op == "create":
            before, after = None, _snapshot(obj)
        elif op == "delete":
            before, after = _snapshot(obj), None
        else:
            before, after = _changes(obj)
            if not after:
                continue
        note = ctx.annotations.get(id(obj))
        action = f"{obj.__audit_name__}.{op}"
        if note is not None:
            action = note.action
            if note.extra:
                after = {**(after or {}), **note.extra}
        organisation, proposal = _scope(obj)
        chain = None if organisation is not None else _owner(session, obj, proposal)
        key = inspect(type(obj)).primary_key_from_instance(obj)
        ctx.row_change(
            op,
            PendingEvent(
                action=action,
                entity_type=obj.__audit_name__,
                entity_id=":".join(str(k) for k in key),
                organisation_id=organisation,
                proposal_id=proposal,
                before=before,
                after=after,
                reason=note.reason if note else None,
                role=(note.role if note and note.role else ctx.role),
                chain=chain,
            ),
        )


def _owner(session: Session, obj: Audited, proposal: int | None) -> int | None:
    """The chain of an entity that names no organisation itself: its proposal's (directly or
    through its assessment) or its user's home organisation's; None to let ``seal`` decide."""
    if proposal is None:
        assessment_id = getattr(obj, "assessment_id", None)
        assessment = session.get(Assessment, assessment_id) if assessment_id else None
        proposal = assessment.proposal_id if assessment is not None else None
    if proposal is not None:
        found = session.get(Proposal, proposal)
        return found.organisation_id if found is not None else None
    user_id = getattr(obj, "user_id", None)
    user = session.get(User, user_id) if user_id else None
    return chain_of(user.organisation_id) if user is not None else None


def install_audit_hooks(session_class: type[Session]) -> None:
    if not event.contains(session_class, "after_flush", _after_flush):
        event.listen(session_class, "after_flush", _after_flush)


# The hash of an event ----------------------------------------------------------------------------
# hash = SHA-256( UTF-8(content) || "|" || "<chain>:<seq>:<prev_hash>" ), hex.
# ``content`` encodes the event's fields in ``HASHED`` order, each as "-" when NULL, else as
# "<length>:<text>" (length in characters, so the encoding is unambiguous without escaping); a
# time is its UTC "YYYY-MM-DDTHH:MM:SS.ffffff". The content is hashed when the event is built,
# before the chain head is locked; the link (chain, position, previous hash) is appended under
# the lock, from a copy of the hash state. The verifier has the database render the same
# content (``_events_sql``), streams the rows and hashes each event once.
HASHED = (
    "occurred_at",
    "actor_id",
    "actor_name",
    "actor_role",
    "client",
    "action",
    "entity_type",
    "entity_id",
    "organisation_id",
    "proposal_id",
    "before",
    "after",
    "reason",
)
LOCK_TIMES = "eva.audit.lock_times"  # session.info: (asked, granted) perf_counter of the lock


def time_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _field(value: object) -> str:
    if value is None:
        return "-"
    text_ = time_text(value) if isinstance(value, datetime) else str(value)
    return f"{len(text_)}:{text_}"


def content_of(values: Iterable[object]) -> str:
    """The hashed content of an event's fields, given in ``HASHED`` order."""
    return "".join(_field(v) for v in values)


def link_of(chain_id: int, seq: int, prev_hash: str) -> bytes:
    return f"|{chain_id}:{seq}:{prev_hash}".encode()


def event_hash(event_: AuditEvent | Any) -> str:
    """The hash an event (an ``AuditEvent`` or a row with its columns) must have."""
    content = content_of(getattr(event_, name) for name in HASHED)
    digest = hashlib.sha256(content.encode())
    digest.update(link_of(event_.chain_id, event_.seq, event_.prev_hash))
    return digest.hexdigest()


# Sealing ---------------------------------------------------------------------------------------
@dataclass
class _Built:
    row: dict[str, Any]
    digest: Any  # hashlib's sha256 of the content, without the link


def _chain(session: Session, pending: PendingEvent) -> int:
    if pending.chain is not None:
        return pending.chain
    if pending.organisation_id is None and pending.proposal_id is not None:
        proposal = session.get(Proposal, pending.proposal_id)
        if proposal is not None:
            return proposal.organisation_id
    return chain_of(pending.organisation_id)


def _build(session: Session, ctx: AuditContext, pending: PendingEvent, now: datetime) -> _Built:
    row: dict[str, Any] = {
        "chain_id": _chain(session, pending),
        "occurred_at": now,
        "actor_id": ctx.actor.user_id,
        "actor_name": ctx.actor.name,
        "actor_role": pending.role,
        "client": ctx.actor.client,
        "action": pending.action,
        "entity_type": pending.entity_type,
        "entity_id": pending.entity_id,
        "organisation_id": pending.organisation_id,
        "proposal_id": pending.proposal_id,
        "before": None if pending.before is None else canonical(pending.before),
        "after": None if pending.after is None else canonical(pending.after),
        "reason": pending.reason,
    }
    content = content_of(row[name] for name in HASHED)
    return _Built(row, hashlib.sha256(content.encode()))


_HEADS: Table = AuditChainHead.__table__  # type: ignore[assignment]
_EVENTS: Table = AuditEvent.__table__  # type: ignore[assignment]


def _lock_heads(session: Session, chains: Sequence[int]) -> dict[int, list[Any]]:
    """Lock the heads of ``chains`` (in ascending order, so two writers never wait on each
    other crosswise) and return their [last_seq, last_hash]. A chain's head row is made by
    its first event (the organisation's creation)."""
    query = (
        select(_HEADS.c.chain_id, _HEADS.c.last_seq, _HEADS.c.last_hash)
        .where(_HEADS.c.chain_id.in_(chains))
        .order_by(_HEADS.c.chain_id)
        .with_for_update()
    )
    asked = time.perf_counter()
    heads = {c: [s, h] for c, s, h in session.execute(query)}
    missing = [c for c in chains if c not in heads]
    if missing:
        dialect = session.get_bind().dialect.name
        insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(
            insert_(_HEADS).on_conflict_do_nothing(),
            [{"chain_id": c, "last_seq": 0, "last_hash": GENESIS_HASH} for c in missing],
        )
        heads |= {
            c: [s, h] for c, s, h in session.execute(query.where(_HEADS.c.chain_id.in_(missing)))
        }
    session.info[LOCK_TIMES] = (asked, time.perf_counter())
    return heads


def seal(session: Session) -> int:
    """Append the pending events to their chains (their organisations', or the
    installation's). The events are built and their content hashed first; only then are the
    heads of the chains they go to locked (those rows only, until the commit), each event
    linked to its chain's head, and all written in one statement. Returns how many.

    A head read earlier in the same transaction (a workflow step reads its organisation's
    with the proposal's lock: ``UnitCache.heads``) is moved with one conditional UPDATE, which
    takes the lock; only when another writer appended since (PostgreSQL; SQLite's writers are
    serialised by ``BEGIN IMMEDIATE``) is it locked, read again and the events linked anew."""
    ctx: AuditContext | None = session.info.get(AUDIT_KEY)
    if ctx is None or not ctx.pending:
        return 0
    now = utcnow()
    built = [_build(session, ctx, pending, now) for pending in ctx.pending]
    chains = sorted({b.row["chain_id"] for b in built})
    known = unit_cache(session).heads
    asked = time.perf_counter()
    for chain in chains:  # in ascending order, so two writers never wait on each other crosswise
        seen = known.pop(chain, None)
        if seen is not None:
            head: list[Any] = [seen[0], seen[1]]
            _link(chain, head, built)
            if _move_head(session, chain, head, seen):
                known[chain] = (
                    int(head[0]),
                    str(head[1]),
                )  # locked by us: a later seal starts here
                continue  # nobody appended since it was read: the head is moved and now locked
        head = _lock_heads(session, [chain])[chain]
        _link(chain, head, built)
        _move_head(session, chain, head, None)
        known[chain] = (int(head[0]), str(head[1]))
    session.info[LOCK_TIMES] = (asked, time.perf_counter())
    session.connection().execute(insert(_EVENTS), [b.row for b in built])
    ctx.sealed()
    return len(built)


def _link(chain: int, head: list[Any], built: Sequence[_Built]) -> None:
    """Link the chain's events to its head [last seq, last hash], which moves along."""
    for item in built:
        if item.row["chain_id"] != chain:
            continue
        seq = head[0] + 1
        digest = item.digest.copy()
        digest.update(link_of(chain, seq, head[1]))
        item.row |= {"seq": seq, "prev_hash": head[1], "hash": digest.hexdigest()}
        head[0], head[1] = seq, item.row["hash"]


def _move_head(
    session: Session, chain: int, moved: list[Any], seen: tuple[int, str] | None
) -> bool:
    """Move the chain's head to ``moved`` [last seq, last hash]. ``seen``: the head as read,
    unlocked, earlier in this transaction (the events were linked to it): moved only if it is
    still there (the UPDATE takes the lock); False when someone appended meanwhile. Without
    ``seen`` the head is locked already."""
    values = {"chain": chain, "seq_": moved[0], "hash_": moved[1]}
    connection = session.connection()
    if seen is None:
        connection.execute(_MOVE_HEAD, values)
        return True
    result = connection.execute(
        _MOVE_SEEN_HEAD, values | {"seen_seq": seen[0], "seen_hash": seen[1]}
    )
    return int(getattr(result, "rowcount", 0)) == 1


_MOVE_HEAD = (
    update(_HEADS)
    .where(_HEADS.c.chain_id == bindparam("chain"))
    .values(last_seq=bindparam("seq_"), last_hash=bindparam("hash_"))
)
_MOVE_SEEN_HEAD = _MOVE_HEAD.where(
    _HEADS.c.last_seq == bindparam("seen_seq"), _HEADS.c.last_hash == bindparam("seen_hash")
)


# Verifying -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainState:
    """One verified chain: which, how many events, its first and last hash."""

    chain_id: int
    name: str
    verified: int
    last_hash: str = GENESIS_HASH
    first_hash: str | None = None


@dataclass(frozen=True)
class VerifyResult:
    verified: int  # events verified, in all the chains walked
    first_bad_seq: int | None = None  # in the chain ``chain_id``
    problem: str | None = None
    chain_id: int | None = None  # the chain the problem is in
    chains: tuple[ChainState, ...] = ()  # the chains verified (up to the problem)
    # the problem for people: ``where`` the chain (None: the history as a whole), ``what`` the
    # message, both translatable; ``code`` says which kind of problem, for programs (stable)
    issue: Problem | None = None
    code: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def heads_digest(self) -> str:
        """One hash of every chain's head (for a backup's manifest)."""
        return heads_digest((c.chain_id, c.verified, c.last_hash) for c in self.chains)


# What the verifier finds, by a stable code (``VerifyResult.code``, the API's ``code``).
PROBLEMS = {
    "event_missing": N_("event %(seq)s is missing (next stored is %(next)s)"),
    "event_unlinked": N_(
        "event %(seq)s does not link to event %(previous)s: "
        "an event was removed, inserted or reordered before it"
    ),
    "event_altered_or_moved": N_(
        "event %(seq)s was altered or moved from another chain: its content does not match its hash"
    ),
    "event_altered": N_("event %(seq)s was altered: its content does not match its hash"),
    "event_missing_before": N_("event %(previous)s is missing before event %(seq)s"),
    "checkpoint_other_history": N_(
        "event 1's hash differs from the checkpoint (%(checkpoint)s): the checkpoint is of "
        "another database, or the whole history was rewritten"
    ),
    "checkpoint_rewritten": N_(
        "event %(seq)s's hash differs from the checkpoint (%(checkpoint)s): the history up to "
        "it was rewritten"
    ),
    "checkpoint_cut": N_(
        "the chain ends at %(count)s, before the checkpoint at %(seq)s (%(checkpoint)s): events "
        "were removed"
    ),
    "head_missing": N_("its %(count)s events have no chain head: the head row was removed"),
    "tail_removed": N_(
        "the chain head says %(head)s events but %(count)s are stored: events at the end were "
        "removed"
    ),
    "added_behind_head": N_(
        "the chain head says %(head)s events but %(count)s are stored: events were added behind "
        "the chain head's back"
    ),
    "added_behind_head_events": N_("events were added behind the chain head's back"),
    "proposal_without_history": N_(
        "proposal %(case)s has no history: it was written into the database without an audit event"
    ),
    "proposal_moved": N_(
        "proposal %(case)s's history (event %(event)s) is in another organisation's chain: the "
        "proposal was moved to another organisation without an audit event"
    ),
    "proposal_restored": N_(
        "proposal %(case)s exists, but its history records its deletion (event %(event)s): it "
        "was put back without an audit event"
    ),
    "proposal_state_changed": N_(
        "proposal %(case)s is in state '%(state)s' but its history says '%(recorded)s' "
        "(event %(event)s): its state was changed without an audit event"
    ),
    "proposal_deleted": N_(
        "proposal %(case)s is missing, but its history (event %(event)s) does not record its "
        "deletion: it was deleted without an audit event"
    ),
}
CODES = {template: code for code, template in PROBLEMS.items()}


def found(code: str, **params: str | int) -> Text:
    """The problem ``code`` (of ``PROBLEMS``) with its values."""
    return Text(PROBLEMS[code], params)


def failed(
    verified: int,
    seq: int | None,
    what: Text,
    chain_id: int | None,
    chains: tuple[ChainState, ...] = (),
    where: Text | None = None,
    *,
    code: str | None = None,
) -> VerifyResult:
    """A failed verification: ``what`` is wrong (in ``where``, a chain); ``problem`` is its
    English, as the tests and logs read it."""
    place = str(where) if where is not None else ""
    message = f"{place}: {what}" if place else str(what)
    return VerifyResult(
        verified,
        seq,
        message,
        chain_id,
        chains,
        Problem(place, str(what), where=where, what=what),
        code or CODES.get(what.template),
    )


def heads_digest(heads: Iterable[tuple[int, int, str]]) -> str:
    """SHA-256 of the lines "<chain>:<last seq>:<last hash>", in chain order."""
    lines = "".join(f"{c}:{s}:{h}\n" for c, s, h in sorted(heads))
    return hashlib.sha256(lines.encode()).hexdigest()


def read_heads(session: Session) -> list[tuple[int, int, str]]:
    """Every chain's head row: (chain, last seq, last hash)."""
    query = select(_HEADS.c.chain_id, _HEADS.c.last_seq, _HEADS.c.last_hash)
    return [(c, s, h) for c, s, h in session.execute(query.order_by(_HEADS.c.chain_id))]


@dataclass(frozen=True)
class Anchor:
    """A point a chain must still pass through: event ``seq`` of chain ``chain_id`` with
    ``hash``, as remembered outside the database (a checkpoint file). ``name`` says which, in a
    problem."""

    chain_id: int
    seq: int
    hash: str
    name: str
    first_hash: str | None = None


@contextmanager
def snapshot(bind: Engine | Connection) -> Iterator[Session]:
    """A read-only session whose every query sees one snapshot of the database, however long
    it reads while others commit: on PostgreSQL a ``REPEATABLE READ READ ONLY`` transaction; on
    SQLite one deferred read transaction (in WAL mode its snapshot is fixed by the first read).
    ``bind`` is a connection already in a transaction (the tests' outer one): it is used as is."""
    if isinstance(bind, Connection):
        with Session(bind=bind) as session:
            yield session
        return
    options: dict[str, Any] = {READ_ONLY: True}
    if bind.dialect.name == "postgresql":
        options |= {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    with bind.connect() as connection:
        connection.execution_options(**options)
        with Session(bind=connection) as session:
            yield session


def chain_name(session: Session, chain_id: int) -> str:
    """The chain, for people: "the chain of ESPOO", "the installation's chain"."""
    return str(chain_text(session, chain_id))


def chain_text(session: Session, chain_id: int) -> Text:
    """The chain's name as a translatable message."""
    if chain_id == INSTALLATION_CHAIN:
        return Text(N_("the installation's chain"))
    code = session.execute(
        select(Organisation.code).where(Organisation.id == chain_id)
    ).scalar_one_or_none()
    if code:
        return Text(N_("the chain of %(code)s"), {"code": code})
    return Text(N_("the chain of organisation %(number)s"), {"number": chain_id})


def _chains(session: Session, only: int | None) -> Iterator[tuple[int, int | None, str | None]]:
    """Every chain, in order, with its head (last_seq, last_hash; None without a head row):
    those with a head and those with events (found index-first, one chain at a time, so
    events stored under a chain nobody knows are walked too)."""
    if only is not None:
        head = session.execute(
            select(_HEADS.c.last_seq, _HEADS.c.last_hash).where(_HEADS.c.chain_id == only)
        ).first()
        yield only, head[0] if head else None, head[1] if head else None
        return
    heads = {c: (s, h) for c, s, h in session.execute(select(_HEADS))}
    after = -1
    while True:
        next_events = session.execute(
            select(func.min(_EVENTS.c.chain_id)).where(_EVENTS.c.chain_id > after)
        ).scalar_one_or_none()
        next_head = min((c for c in heads if c > after), default=None)
        candidates = [c for c in (next_events, next_head) if c is not None]
        if not candidates:
            return
        after = min(candidates)
        seq, hash_ = heads.get(after, (None, None))
        yield after, seq, hash_


def verify_chain(
    session: Session,
    batch: int = 5000,
    anchors: Sequence[Anchor] = (),
    chain_id: int | None = None,
) -> VerifyResult:
    """Walk every chain (or only ``chain_id``) in order, in keyset batches, in constant memory.
    Finds the first edited, deleted, inserted or reordered event, an event moved into another
    chain, a tail cut off behind a chain's head, a chain that no longer passes through an
    ``anchor`` (rewritten, or cut back below it), and a proposal whose state is not the one
    its history last recorded. Give it a ``snapshot`` session: a chain read while others
    append is otherwise a moving target."""
    connection = session.connection()
    events_sql = _events_sql(connection.dialect.name)
    done: list[ChainState] = []
    total = 0
    walked: set[int] = set()
    for chain, head_seq, head_hash in _chains(session, chain_id):
        walked.add(chain)
        mine = {a.seq: a for a in anchors if a.chain_id == chain}
        walk = _Walk(chain, mine)
        rows = _stream(connection, events_sql, (chain,), batch, f"eva_verify_{chain}")
        try:
            broken = walk.run(rows)
        finally:
            rows.close()
        if broken is None:
            broken = _head_problem(head_seq, head_hash, walk) or _anchor_problem(mine, walk)
        if broken is not None:
            seq, problem = broken
            where = chain_text(session, chain)
            return failed(total + walk.verified, seq, problem, chain, tuple(done), where)
        total += walk.verified
        done.append(
            ChainState(chain, chain_name(session, chain), walk.verified, walk.prev, walk.first)
        )
    for anchor in anchors:  # a chain the checkpoint knows and the database does not
        if anchor.chain_id not in walked and (chain_id is None or anchor.chain_id == chain_id):
            where = chain_text(session, anchor.chain_id)
            cut = found("checkpoint_cut", count=0, seq=anchor.seq, checkpoint=anchor.name)
            return failed(total, 1, cut, anchor.chain_id, tuple(done), where)
    state = _check_states(session, chain_id, batch)
    if state is not None:
        state_chain, state_seq, state_problem = state
        return failed(total, state_seq, state_problem, state_chain, tuple(done))
    return VerifyResult(total, None, None, None, tuple(done))


def _head_problem(
    head_seq: int | None, head_hash: str | None, walk: _Walk
) -> tuple[int, Text] | None:
    verified = walk.verified
    if head_seq is None:
        if verified == 0:
            return None
        return 1, found("head_missing", count=verified)
    if head_seq > verified:
        return verified + 1, found("tail_removed", head=head_seq, count=verified)
    if head_seq < verified or head_hash != walk.prev:
        return head_seq + 1, found("added_behind_head", head=head_seq, count=verified)
    return None


def _anchor_problem(anchors: dict[int, Anchor], walk: _Walk) -> tuple[int, Text] | None:
    for seq in sorted(anchors):
        if seq > walk.verified:
            return walk.verified + 1, found(
                "checkpoint_cut", count=walk.verified, seq=seq, checkpoint=anchors[seq].name
            )
    return None


def _events_sql(dialect: str) -> str:
    """What a verifier reads of a chain's events, in order: seq, prev_hash, hash and the
    hashed content, rendered by the database as ``content_of`` renders it (each ``HASHED``
    field "-" when NULL, else "<length>:<text>"; the time in UTC as
    "YYYY-MM-DDTHH:MM:SS.ffffff"). The database does that in its own code, while it reads
    the rows; Python only hashes (measured: less CPU on both backends than joining the
    fields in Python)."""
    parts: list[str] = []
    for name in HASHED:
        column = _EVENTS.c[name]
        if name == "occurred_at":
            text_ = (
                "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
                if dialect == "postgresql"
                else "replace(occurred_at, ' ', 'T')"  # stored as UTC "YYYY-MM-DD HH:MM:SS.ffffff"
            )
        elif isinstance(column.type, Integer):
            text_ = f"CAST({name} AS TEXT)"
        else:
            text_ = f'"{name}"'
        parts.append(f"coalesce(CAST(length({text_}) AS TEXT) || ':' || {text_}, '-')")
    mark = "%s" if dialect == "postgresql" else "?"
    return (
        f"SELECT seq, prev_hash, hash, {' || '.join(parts)} FROM {_EVENTS.name} "  # noqa: S608
        f"WHERE chain_id = {mark} ORDER BY seq"
    )


def _stream(
    connection: Connection, sql: str, params: tuple[Any, ...], batch: int, name: str
) -> Generator[Sequence[Any]]:
    """The rows of ``sql``, streamed from the driver's cursor ``batch`` rows at a time (a
    server-side cursor ``name`` on PostgreSQL): constant memory, and no per-row objects but
    the driver's tuples. The connection's transaction (the snapshot) is the one read."""
    postgres = connection.dialect.name == "postgresql"
    raw: Any = connection.connection.driver_connection
    cursor = raw.cursor(name=name) if postgres else raw.cursor()
    try:
        if postgres:
            cursor.itersize = batch
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                return
            yield from rows
    finally:
        cursor.close()


@dataclass
class _Walk:
    chain: int
    anchors: dict[int, Anchor]
    verified: int = 0
    prev: str = GENESIS_HASH
    first: str | None = None

    def run(self, rows: Iterable[Sequence[Any]]) -> tuple[int, Text] | None:
        """Checks sequence, link and hash of each event of the chain (and the anchors'
        hashes), as the rows stream in; stops at the first bad one. A row is the event's seq,
        prev_hash, hash and hashed content (``_events_sql``)."""
        sha256 = hashlib.sha256
        link = f"|{self.chain}:"
        prev, expected = self.prev, self.verified + 1
        try:
            for seq, prev_hash, hash_, content in rows:
                if seq != expected:
                    return expected, found("event_missing", seq=expected, next=seq)
                if prev_hash != prev:
                    return seq, found("event_unlinked", seq=seq, previous=seq - 1)
                if sha256(f"{content}{link}{seq}:{prev}".encode()).hexdigest() != hash_:
                    return seq, found("event_altered_or_moved", seq=seq)
                if self.anchors:
                    problem = self._anchor(seq, hash_)
                    if problem is not None:
                        return seq, problem
                if seq == 1:
                    self.first = hash_
                prev, expected = hash_, seq + 1
                self.verified = seq
            return None
        finally:
            self.prev = prev

    def _anchor(self, seq: int, hash_: str) -> Text | None:
        if seq == 1:
            for other in self.anchors.values():
                if other.first_hash is not None and other.first_hash != hash_:
                    return found("checkpoint_other_history", checkpoint=other.name)
        anchor = self.anchors.get(seq)
        if anchor is not None and anchor.hash != hash_:
            return found("checkpoint_rewritten", seq=seq, checkpoint=anchor.name)
        return None


@dataclass
class _Recorded:
    """What the history last recorded of one proposal: its state (None once deleted), the
    chain and event that recorded it, and its case number."""

    state: str | None
    chain: int
    seq: int
    case_number: str | None


def _fold(known: _Recorded | None, pending: list[tuple[int, int, str]]) -> _Recorded | None:
    """``known`` moved on by ``pending`` (chain, seq, after) events of one proposal, in order,
    each naming its state or case number: the state of the last that has one (and its seq),
    the case number of the last that has one, the chain of the last. Read from the end, so
    only those two events are parsed, not every transition of the proposal."""
    if not pending:
        return known
    state, at = (known.state, known.seq) if known else (None, pending[0][1])
    case_number = known.case_number if known else None
    found_state = found_case = False
    for _, seq, after in reversed(pending):
        data = json.loads(after)
        if not found_state and "state" in data:
            state, at, found_state = data["state"], seq, True
        if not found_case and "case_number" in data:
            case_number, found_case = data["case_number"], True
        if found_state and found_case:
            break
    return _Recorded(state, pending[-1][0], at, case_number)


def _proposal_histories(
    session: Session, chain_id: int | None, batch: int
) -> Generator[tuple[int, _Recorded]]:
    """Per proposal (in id order), what its events last recorded: read from the events of
    entity type proposal in (proposal, chain, position) order, one proposal at a time,
    streamed from the driver's cursor."""
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    sql = (
        f"SELECT proposal_id, chain_id, seq, after, before IS NOT NULL FROM {_EVENTS.name} "  # noqa: S608
        f"WHERE entity_type = {mark} AND proposal_id IS NOT NULL"
        + (f" AND chain_id = {mark}" if chain_id is not None else "")
        + " ORDER BY proposal_id, chain_id, seq"
    )
    params = ("proposal",) if chain_id is None else ("proposal", chain_id)
    current: int | None = None
    known: _Recorded | None = None
    pending: list[tuple[int, int, str]] = []
    for proposal_id, chain, seq, after, had_before in _stream(
        connection, sql, params, batch, "eva_verify_states"
    ):
        if proposal_id != current:
            known = _fold(known, pending)
            if current is not None and known is not None:
                yield current, known
            current, known, pending = proposal_id, None, []
        if after is None:  # deleted
            if had_before:
                known = _fold(known, pending)
                pending = []
                known = _Recorded(None, chain, seq, known.case_number if known else None)
            continue
        if '"state"' in after or '"case_number"' in after:
            pending.append((chain, seq, after))
    known = _fold(known, pending)
    if current is not None and known is not None:
        yield current, known


def _check_states(
    session: Session, chain_id: int | None, batch: int
) -> tuple[int | None, int | None, Text] | None:
    """Every proposal's state must be the one its history last recorded (its creation, or the
    transition that last moved it), in its organisation's chain: a state written into the
    table without going through eva leaves no event. Both sides are read in proposal order
    and compared as they go, in constant memory. Returns (chain, event, problem)."""
    if chain_id == INSTALLATION_CHAIN:
        return None
    query = select(
        Proposal.id, Proposal.case_number, Proposal.state, Proposal.organisation_id
    ).order_by(Proposal.id)
    if chain_id is not None:
        query = query.where(Proposal.organisation_id == chain_id)
    proposals = session.execute(query.execution_options(yield_per=batch))
    histories = _proposal_histories(session, chain_id, batch)
    pending = next(histories, None)
    try:
        for proposal_id, case_number, state, organisation_id in proposals:
            while pending is not None and pending[0] < proposal_id:
                problem = _deleted_unrecorded(pending[1])
                if problem is not None:
                    return problem
                pending = next(histories, None)
            known = pending[1] if pending is not None and pending[0] == proposal_id else None
            if known is not None:
                pending = next(histories, None)
            problem = _state_problem(case_number, state, organisation_id, known)
            if problem is not None:
                return problem
        while pending is not None:
            problem = _deleted_unrecorded(pending[1])
            if problem is not None:
                return problem
            pending = next(histories, None)
    finally:
        proposals.close()
        histories.close()
    return None


def _state_problem(
    case_number: str, state: str, organisation_id: int, known: _Recorded | None
) -> tuple[int | None, int | None, Text] | None:
    if known is None:
        return (
            organisation_id,
            None,
            found("proposal_without_history", case=case_number),
        )
    if known.chain != organisation_id:
        return (
            known.chain,
            known.seq,
            found("proposal_moved", case=case_number, event=known.seq),
        )
    if known.state is None:
        return (
            known.chain,
            known.seq,
            found("proposal_restored", case=case_number, event=known.seq),
        )
    if known.state != state:
        return (
            known.chain,
            known.seq,
            found(
                "proposal_state_changed",
                case=case_number,
                state=state,
                recorded=known.state,
                event=known.seq,
            ),
        )
    return None


def _deleted_unrecorded(known: _Recorded) -> tuple[int | None, int | None, Text] | None:
    if known.state is None:
        return None
    return (
        known.chain,
        known.seq,
        found("proposal_deleted", case=known.case_number or "", event=known.seq),
    )


def verify_events(session: Session, events: Sequence[AuditEvent]) -> VerifyResult:
    """Check some events (one proposal's, say) without walking their chains: each one's
    content against its hash, and its link to the event before it in its chain. Finds an
    edit of these events, and a deletion, insertion or reordering just before any of them;
    only ``verify_chain`` proves a whole chain."""
    if not events:
        return VerifyResult(0)
    wanted: dict[int, set[int]] = {}
    for ev in events:
        if ev.seq > 1:
            wanted.setdefault(ev.chain_id, set()).add(ev.seq - 1)
    previous: dict[tuple[int, int], str] = {}
    for chain, seqs in wanted.items():
        for chunk in _chunks(sorted(seqs), 500):
            rows = session.execute(
                select(_EVENTS.c.seq, _EVENTS.c.hash).where(
                    _EVENTS.c.chain_id == chain, _EVENTS.c.seq.in_(chunk)
                )
            )
            previous.update(((chain, seq), hash_) for seq, hash_ in rows)
    ordered = sorted(events, key=lambda e: (e.chain_id, e.seq))
    for count, ev in enumerate(ordered):
        before = GENESIS_HASH if ev.seq == 1 else previous.get((ev.chain_id, ev.seq - 1))
        problem = None
        if event_hash(ev) != ev.hash:
            problem = found("event_altered", seq=ev.seq)
        elif before is None:
            problem = found("event_missing_before", seq=ev.seq, previous=ev.seq - 1)
        elif before != ev.prev_hash:
            problem = found("event_unlinked", seq=ev.seq, previous=ev.seq - 1)
        if problem is not None:
            return failed(count, ev.seq, problem, ev.chain_id)
    for chain in {ev.chain_id for ev in events}:
        last = max(ev.seq for ev in events if ev.chain_id == chain)
        head = session.get(AuditChainHead, chain)
        if head is None or head.last_seq < last:
            return failed(len(events), last, found("added_behind_head_events"), chain)
    return VerifyResult(len(events))


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
