"""Workflow transitions per second through the engine, next to the same writes done with Core.

For each backend (SQLite in a temporary file; PostgreSQL in a database created for the run and
dropped at the end) the benchmark migrates a fresh database, publishes the shipped workflows,
builds a small organisation through the services and creates N proposals, each with a LIGHT
screening and a complete assessment (two alternatives, every required question answered).

The engine: ``eva_engine.services.steps.transitions.fire`` walks every proposal along the normal
path (start_screening, begin_assessment, submit_for_review, pass_review by a secretary, sign_off
by the presenter), in a fixed, seeded interleaving of the proposals. Each call is one full unit
of work: permission, guards (submit_for_review checks the completeness of the answers), state
change, effects on assignments, audit events sealed into the hash chain, commit.

The baseline: in the same database and on the same SQLAlchemy engine, the same writes done
with plain SQLAlchemy Core, one transaction per transition: for each step the rows the engine
wrote for that step (measured on a warm-up proposal: the proposal's UPDATE, the tasks it
closes and opens, its outbox rows, its audit events and the chain head's UPDATE), into
scratch copies of those tables (same columns and indexes, no triggers), committed. Nothing is
read, checked or hashed. The two are timed in alternating blocks of 100 transitions, so that
both see the same machine at the same time.

The statements of each step are counted on the warm-up proposal (``before_cursor_execute``,
less BEGIN/COMMIT/SAVEPOINT): all of them, and the writes among them.

The ratios are the engine's CPU time (and wall time) per transition divided by the
baseline's. The audit chain is verified at the end of each backend's run; a broken chain fails
the benchmark.

Run: ``.venv/bin/python -m bench.transitions [--backend sqlite|postgresql|both]
[--proposals N] [--json]``. PostgreSQL comes from EVA_BENCH_POSTGRES_URL (an administrative
URL on this machine; default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy
from sqlalchemy import (
    Column,
    Engine,
    Index,
    MetaData,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from eva_engine.config import default_workflows_dir
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.models import (
    Assignment,
    AuditChainHead,
    AuditEvent,
    OutboxMessage,
    Proposal,
    utcnow,
)
from eva_engine.services import definitions
from eva_engine.services.assessment import documents, screening
from eva_engine.services.history import trail
from eva_engine.services.people import organisations, users
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import Role, ScreeningOutcome

PG_ENV = "EVA_BENCH_POSTGRES_URL"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
LOOPBACK = frozenset({None, "", "127.0.0.1", "localhost", "::1"})
BACKENDS = ("sqlite", "postgresql")
SEED = 20261123
BLOCK = 100  # transitions, then as many same-writes transactions, then the next block

ORG = "penkkila"
BODY = "HYVLTK"
OPERATOR = Caller(None, "bench")
PREPARER, PRESENTER, SECRETARY = "prep", "pres", "sec"
PEOPLE: dict[str, Role] = {
    PREPARER: Role.PREPARER,
    PRESENTER: Role.PRESENTER,
    SECRETARY: Role.SECRETARY,
}

# The normal path from draft to signed_off, with who fires each step.
PATH: tuple[tuple[str, str], ...] = (
    ("start_screening", PREPARER),
    ("begin_assessment", PREPARER),
    ("submit_for_review", PREPARER),
    ("pass_review", SECRETARY),
    ("sign_off", PRESENTER),
)

CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")
WRITES = ("INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class Latency:
    count: int
    median_ms: float
    p95_ms: float


@dataclass(frozen=True)
class Statements:
    """What one step sent to the database: statements in all, and the writes among them."""

    statements: int
    writes: int

    @property
    def beyond_writes(self) -> int:
        return self.statements - self.writes


@dataclass(frozen=True)
class Shape:
    """The rows one step wrote: what the same-writes baseline writes again."""

    events: int = 0
    outbox: int = 0
    opened: int = 0
    closed: int = 0


@dataclass
class RunResult:
    backend: str
    server: str
    proposals: int
    transitions: int
    seconds: float
    transitions_per_s: float
    median_ms: float
    p95_ms: float
    cpu_ms: float  # CPU time of this process per transition (SQLite's work included, not PG's)
    audit_events: int
    core_transactions: int  # the same writes with plain SQLAlchemy Core, as many transactions
    core_seconds: float
    core_tx_per_s: float
    core_cpu_ms: float
    cpu_ratio: float  # engine CPU per transition / the same writes' CPU
    ratio: float  # the same for wall time
    setup_seconds: float
    chain_verified: int
    chain_verify_seconds: float  # walking the whole chain (eva audit verify)
    proposal_verify_ms: float  # median: one proposal's own events (its history page)
    per_trigger: dict[str, Latency] = field(default_factory=dict)
    statements: dict[str, Statements] = field(default_factory=dict)
    python: str = platform.python_version()
    sqlalchemy: str = sqlalchemy.__version__
    machine: str = platform.platform()
    cpu_count: int | None = os.cpu_count()


# Databases -----------------------------------------------------------------------------------


def postgres_admin_url() -> URL:
    url = make_url(os.environ.get(PG_ENV, DEFAULT_PG))
    if url.host not in LOOPBACK:
        raise SystemExit(f"{PG_ENV} must point at this machine (127.0.0.1), not {url.host!r}")
    return url.set(drivername="postgresql+psycopg")


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="eva-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new database on the configured server, dropped (with FORCE) however the run ends."""
    admin_url = postgres_admin_url()
    name = f"eva_bench_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except OperationalError as exc:
            where = admin_url.render_as_string(hide_password=True)
            raise SystemExit(f"PostgreSQL at {where}: {str(exc.orig).splitlines()[0]}") from exc
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def fresh_database(backend: str) -> AbstractContextManager[str]:
    return sqlite_database() if backend == "sqlite" else postgres_database()


