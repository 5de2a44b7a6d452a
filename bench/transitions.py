"""Workflow transitions per second through the engine, next to the raw cost of a transaction.

For each backend (SQLite in a temporary file; PostgreSQL in a database created for the run and
dropped at the end) the benchmark migrates a fresh database, publishes the shipped workflows,
builds a small organisation through the services and creates N proposals, each with a LIGHT
screening and a complete assessment (two alternatives, every required question answered).

The engine: ``eva_engine.services.steps.transitions.fire`` walks every proposal along the normal
path (start_screening, begin_assessment, submit_for_review, pass_review by a secretary, sign_off
by the presenter), in a fixed, seeded interleaving of the proposals. Each call is one full unit
of work: permission, guards (submit_for_review checks the completeness of the answers), state
change, effects on assignments, audit events sealed into the hash chain, commit.

The floor: in the same database and on the same SQLAlchemy engine, as many transactions as
there were transitions, each one ``UPDATE proposals SET updated_at`` of one row plus one
``INSERT`` into a scratch table, committed, with plain SQLAlchemy Core. The two are timed in
alternating blocks of 100, so that both see the same machine at the same time.

The ratio is the engine's cost per transition divided by the cost of one such transaction. The
audit chain is verified at the end of each backend's run; a broken chain fails the benchmark.

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
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
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
from eva_engine.models import AuditChainHead, Proposal, utcnow
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
BLOCK = 100  # transitions, then as many raw transactions, then the next block

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

SCRATCH = Table(
    "bench_scratch",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("payload", Text, nullable=False),
)


@dataclass(frozen=True)
class Latency:
    count: int
    median_ms: float
    p95_ms: float


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
    raw_transactions: int
    raw_seconds: float
    raw_tx_per_s: float
    raw_cpu_ms: float
    ratio: float
    setup_seconds: float
    chain_verified: int
    chain_verify_seconds: float  # walking the whole chain (eva audit verify)
    proposal_verify_ms: float  # median: one proposal's own events (its history page)
    per_trigger: dict[str, Latency] = field(default_factory=dict)
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
    """Seconds spent in the engine (in total and per call, by trigger) and in raw transactions."""

    engine_seconds: float = 0.0
    engine_cpu: float = 0.0
    raw_seconds: float = 0.0
    raw_cpu: float = 0.0
    raw_count: int = 0
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


def raw_block(engine: Engine, pids: Sequence[int], count: int, timings: Timings) -> None:
    """``count`` transactions of one UPDATE plus one INSERT, committed, on the same engine."""
    clock = time.perf_counter
    started, cpu = clock(), time.process_time()
    for _ in range(count):
        i = timings.raw_count
        with engine.begin() as conn:
            conn.execute(
                update(Proposal)
                .where(Proposal.id == pids[i % len(pids)])
                .values(updated_at=utcnow())
            )
            conn.execute(insert(SCRATCH).values(payload=f"bench {i}"))
        timings.raw_count += 1
    timings.raw_seconds += clock() - started
    timings.raw_cpu += time.process_time() - cpu


def run_interleaved(eva: Eva, pids: Sequence[int], block: int = BLOCK) -> Timings:
    """Blocks of transitions alternate with as many raw transactions, so that both see the same
    machine: a busy neighbour on a shared machine slows both, not only one of them."""
    engine = eva.database.engine
    SCRATCH.create(engine, checkfirst=True)
    steps = schedule(pids)
    timings = Timings()
    for start in range(0, len(steps), block):
        chunk = steps[start : start + block]
        fire_block(eva, chunk, timings)
        raw_block(engine, pids, len(chunk), timings)
    return timings


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
    say(f"{backend}: migrating, publishing, creating {count} proposals (+1 for warm-up)...")
    setup_started = time.perf_counter()
    upgrade(engine)
    definitions.publish(eva, OPERATOR)
    warmup, *pids = prepare(eva, count + 1)
    setup_seconds = time.perf_counter() - setup_started
    run_interleaved(eva, [warmup])  # compiles and caches every statement first
    say(f"{backend}: {len(PATH) * count} transitions and as many raw UPDATE+INSERT...")
    first_seq = audit_seq(eva)
    timings = run_interleaved(eva, pids)
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
        raw_transactions=timings.raw_count,
        raw_seconds=timings.raw_seconds,
        raw_tx_per_s=timings.raw_count / timings.raw_seconds,
        raw_cpu_ms=timings.raw_cpu * 1000 / timings.raw_count,
        ratio=(timings.engine_seconds / len(samples)) / (timings.raw_seconds / timings.raw_count),
        setup_seconds=setup_seconds,
        chain_verified=verified.verified,
        chain_verify_seconds=chain_seconds,
        proposal_verify_ms=statistics.median(own) * 1000,
        per_trigger={t: latency(values) for t, values in timings.per_trigger.items()},
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
    ("raw tx/s", "{:.1f}", lambda r: r.raw_tx_per_s),
    ("ratio", "{:.1f}", lambda r: r.ratio),
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
    lines.extend(
        f"{r.backend}: {r.server}; setup {r.setup_seconds:.1f} s; raw {r.raw_transactions} tx "
        f"in {r.raw_seconds:.2f} s, cpu {r.raw_cpu_ms:.2f} ms/tx; "
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
            "runs": [asdict(r) for r in results],
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
