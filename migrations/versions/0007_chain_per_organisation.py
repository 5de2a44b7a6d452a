"""One audit chain per organisation, and one for the installation.

Every event moves into the chain of its organisation (``chain_id`` = its ``organisation_id``;
events without one into the installation's chain, 0), numbered 1, 2, … in that chain in their
old order, and is re-linked and re-hashed in the chain format of eva 0007 (docs/audit.md). The
head table gets one row per chain.

Before anything moves, the old single chain is verified end to end (sequence, links, hashes,
its head): a broken chain is never re-sealed, since that would hide the tampering. The upgrade
then stops with the first bad event named, and changes nothing. After the move every new chain
is verified again, and each chain records what was done in an ``audit.chain_migrated`` event
(how many events, which old positions, the old chain's head); the installation's chain also
lists every chain made. Old checkpoints anchor the old chain: check them before upgrading and
write new ones right after (docs/audit.md, "Upgrading to one chain per organisation").

The downgrade does the reverse: it verifies every chain, then merges them into one chain in the
order of their times (each chain's own order kept), re-linked in the old format.

Revision ID: c3a9e5f1d7b2
Revises: b1e7c4d2a906
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "c3a9e5f1d7b2"
down_revision: str | None = "b1e7c4d2a906"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
BATCH = 2000
INSTALLATION = 0
# The fields an event's content is made of, in the hashed order (both formats).
FIELDS = (
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
COLUMNS = (*FIELDS, "prev_hash", "hash")

APPEND_ONLY_SQLITE = [
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: events cannot be changed'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: events cannot be deleted'); END""",
    """CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
       BEGIN SELECT RAISE(ABORT, 'the audit chain head cannot be deleted'); END""",
]
APPEND_ONLY_POSTGRESQL = [
    """CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
       FOR EACH ROW EXECUTE FUNCTION eva_refuse_change()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
       FOR EACH STATEMENT EXECUTE FUNCTION eva_refuse_change()""",
    """CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE OR TRUNCATE ON audit_chain_head
       FOR EACH STATEMENT EXECUTE FUNCTION eva_refuse_change()""",
]
INDEXES = {
    "ix_audit_events_entity": ["entity_type", "entity_id"],
    "ix_audit_events_occurred_at": ["occurred_at"],
    "ix_audit_events_organisation_id": ["organisation_id"],
    "ix_audit_events_proposal": ["proposal_id", "seq"],
}


class ChainBroken(RuntimeError):
    """The chain to be moved does not verify: the migration stops and changes nothing."""


# the two hash formats ----------------------------------------------------------------------------
def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def hash_v1(seq: int, prev_hash: str, row: Any) -> str:
    """The single chain's format: SHA-256 of the canonical JSON of the fields, seq and link."""
    content = {name: getattr(row, name) for name in FIELDS}
    content |= {
        "seq": seq,
        "prev_hash": prev_hash,
        "occurred_at": _utc(row.occurred_at).isoformat(timespec="microseconds"),
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _field(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        value = _utc(value).strftime("%Y-%m-%dT%H:%M:%S.%f")
    text = str(value)
    return f"{len(text)}:{text}"


def hash_v2(chain: int, seq: int, prev_hash: str, row: Any) -> str:
    """The per-chain format: SHA-256 of the length-prefixed fields, then the link."""
    content = "".join(_field(getattr(row, name)) for name in FIELDS)
    return hashlib.sha256(f"{content}|{chain}:{seq}:{prev_hash}".encode()).hexdigest()


# tables ------------------------------------------------------------------------------------------
def _event_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=120), nullable=False),
        sa.Column("actor_role", sa.String(length=40), nullable=True),
        sa.Column("client", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
    ]


def _create_events(per_chain: bool) -> sa.Table:
    keys = [sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False)]
    primary = ["seq"]
    if per_chain:
        keys.insert(0, sa.Column("chain_id", sa.Integer(), autoincrement=False, nullable=False))
        primary = ["chain_id", "seq"]
    table = op.create_table(
        "audit_events",
        *keys,
        *_event_columns(),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name="fk_audit_events_actor_id_users"),
        sa.PrimaryKeyConstraint(*primary, name="pk_audit_events"),
        sa.UniqueConstraint("hash", name="uq_audit_events_hash"),
    )
    if table is None:  # pragma: no cover - alembic returns the table it made
        raise RuntimeError("the table was not made")
    return table