def server_version(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with engine.connect() as conn:
        return f"PostgreSQL {conn.execute(text('SHOW server_version')).scalar_one()}"


# The world and the proposals -----------------------------------------------------------------


def as_(username: str) -> Caller:
    return Caller(username, "bench", confirmed=True)  # on the server, like the command line


def build_world(eva: Eva) -> None:
    """One organisation, one body with a meeting, a preparer, a presenter and a secretary."""
    organisations.create_organisation(
        eva,
        OPERATOR,
        organisations.CreateOrganisation(
            code=ORG,
            name_fi="Penkkilän kunta",
            case_number_pattern=r"\d+/\d{2}\.\d{2}\.\d{2}/\d{4}",
            case_number_example="257/05.00.00/2026",
        ),
    )
    organisations.create_body(
        eva, OPERATOR, organisations.CreateBody(organisation=ORG, code=BODY, name_fi="Lautakunta")
    )
    organisations.create_meeting(
        eva,
        OPERATOR,
        organisations.CreateMeeting(
            organisation=ORG, body=BODY, starts_at=datetime(2026, 12, 15, 16, tzinfo=UTC)
        ),
    )
    for username, role in PEOPLE.items():
        users.create_user(
            eva, OPERATOR, users.CreateUser(username=username, full_name=username.title())
        )
        users.grant_role(
            eva, OPERATOR, users.GrantRole(username=username, organisation=ORG, role=role)
        )


def required_questions(eva: Eva, depth: ScreeningOutcome) -> list[str]:
    with eva.uow() as uow:
        record = uow.repos.latest_definition("eva-standard")
        if record is None:
            raise SystemExit("eva-standard was not published")
        bundle, _ = definitions.stored_bundle(uow.repos, record.name, record.version)
    return [
        question.id
        for checklist in bundle.checklists
        for _, _, question in checklist.questions()
        if question.required_for(depth)
    ]


def light_document(eva: Eva) -> documents.AssessmentDocument:
    """A complete LIGHT assessment: two alternatives, every required question answered."""
    answers = [
        {
            "question": question,
            "alternative": position,
            "direction": "positive",
            "magnitude": "minor",
            "duration": "council_term",
            "certainty": "medium",
            "justification": "Perusteltu.",
            "affected_groups": ["families"],
        }
        for question in required_questions(eva, ScreeningOutcome.LIGHT)
        for position in (0, 1)
    ]
    due = (datetime.now(UTC) + timedelta(days=300)).date().isoformat()
    return documents.AssessmentDocument.model_validate(
        {
            "format": documents.FORMAT,
            "summary": "Yhteenveto.",
            "alternatives": [
                {"position": 0, "title": "Nykytila"},
                {"position": 1, "title": "Esitys", "chosen": True},
            ],
            "answers": answers,
            "follow_up_indicators": [
                {"name": "Mittari", "responsible": "koordinaattori", "due": due}
            ],
        }
    )


def prepared_proposal(eva: Eva, number: int, document: documents.AssessmentDocument) -> int:
    """A draft proposal with a LIGHT screening and a complete assessment (drafts are editable)."""
    view = proposal_commands.create_proposal(
        eva,
        as_(PREPARER),
        proposal_commands.CreateProposal(
            organisation=ORG,
            case_number=f"{number}/05.00.00/2026",
            title_fi=f"Penkkiesitys {number}",
            body=BODY,
            presenter=PRESENTER,
        ),
    )
    screening.record_screening(
        eva,
        as_(PREPARER),
        screening.RecordScreening(
            proposal_id=view.id, outcome=ScreeningOutcome.LIGHT, criteria=["many_residents"]
        ),
    )
    documents.import_assessment(eva, as_(PREPARER), view.id, document)
    return view.id


def prepare(eva: Eva, count: int) -> list[int]:
    build_world(eva)
    document = light_document(eva)
    return [prepared_proposal(eva, number, document) for number in range(1, count + 1)]


# Timing ----------------------------------------------------------------------------------------


def schedule(pids: Sequence[int], seed: int = SEED) -> list[tuple[int, str, str]]:
    """Every proposal's path, interleaved in a fixed random order (each path stays in order)."""
    slots = [pid for pid in pids for _ in PATH]
    random.Random(seed).shuffle(slots)
    done: dict[int, int] = dict.fromkeys(pids, 0)
    steps = []
    for pid in slots:
        trigger, actor = PATH[done[pid]]
        done[pid] += 1
        steps.append((pid, trigger, actor))
    return steps


@dataclass
class Timings:
    """Seconds spent in the engine (in total and per call, by trigger) and in the same writes
    done with Core."""

    engine_seconds: float = 0.0
    engine_cpu: float = 0.0
    core_seconds: float = 0.0
    core_cpu: float = 0.0
    core_count: int = 0
    per_trigger: dict[str, list[float]] = field(
        default_factory=lambda: {trigger: [] for trigger, _ in PATH}
    )


def fire_block(eva: Eva, steps: Sequence[tuple[int, str, str]], timings: Timings) -> None:
    """Fire each step as its own unit of work, timing each call and the whole block."""
    clock = time.perf_counter
    started, cpu = clock(), time.process_time()
    for pid, trigger, actor in steps:
        t0 = clock()
        transitions.fire(eva, as_(actor), pid, trigger)
        timings.per_trigger[trigger].append(clock() - t0)
    timings.engine_seconds += clock() - started
    timings.engine_cpu += time.process_time() - cpu


# The same writes with plain Core -------------------------------------------------------------


def scratch_copy(table: Table, metadata: MetaData) -> Table:
    """``table``'s columns and indexes under ``bench_<name>``, without foreign keys or triggers."""
    copy = Table(
        f"bench_{table.name}",
        metadata,
        *(
            Column(
                c.name,
                c.type.copy(),
                primary_key=c.primary_key,
                autoincrement=c.autoincrement,
                nullable=c.nullable or not c.primary_key,
            )
            for c in table.columns
        ),
    )
    for index in table.indexes:
        Index(
            f"bench_{index.name}",
            *(copy.c[c.name] for c in index.columns),
            unique=bool(index.unique),
        )
    for constraint in table.constraints:  # unique constraints (the event hash, dedup keys)
        names = [c.name for c in getattr(constraint, "columns", [])]
        if type(constraint).__name__ == "UniqueConstraint":
            Index(
                f"bench_uq_{table.name}_{'_'.join(names)}", *(copy.c[n] for n in names), unique=True
            )
    return copy


class SameWrites:
    """Each step's rows (its ``Shape``), written again with plain Core into scratch tables,
    one transaction per step: nothing read, checked or hashed."""

    def __init__(self, engine: Engine, pids: Sequence[int], shapes: dict[str, Shape]) -> None:
        self.engine = engine
        self.shapes = shapes
        metadata = MetaData()
        tables = {
            model.__tablename__: scratch_copy(model.__table__, metadata)  # type: ignore[arg-type]
            for model in (Proposal, Assignment, OutboxMessage, AuditEvent, AuditChainHead)
        }
        self.proposals = tables["proposals"]
        self.assignments = tables["assignments"]
        self.outbox = tables["outbox_messages"]
        self.events = tables["audit_events"]
        self.heads = tables["audit_chain_head"]
        metadata.drop_all(engine)
        metadata.create_all(engine)
        now = utcnow()
        columns = [c.name for c in self.proposals.columns]
        self.versions: dict[int, int] = {}
        self.open: dict[int, list[int]] = {}
        self.seq = 0
        with engine.begin() as conn:
            rows = conn.execute(
                select(*(Proposal.__table__.c[n] for n in columns)).where(
                    Proposal.id.in_(list(pids))
                )
            ).all()
            conn.execute(insert(self.proposals), [dict(zip(columns, r, strict=True)) for r in rows])
            self.versions = {r.id: r.row_version for r in rows}
            for pid in pids:
                (first,) = conn.execute(
                    insert(self.assignments)
                    .values(self._task(pid, now))
                    .returning(self.assignments.c.id)
                ).one()
                self.open[pid] = [first]
            conn.execute(insert(self.heads).values(chain_id=1, last_seq=0, last_hash="0" * 64))

    def _task(self, pid: int, now: datetime) -> dict[str, object]:
        return {
            "organisation_id": 1,
            "proposal_id": pid,
            "kind": "review",
            "assignee_id": None,
            "roles": ["secretary", "expert"],
            "due": (now + timedelta(days=14)).date(),
            "state": "open",
            "reason": None,
            "created_at": now,
            "closed_at": None,
        }

    def step(self, pid: int, trigger: str) -> None:
        shape = self.shapes[trigger]
        now = utcnow()
        version = self.versions[pid]
        with self.engine.begin() as conn:
            conn.execute(
                update(self.proposals)
                .where(self.proposals.c.id == pid, self.proposals.c.row_version == version)
                .values(state=trigger, updated_at=now, row_version=version + 1)
            )
            self.versions[pid] = version + 1
            closing = self.open[pid][: shape.closed]
            if closing:
                conn.execute(
                    update(self.assignments)
                    .where(self.assignments.c.id == bindparam("closing"))
                    .values(state="done", closed_at=now),
                    [{"closing": i} for i in closing],
                )
                del self.open[pid][: shape.closed]
            for _ in range(shape.opened):
                (opened,) = conn.execute(
                    insert(self.assignments)
                    .values(self._task(pid, now))
                    .returning(self.assignments.c.id)
                ).one()
                self.open[pid].append(opened)
            if shape.outbox:
                conn.execute(
                    insert(self.outbox), [self._message(pid, now, i) for i in range(shape.outbox)]
                )
            first = self.seq + 1
            self.seq += shape.events
            conn.execute(
                update(self.heads)
                .where(self.heads.c.chain_id == 1)
                .values(last_seq=self.seq, last_hash=f"{self.seq:064x}")
            )
            conn.execute(
                insert(self.events),
                [self._event(pid, trigger, seq, now) for seq in range(first, self.seq + 1)],
            )

    def _message(self, pid: int, now: datetime, i: int) -> dict[str, object]:
        return {
            "event_id": f"{pid:08d}-0000-0000-0000-{self.seq + i:012d}",
            "dedup_key": None,
            "organisation_id": 1,
            "proposal_id": pid,
            "kind": "assignment_made",
            "channel": "email",
            "recipient_id": None,
            "webhook_id": None,
            "payload": {
                "kind": "assignment_made",
                "occurred_at": now.isoformat(),
                "organisation": ORG,
                "actor": PREPARER,
                "proposal": {"id": pid, "case_number": f"{pid}/05.00.00/2026", "state": "review"},
                "assignment": {"id": pid, "kind": "review", "roles": ["secretary", "expert"]},
            },
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": None,
            "created_at": now,
        }

    def _event(self, pid: int, trigger: str, seq: int, now: datetime) -> dict[str, object]:
        return {
            "chain_id": 1,
            "seq": seq,
            "occurred_at": now,
            "actor_id": None,
            "actor_name": PREPARER,
            "actor_role": "preparer",
            "client": "bench",
            "action": "proposal.transition",
            "entity_type": "proposal",
            "entity_id": str(pid),
            "organisation_id": 1,
            "proposal_id": pid,
            "before": '{"state":"draft"}',
            "after": f'{{"state":"screening","trigger":"{trigger}"}}',
            "reason": None,
            "prev_hash": f"{seq - 1:064x}",
            "hash": f"{seq:064x}",
        }


def core_block(same: SameWrites, steps: Sequence[tuple[int, str, str]], timings: Timings) -> None:
    clock = time.perf_counter
    started, cpu = clock(), time.process_time()
    for pid, trigger, _ in steps:
        same.step(pid, trigger)
    timings.core_count += len(steps)
    timings.core_seconds += clock() - started
    timings.core_cpu += time.process_time() - cpu


def run_interleaved(
    eva: Eva, pids: Sequence[int], same: SameWrites | None, block: int = BLOCK
) -> Timings:
    """Blocks of transitions alternate with as many transactions of the same writes, so that
    both see the same machine: a busy neighbour on a shared machine slows both, not only one."""
    steps = schedule(pids)
    timings = Timings()
    for start in range(0, len(steps), block):
        chunk = steps[start : start + block]
        fire_block(eva, chunk, timings)
        if same is not None:
            core_block(same, chunk, timings)
    return timings


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    """The statements sent to ``engine`` meanwhile, less transaction control."""
    statements: list[str] = []

    def note(*args: object) -> None:
        sql = str(args[2]).lstrip().upper()  # (conn, cursor, statement, parameters, ...)
        if not sql.startswith(CONTROL):
            statements.append(sql)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def table_counts(eva: Eva) -> tuple[int, int, int, int]:
    """Audit events, outbox rows, assignments, and closed assignments stored now."""
    with eva.database.engine.connect() as conn:
        return (
            audit_seq(eva),
            int(conn.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(Assignment)).scalar_one()),
            int(
                conn.execute(
                    select(func.count())
                    .select_from(Assignment)
                    .where(Assignment.closed_at.is_not(None))
                ).scalar_one()
            ),
        )


