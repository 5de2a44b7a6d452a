"""The audit history: captured from the session (not written by hand in each service), sealed
into a SHA-256 hash chain when the unit of work commits, and verified end to end."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, event, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

from eva_engine.db.engine import READ_ONLY
from eva_engine.models import (
    GENESIS_HASH,
    AuditChainHead,
    Audited,
    AuditEvent,
    Proposal,
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
            ),
        )


def install_audit_hooks(session_class: type[Session]) -> None:
    if not event.contains(session_class, "after_flush", _after_flush):
        event.listen(session_class, "after_flush", _after_flush)


def event_hash(event_: AuditEvent) -> str:
    content = {
        "seq": event_.seq,
        "occurred_at": jsonable(event_.occurred_at),
        "actor_id": event_.actor_id,
        "actor_name": event_.actor_name,
        "actor_role": event_.actor_role,
        "client": event_.client,
        "action": event_.action,
        "entity_type": event_.entity_type,
        "entity_id": event_.entity_id,
        "organisation_id": event_.organisation_id,
        "proposal_id": event_.proposal_id,
        "before": event_.before,
        "after": event_.after,
        "reason": event_.reason,
        "prev_hash": event_.prev_hash,
    }
    return hashlib.sha256(canonical(content).encode()).hexdigest()


def seal(session: Session) -> int:
    """Append the pending events to the chain. Locks the chain head row until commit, so
    concurrent writers append one after another. Returns how many events were written."""
    ctx: AuditContext | None = session.info.get(AUDIT_KEY)
    if ctx is None or not ctx.pending:
        return 0
    head = session.execute(
        select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
    ).scalar_one()
    now = utcnow()
    count = 0
    for pending in ctx.pending:
        ev = AuditEvent(
            seq=head.last_seq + 1,
            occurred_at=now,
            actor_id=ctx.actor.user_id,
            actor_name=ctx.actor.name,
            actor_role=pending.role,
            client=ctx.actor.client,
            action=pending.action,
            entity_type=pending.entity_type,
            entity_id=pending.entity_id,
            organisation_id=pending.organisation_id,
            proposal_id=pending.proposal_id,
            before=None if pending.before is None else canonical(pending.before),
            after=None if pending.after is None else canonical(pending.after),
            reason=pending.reason,
            prev_hash=head.last_hash,
        )
        ev.hash = event_hash(ev)
        session.add(ev)
        head.last_seq = ev.seq
        head.last_hash = ev.hash
        count += 1
    ctx.sealed()
    session.flush()
    return count


@dataclass(frozen=True)
class VerifyResult:
    verified: int
    first_bad_seq: int | None = None
    problem: str | None = None
    last_hash: str = GENESIS_HASH  # of the last event verified (the head's, when ok)
    first_hash: str | None = None  # of event 1: which chain this is

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Anchor:
    """A point the chain must still pass through: event ``seq`` with ``hash``, as remembered
    outside the database (a checkpoint file). ``name`` says which, in a problem."""

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


def verify_chain(
    session: Session, batch: int = 2000, anchors: Sequence[Anchor] = ()
) -> VerifyResult:
    """Walk the whole chain in order, in constant memory. Finds the first edited, deleted,
    inserted or reordered event, a tail cut off behind the chain head, a chain that no longer
    passes through an ``anchor`` (rewritten, or cut back below it), and a proposal whose state
    is not the one its history last recorded. Give it a ``snapshot`` session: a chain read
    while others append is otherwise a moving target."""
    head = session.get(AuditChainHead, 1)  # read first: the snapshot holds it and the events
    walk = _Walk({a.seq: a for a in anchors})
    result = session.execute(
        select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    )
    try:
        broken = walk.run(session, result.scalars())
    finally:
        result.close()  # a server-side cursor on PostgreSQL: never leave it open
    if broken is not None:
        return broken
    problem = _head_problem(head, walk.verified, walk.prev) or _anchor_problem(
        anchors, walk.verified
    )
    if problem is not None:
        return walk.result(*problem)
    state_problem = _check_states(session, walk.states, batch)
    if state_problem is not None:
        return walk.result(*state_problem)
    return walk.result(None, None)


def _head_problem(
    head: AuditChainHead | None, verified: int, prev: str
) -> tuple[int | None, str] | None:
    if head is None:
        return None, "the chain head row is missing"
    if head.last_seq > verified:
        return verified + 1, (
            f"the chain head says {head.last_seq} events but {verified} are stored: "
            "events at the end were removed"
        )
    if head.last_seq < verified or head.last_hash != prev:
        return head.last_seq + 1, (
            f"the chain head says {head.last_seq} events but {verified} are stored: "
            "events were added behind the chain head's back"
        )
    return None


def _anchor_problem(anchors: Sequence[Anchor], verified: int) -> tuple[int, str] | None:
    for anchor in sorted(anchors, key=lambda a: a.seq):
        if anchor.seq > verified:
            return verified + 1, (
                f"the chain ends at {verified}, before the checkpoint at {anchor.seq} "
                f"({anchor.name}): events were removed"
            )
    return None


@dataclass
class _Recorded:
    """What the history last recorded of one proposal: its state (None once deleted), the
    event that recorded it, and its case number."""

    state: str | None
    seq: int
    case_number: str | None


@dataclass
class _Walk:
    anchors: dict[int, Anchor]
    verified: int = 0
    prev: str = GENESIS_HASH
    first_hash: str | None = None
    states: dict[int, _Recorded] = field(default_factory=dict)

    def result(self, first_bad_seq: int | None, problem: str | None) -> VerifyResult:
        return VerifyResult(self.verified, first_bad_seq, problem, self.prev, self.first_hash)

    def run(self, session: Session, stream: Iterable[AuditEvent]) -> VerifyResult | None:
        """Checks sequence, link and hash of each event (and the anchors' hashes); stops at the
        first bad one."""
        for ev in stream:
            problem = self._problem(ev)
            if problem is not None:
                return self.result(self.verified + 1, problem)
            if ev.seq == 1:
                self.first_hash = ev.hash
            if ev.entity_type == "proposal":
                self._note_proposal(ev)
            self.prev = ev.hash
            self.verified = ev.seq
            session.expunge(ev)
        return None

    def _problem(self, ev: AuditEvent) -> str | None:
        expected_seq = self.verified + 1
        if ev.seq != expected_seq:
            return f"event {expected_seq} is missing (next stored is {ev.seq})"
        if ev.prev_hash != self.prev:
            return (
                f"event {ev.seq} does not link to event {ev.seq - 1}: "
                "an event was removed, inserted or reordered before it"
            )
        if event_hash(ev) != ev.hash:
            return f"event {ev.seq} was altered: its content does not match its hash"
        if ev.seq == 1:
            for other in self.anchors.values():
                if other.first_hash is not None and other.first_hash != ev.hash:
                    return (
                        f"event 1's hash differs from the checkpoint ({other.name}): the "
                        "checkpoint is of another database, or the whole history was rewritten"
                    )
        anchor = self.anchors.get(ev.seq)
        if anchor is not None and anchor.hash != ev.hash:
            return (
                f"event {ev.seq}'s hash differs from the checkpoint ({anchor.name}): the "
                "history up to it was rewritten"
            )
        return None

    def _note_proposal(self, ev: AuditEvent) -> None:
        try:
            proposal_id = int(ev.entity_id)
        except ValueError:  # not a proposal row's event
            return
        known = self.states.get(proposal_id)
        if ev.after is None:  # deleted
            if ev.before is not None:
                case = known.case_number if known else None
                self.states[proposal_id] = _Recorded(None, ev.seq, case)
            return
        if '"state"' not in ev.after and '"case_number"' not in ev.after:
            return
        after = json.loads(ev.after)
        state = after.get("state", known.state if known else None)
        case_number = after.get("case_number", known.case_number if known else None)
        seq = ev.seq if "state" in after else (known.seq if known else ev.seq)
        self.states[proposal_id] = _Recorded(state, seq, case_number)


def _check_states(
    session: Session, recorded: dict[int, _Recorded], batch: int
) -> tuple[int | None, str] | None:
    """Every proposal's state must be the one its history last recorded (its creation, or the
    transition that last moved it): a state written into the table without going through eva
    leaves no event. Memory grows with the number of proposals, not of events."""
    rows = session.execute(
        select(Proposal.id, Proposal.case_number, Proposal.state)
        .order_by(Proposal.id)
        .execution_options(yield_per=batch)
    )
    try:
        for proposal_id, case_number, state in rows:
            known = recorded.pop(proposal_id, None)
            if known is None:
                return None, (
                    f"proposal {case_number} has no history: it was written into the "
                    "database without an audit event"
                )
            if known.state is None:
                return known.seq, (
                    f"proposal {case_number} exists, but its history records its deletion "
                    f"(event {known.seq}): it was put back without an audit event"
                )
            if known.state != state:
                return known.seq, (
                    f"proposal {case_number} is in state '{state}' but its history says "
                    f"'{known.state}' (event {known.seq}): its state was changed without an "
                    "audit event"
                )
    finally:
        rows.close()
    for known in recorded.values():
        if known.state is not None:
            return known.seq, (
                f"proposal {known.case_number} is missing, but its history (event "
                f"{known.seq}) does not record its deletion: it was deleted without an audit "
                "event"
            )
    return None


def verify_events(session: Session, events: Sequence[AuditEvent]) -> VerifyResult:
    """Check some events (one proposal's, say) without walking the whole chain: each one's
    content against its hash, and its link to the event before it in the chain. Finds an edit
    of these events, and a deletion, insertion or reordering just before any of them; only
    ``verify_chain`` proves the whole chain."""
    if not events:
        return VerifyResult(0)
    wanted = {ev.seq - 1 for ev in events if ev.seq > 1}
    previous: dict[int, str] = {}
    for chunk in _chunks(sorted(wanted), 500):
        rows = session.execute(
            select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_(chunk))
        )
        previous.update((seq, hash_) for seq, hash_ in rows)
    previous[0] = GENESIS_HASH
    for count, ev in enumerate(sorted(events, key=lambda e: e.seq)):
        problem = None
        if event_hash(ev) != ev.hash:
            problem = f"event {ev.seq} was altered: its content does not match its hash"
        elif ev.seq - 1 not in previous:
            problem = f"event {ev.seq - 1} is missing before event {ev.seq}"
        elif previous[ev.seq - 1] != ev.prev_hash:
            problem = (
                f"event {ev.seq} does not link to event {ev.seq - 1}: "
                "an event was removed, inserted or reordered before it"
            )
        if problem is not None:
            return VerifyResult(count, ev.seq, problem)
    head = session.get(AuditChainHead, 1)
    last = max(ev.seq for ev in events)
    if head is None or head.last_seq < last:
        return VerifyResult(len(events), last, "events were added behind the chain head's back")
    return VerifyResult(len(events))


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