def _create_heads(per_chain: bool) -> sa.Table:
    key = "chain_id" if per_chain else "id"
    constraints: list[Any] = [sa.PrimaryKeyConstraint(key, name="pk_audit_chain_head")]
    if not per_chain:
        constraints.append(sa.CheckConstraint("id = 1", name="ck_audit_chain_head_single_row"))
    table = op.create_table(
        "audit_chain_head",
        sa.Column(key, sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        *constraints,
    )
    if table is None:  # pragma: no cover - alembic returns the table it made
        raise RuntimeError("the table was not made")
    return table


def _set_aside(dialect: str) -> tuple[sa.Table, sa.Table]:
    """Rename the current tables out of the way (their triggers and indexes go with them or
    are dropped), so the new ones can take the names."""
    if dialect == "postgresql":
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER audit_chain_head_no_delete ON audit_chain_head")
    else:
        for name in (
            "audit_events_no_update",
            "audit_events_no_delete",
            "audit_chain_head_no_delete",
        ):
            op.execute(f"DROP TRIGGER {name}")
    for name in INDEXES:
        op.drop_index(name, table_name="audit_events")
    op.rename_table("audit_events", "audit_events_old")
    op.rename_table("audit_chain_head", "audit_chain_head_old")
    if dialect == "postgresql":
        for table, constraint in (
            ("audit_events_old", "pk_audit_events"),
            ("audit_events_old", "uq_audit_events_hash"),
            ("audit_events_old", "fk_audit_events_actor_id_users"),
            ("audit_chain_head_old", "pk_audit_chain_head"),
        ):
            op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {constraint} TO {constraint}_old")
    metadata = sa.MetaData()
    bind = op.get_bind()
    return (
        sa.Table("audit_events_old", metadata, autoload_with=bind),
        sa.Table("audit_chain_head_old", metadata, autoload_with=bind),
    )


def _finish(dialect: str) -> None:
    op.drop_table("audit_events_old")
    op.drop_table("audit_chain_head_old")
    for name, columns in INDEXES.items():
        op.create_index(name, "audit_events", columns)
    for statement in APPEND_ONLY_POSTGRESQL if dialect == "postgresql" else APPEND_ONLY_SQLITE:
        op.execute(statement)


def _batches(table: sa.Table, where: Any = None, size: int = BATCH) -> Iterator[Any]:
    """The rows of ``table`` in order of ``seq`` (within one chain: ``where``), in keyset
    batches."""
    bind = op.get_bind()
    after = 0
    while True:
        query = sa.select(table).where(table.c.seq > after).order_by(table.c.seq).limit(size)
        if where is not None:
            query = query.where(where)
        rows = bind.execute(query).all()
        yield from rows
        if len(rows) < size:
            return
        after = rows[-1].seq


class _Writer:
    """Inserts rows in batches."""

    def __init__(self, table: sa.Table) -> None:
        self.table, self.rows = table, list[dict[str, Any]]()

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            op.get_bind().execute(sa.insert(self.table), self.rows)
            self.rows = []


def _record(
    chain: int, seq: int, prev: str, after: dict[str, Any], now: datetime
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "occurred_at": now,
        "actor_id": None,
        "actor_name": "system",
        "actor_role": None,
        "client": "migration 0007",
        "action": "audit.chain_migrated",
        "entity_type": "audit_chain",
        "entity_id": str(chain),
        "organisation_id": None if chain == INSTALLATION else chain,
        "proposal_id": None,
        "before": None,
        "after": json.dumps(after, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        "reason": "one audit chain per organisation (migration 0007)",
    }
    row |= {"chain_id": chain, "seq": seq, "prev_hash": prev}
    row["hash"] = hash_v2(chain, seq, prev, _Obj(row))
    return row


class _Obj:
    """A new row's values as attributes, like a fetched row's."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


class _Owners:
    """Which chain an old event goes to: its organisation's; for an entity that names none,
    its proposal's organisation's (directly, or through its assessment), an API token's its
    user's home organisation's; else the installation's."""

    def __init__(self, bind: sa.Connection) -> None:
        def pairs(sql: str) -> dict[int, int]:
            return {a: b for a, b in bind.execute(sa.text(sql)) if b is not None}

        self.proposals = pairs("SELECT id, organisation_id FROM proposals")
        self.assessments = pairs("SELECT id, proposal_id FROM assessments")
        self.via_assessment = {
            "answer": pairs("SELECT id, assessment_id FROM answers"),
            "alternative": pairs("SELECT id, assessment_id FROM alternatives"),
        }
        users = pairs("SELECT id, organisation_id FROM users")
        tokens = pairs("SELECT id, user_id FROM api_tokens")
        self.tokens = {t: users[u] for t, u in tokens.items() if u in users}

    def chain(self, row: Any) -> int:
        if row.organisation_id is not None:
            return int(row.organisation_id)
        proposal = row.proposal_id
        entity = int(row.entity_id) if row.entity_id.isdigit() else None
        if proposal is None and entity is not None and row.entity_type in self.via_assessment:
            proposal = self.assessments.get(self.via_assessment[row.entity_type].get(entity, -1))
        if proposal is not None:
            return self.proposals.get(proposal, INSTALLATION)
        if row.entity_type == "api_token" and entity is not None:
            return self.tokens.get(entity, INSTALLATION)
        return INSTALLATION


# upgrade -----------------------------------------------------------------------------------------
def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    old_events, old_head = _set_aside(dialect)
    events = _create_events(per_chain=True)
    heads = _create_heads(per_chain=True)
    bind = op.get_bind()
    head = bind.execute(sa.select(old_head.c.last_seq, old_head.c.last_hash)).first()
    head_seq, head_hash = (head[0], head[1]) if head else (0, GENESIS)
    chains: dict[int, list[Any]] = {}  # chain: [seq, hash, old first seq, old last seq]
    owners = _Owners(bind)
    writer = _Writer(events)
    expected, prev = 1, GENESIS
    for row in _batches(old_events):
        if row.seq != expected:
            raise ChainBroken(f"event {expected} is missing (next stored is {row.seq})")
        if row.prev_hash != prev or hash_v1(row.seq, prev, row) != row.hash:
            raise ChainBroken(f"event {row.seq} was altered, or does not link to the one before")
        chain = owners.chain(row)
        state = chains.setdefault(chain, [0, GENESIS, row.seq, row.seq])
        new = {name: getattr(row, name) for name in FIELDS}
        new |= {"chain_id": chain, "seq": state[0] + 1, "prev_hash": state[1]}
        new["hash"] = hash_v2(chain, new["seq"], state[1], _Obj(new))
        writer.add(new)
        state[0], state[1], state[3] = new["seq"], new["hash"], row.seq
        expected, prev = row.seq + 1, row.hash
    if (expected - 1, prev) != (head_seq, head_hash):
        raise ChainBroken(
            f"the chain head says {head_seq} events but {expected - 1} are stored, or its hash "
            "differs: events were removed or added behind its back"
        )
    old = {"seq": head_seq, "hash": head_hash}
    now = datetime.now(UTC)
    chains.setdefault(INSTALLATION, [0, GENESIS, None, None])
    summary = {str(c): s[0] for c, s in sorted(chains.items())}
    for chain, state in sorted(chains.items()):
        after: dict[str, Any] = {
            "events": state[0],
            "old_seqs": None if state[2] is None else [state[2], state[3]],
            "old_head": old,
        }
        if chain == INSTALLATION:
            after["chains"] = summary
        record = _record(chain, state[0] + 1, state[1], after, now)
        writer.add(record)
        state[0], state[1] = record["seq"], record["hash"]
    writer.flush()
    bind.execute(
        sa.insert(heads),
        [{"chain_id": c, "last_seq": s[0], "last_hash": s[1]} for c, s in sorted(chains.items())],
    )
    for chain, state in sorted(chains.items()):
        _verify_v2(events, chain, state[0], state[1])
    _finish(dialect)


def _verify_v2(events: sa.Table, chain: int, head_seq: int, head_hash: str) -> None:
    expected, prev = 1, GENESIS
    for row in _batches(events, events.c.chain_id == chain):
        if row.seq != expected or row.prev_hash != prev:
            raise ChainBroken(f"chain {chain}: event {expected} is missing or does not link")
        if hash_v2(chain, row.seq, prev, row) != row.hash:
            raise ChainBroken(f"chain {chain}: event {row.seq} does not match its hash")
        expected, prev = row.seq + 1, row.hash
    if (expected - 1, prev) != (head_seq, head_hash):
        raise ChainBroken(f"chain {chain}: the head does not match the events")


# downgrade ---------------------------------------------------------------------------------------
def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    bind = op.get_bind()
    old_events, old_head = _set_aside(dialect)
    heads = {c: (s, h) for c, s, h in bind.execute(sa.select(old_head))}
    chains = sorted(
        {*heads, *(c for (c,) in bind.execute(sa.select(old_events.c.chain_id).distinct()))}
    )
    for chain in chains:
        seq, hash_ = heads.get(chain, (0, GENESIS))
        _verify_v2(old_events, chain, seq, hash_)
    events = _create_events(per_chain=False)
    head_table = _create_heads(per_chain=False)
    streams = [_batches(old_events, old_events.c.chain_id == chain, size=200) for chain in chains]
    writer = _Writer(events)
    seq, prev = 0, GENESIS
    for row in heapq.merge(*streams, key=lambda r: (_utc(r.occurred_at), r.chain_id)):
        seq += 1
        new = {name: getattr(row, name) for name in FIELDS}
        new |= {"seq": seq, "prev_hash": prev}
        new["hash"] = hash_v1(seq, prev, _Obj(new))
        writer.add(new)
        prev = new["hash"]
    writer.flush()
    bind.execute(sa.insert(head_table), [{"id": 1, "last_seq": seq, "last_hash": prev}])
    _finish(dialect)