def walk_measured(eva: Eva, pid: int) -> tuple[dict[str, Statements], dict[str, Shape]]:
    """Walk one proposal along the path: each step's statements and the rows it wrote."""
    statements: dict[str, Statements] = {}
    shapes: dict[str, Shape] = {}
    for trigger, actor in PATH:
        before = table_counts(eva)
        with counting(eva.database.engine) as sent:
            transitions.fire(eva, as_(actor), pid, trigger)
        after = table_counts(eva)
        events, outbox, tasks, closed = (a - b for a, b in zip(after, before, strict=True))
        statements[trigger] = Statements(len(sent), sum(1 for s in sent if s.startswith(WRITES)))
        shapes[trigger] = Shape(events=events, outbox=outbox, opened=tasks, closed=closed)
    return statements, shapes


def audit_seq(eva: Eva) -> int:
    with eva.database.engine.connect() as conn:
        return int(conn.execute(select(func.sum(AuditChainHead.last_seq))).scalar_one())


def latency(samples: Sequence[float]) -> Latency:
    """Median and 95th percentile (nearest rank) in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return Latency(len(ordered), statistics.median(ordered) * 1000, p95 * 1000)


# One backend -----------------------------------------------------------------------------------


def run_backend(backend: str, count: int, say: Callable[[str], None]) -> RunResult:
    with fresh_database(backend) as url:
        eva = Eva(Database.connect(url), default_workflows_dir())
        try:
            return measure(eva, backend, count, say)
        finally:
            eva.database.dispose()


def measure(eva: Eva, backend: str, count: int, say: Callable[[str], None]) -> RunResult:
    engine = eva.database.engine
    say(f"{backend}: migrating, publishing, creating {count} proposals (+2 for warm-up)...")
    setup_started = time.perf_counter()
    upgrade(engine)
    definitions.publish(eva, OPERATOR)
    warmup, counted, *pids = prepare(eva, count + 2)
    setup_seconds = time.perf_counter() - setup_started
    run_interleaved(eva, [warmup], None)  # compiles and caches every statement first
    statements, shapes = walk_measured(eva, counted)
    same = SameWrites(engine, pids, shapes)
    say(f"{backend}: {len(PATH) * count} transitions and as many transactions of their writes...")
    first_seq = audit_seq(eva)
    timings = run_interleaved(eva, pids, same)
    events = audit_seq(eva) - first_seq
    samples = [s for values in timings.per_trigger.values() for s in values]
    say(f"{backend}: verifying the audit chain...")
    started = time.perf_counter()
    verified = trail.verify(eva)
    chain_seconds = time.perf_counter() - started
    if not verified.ok:
        raise SystemExit(f"{backend}: the audit chain does NOT verify: {verified.problem}")
    own: list[float] = []
    for pid in pids[:: max(1, len(pids) // 50)]:  # about 50 proposals' history pages
        started = time.perf_counter()
        if not trail.verify_proposal(eva, OPERATOR, pid).ok:
            raise SystemExit(f"{backend}: proposal {pid}'s events do NOT verify")
        own.append(time.perf_counter() - started)
    overall = latency(samples)
    per_engine = timings.engine_seconds / len(samples)
    per_core = timings.core_seconds / timings.core_count
    return RunResult(
        backend=backend,
        server=server_version(engine),
        proposals=count,
        transitions=len(samples),
        seconds=timings.engine_seconds,
        transitions_per_s=len(samples) / timings.engine_seconds,
        median_ms=overall.median_ms,
        p95_ms=overall.p95_ms,
        cpu_ms=timings.engine_cpu * 1000 / len(samples),
        audit_events=events,
        core_transactions=timings.core_count,
        core_seconds=timings.core_seconds,
        core_tx_per_s=timings.core_count / timings.core_seconds,
        core_cpu_ms=timings.core_cpu * 1000 / timings.core_count,
        cpu_ratio=(timings.engine_cpu / len(samples)) / (timings.core_cpu / timings.core_count),
        ratio=per_engine / per_core,
        setup_seconds=setup_seconds,
        chain_verified=verified.verified,
        chain_verify_seconds=chain_seconds,
        proposal_verify_ms=statistics.median(own) * 1000,
        per_trigger={t: latency(values) for t, values in timings.per_trigger.items()},
        statements=statements,
    )


# Output ----------------------------------------------------------------------------------------

COLUMNS: tuple[tuple[str, str, Callable[[RunResult], object]], ...] = (
    ("backend", "{}", lambda r: r.backend),
    ("proposals", "{}", lambda r: r.proposals),
    ("transitions", "{}", lambda r: r.transitions),
    ("seconds", "{:.2f}", lambda r: r.seconds),
    ("transitions/s", "{:.1f}", lambda r: r.transitions_per_s),
    ("median ms", "{:.2f}", lambda r: r.median_ms),
    ("p95 ms", "{:.2f}", lambda r: r.p95_ms),
    ("cpu ms", "{:.2f}", lambda r: r.cpu_ms),
    ("audit events", "{}", lambda r: r.audit_events),
    ("same-writes tx/s", "{:.1f}", lambda r: r.core_tx_per_s),
    ("same-writes cpu ms", "{:.2f}", lambda r: r.core_cpu_ms),
    ("cpu ratio", "{:.2f}", lambda r: r.cpu_ratio),
    ("wall ratio", "{:.2f}", lambda r: r.ratio),
)


def aligned(row: Sequence[str], widths: Sequence[int]) -> list[str]:
    """The first cell to the left, the figures to the right."""
    return [row[0].ljust(widths[0])] + [
        c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
    ]


def table(results: Sequence[RunResult]) -> str:
    rows = [[name for name, _, _ in COLUMNS]]
    rows += [[fmt.format(get(r)) for _, fmt, get in COLUMNS] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(aligned(row, widths)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("")
    lines.append("per trigger, median / p95 ms:")
    for r in results:
        cells = [f"{t} {lat.median_ms:.2f}/{lat.p95_ms:.2f}" for t, lat in r.per_trigger.items()]
        lines.append(f"  {r.backend:<10} " + ", ".join(cells))
    lines.append("")
    lines.append("statements per step (all / writes / beyond the writes):")
    for r in results:
        cells = [
            f"{t} {c.statements}/{c.writes}/{c.beyond_writes}" for t, c in r.statements.items()
        ]
        lines.append(f"  {r.backend:<10} " + ", ".join(cells))
    lines.append("")
    lines.extend(
        f"{r.backend}: {r.server}; setup {r.setup_seconds:.1f} s; same writes "
        f"{r.core_transactions} tx in {r.core_seconds:.2f} s; "
        f"audit chain verified ({r.chain_verified} events in {r.chain_verify_seconds:.2f} s; "
        f"one proposal's own events {r.proposal_verify_ms:.2f} ms)"
        for r in results
    )
    first = results[0]
    lines.append(
        f"Python {first.python}, SQLAlchemy {first.sqlalchemy}, {first.machine}, "
        f"{first.cpu_count} CPUs"
    )
    return "\n".join(lines)


def as_json(results: Sequence[RunResult]) -> str:
    return json.dumps(
        {
            "benchmark": "bench.transitions",
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "runs": [
                asdict(r) | {"statements": {t: asdict(c) for t, c in r.statements.items()}}
                for r in results
            ],
        },
        indent=2,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.transitions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="both")
    parser.add_argument("--proposals", type=int, default=300, help="proposals to walk (300)")
    parser.add_argument("--json", action="store_true", help="print a JSON document instead")
    args = parser.parse_args(argv)
    if not 1 <= args.proposals <= 100_000:
        parser.error("--proposals must be between 1 and 100000")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    backends = BACKENDS if args.backend == "both" else (args.backend,)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results = [run_backend(backend, args.proposals, say) for backend in backends]
    print(as_json(results) if args.json else table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
