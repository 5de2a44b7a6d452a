"""A workflow step costs the same however long the history behind it (issue 10, part 3).

For each backend (as in ``bench.transitions``: a temporary SQLite file, a PostgreSQL database
made for the run) the benchmark builds the organisation of ``bench.transitions`` and two
proposals in review. Then, at each history length (10, 1,000 and 100,000 events by default),
it fires rounds of review on each — returned for revision by the secretary, submitted again by
the preparer, each step a full unit of work — and measures a step's statements, its CPU time
and its wall time:

* ``proposal``: the first proposal's own history has that many events (and so its
  organisation's chain at least as many);
* ``organisation``: the second proposal's own history stays short while the organisation's
  chain grows to that length.

The history is made long by appending events to the organisation's chain in bulk (with their
hashes and links, as sealing makes them): recorded reads of the first proposal
(``proposal.read``, which change no state), then of the organisation. The whole chain is
verified at the end (``eva audit verify``); a broken chain fails the benchmark.

Run: ``.venv/bin/python -m bench.history [--backend sqlite|postgresql|both]
[--sizes 10,1000,100000] [--rounds N] [--json]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update

from bench import transitions as bench
from eva_engine.config import default_workflows_dir
from eva_engine.db.audit import HASHED, content_of, link_of
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.models import AuditChainHead, AuditEvent, Organisation, utcnow
from eva_engine.services import definitions
from eva_engine.services.history import trail
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions

SIZES = (10, 1_000, 100_000)
ROUND = (("return_for_revision", bench.SECRETARY), ("submit_for_review", bench.PREPARER))
TO_REVIEW = bench.PATH[:3]
BATCH = 5_000


@dataclass
class Point:
    """One history length: a step's cost on each of the two proposals."""

    size: int
    own_events: dict[str, int] = field(default_factory=dict)  # proposal / organisation
    chain_events: int = 0
    statements: dict[str, float] = field(default_factory=dict)  # per step
    cpu_ms: dict[str, float] = field(default_factory=dict)
    median_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class HistoryResult:
    backend: str
    server: str
    rounds: int
    points: list[Point]
    chain_verified: int
    chain_verify_seconds: float


def events_of(eva: Eva, *, proposal_id: int | None = None, chain: int | None = None) -> int:
    query = select(func.count()).select_from(AuditEvent)
    if proposal_id is not None:
        query = query.where(AuditEvent.proposal_id == proposal_id)
    if chain is not None:
        query = query.where(AuditEvent.chain_id == chain)
    with eva.database.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def append_events(eva: Eva, chain: int, count: int, proposal_id: int | None) -> None:
    """``count`` recorded reads appended to ``chain`` in bulk, hashed and linked like sealed
    events: of the proposal, or (without one) of the organisation."""
    with eva.database.engine.begin() as conn:
        head = conn.execute(
            select(AuditChainHead.last_seq, AuditChainHead.last_hash)
            .where(AuditChainHead.chain_id == chain)
            .with_for_update()
        ).one()
        seq, prev = int(head[0]), str(head[1])
        now = utcnow()
        rows: list[dict[str, Any]] = []
        for _ in range(count):
            seq += 1
            row: dict[str, Any] = {
                "chain_id": chain,
                "seq": seq,
                "occurred_at": now,
                "actor_id": None,
                "actor_name": "bench",
                "actor_role": None,
                "client": "bench",
                "action": "proposal.read" if proposal_id else "organisation.read",
                "entity_type": "proposal" if proposal_id else "organisation",
                "entity_id": str(proposal_id or chain),
                "organisation_id": chain,
                "proposal_id": proposal_id,
                "before": None,
                "after": None,
                "reason": None,
            }
            digest = hashlib.sha256(content_of(row[n] for n in HASHED).encode())
            digest.update(link_of(chain, seq, prev))
            row |= {"prev_hash": prev, "hash": digest.hexdigest()}
            prev = row["hash"]
            rows.append(row)
            if len(rows) >= BATCH:
                conn.execute(insert(AuditEvent), rows)
                rows = []
        if rows:
            conn.execute(insert(AuditEvent), rows)
        conn.execute(
            update(AuditChainHead)
            .where(AuditChainHead.chain_id == chain)
            .values(last_seq=seq, last_hash=prev)
        )


def measure_rounds(eva: Eva, pid: int, rounds: int) -> tuple[float, float, float]:
    """Statements, CPU ms and median wall ms per step over ``rounds`` rounds of review."""
    samples: list[float] = []
    cpu = 0.0
    sent = 0
    for _ in range(rounds):
        for trigger, actor in ROUND:
            reason = "Tarkenna." if trigger == "return_for_revision" else None
            with bench.counting(eva.database.engine) as statements:
                started, cpu0 = time.perf_counter(), time.process_time()
                transitions.fire(eva, bench.as_(actor), pid, trigger, reason=reason)
                samples.append(time.perf_counter() - started)
                cpu += time.process_time() - cpu0
            sent += len(statements)
    steps = len(samples)
    return sent / steps, cpu * 1000 / steps, statistics.median(samples) * 1000


def to_review(eva: Eva, pid: int) -> None:
    for trigger, actor in TO_REVIEW:
        transitions.fire(eva, bench.as_(actor), pid, trigger)


def run_backend(
    backend: str, sizes: Sequence[int], rounds: int, say: Callable[[str], None]
) -> HistoryResult:
    with bench.fresh_database(backend) as url:
        eva = Eva(Database.connect(url), default_workflows_dir())
        try:
            engine = eva.database.engine
            upgrade(engine)
            definitions.publish(eva, bench.OPERATOR)
            warmup, own, other = bench.prepare(eva, 3)
            for pid in (warmup, own, other):
                to_review(eva, pid)
            measure_rounds(eva, warmup, 2)  # compiles and caches every statement first
            with engine.connect() as conn:
                chain = int(
                    conn.execute(
                        select(Organisation.id).where(Organisation.code == bench.ORG)
                    ).scalar_one()
                )
            points = []
            for size in sorted(sizes):
                have = events_of(eva, proposal_id=own)
                if size > have:
                    say(f"{backend}: proposal history {have} -> {size} events...")
                    append_events(eva, chain, size - have, own)
                have = events_of(eva, chain=chain)
                if size > have:
                    append_events(eva, chain, size - have, None)
                point = Point(size=size, chain_events=events_of(eva, chain=chain))
                for name, pid in (("proposal", own), ("organisation", other)):
                    point.own_events[name] = events_of(eva, proposal_id=pid)
                    s, c, m = measure_rounds(eva, pid, rounds)
                    point.statements[name], point.cpu_ms[name], point.median_ms[name] = s, c, m
                say(
                    f"{backend}: {size:>7} events: "
                    + ", ".join(
                        f"{n} {point.statements[n]:.1f} statements, {point.cpu_ms[n]:.2f} ms cpu"
                        for n in point.statements
                    )
                )
                points.append(point)
            say(f"{backend}: verifying the audit chain...")
            started = time.perf_counter()
            verified = trail.verify(eva)
            seconds = time.perf_counter() - started
            if not verified.ok:
                raise SystemExit(f"{backend}: the audit chain does NOT verify: {verified.problem}")
            return HistoryResult(
                backend=backend,
                server=bench.server_version(engine),
                rounds=rounds,
                points=points,
                chain_verified=verified.verified,
                chain_verify_seconds=seconds,
            )
        finally:
            eva.database.dispose()


def table(results: Sequence[HistoryResult]) -> str:
    lines = [
        "backend     history  chain events  | proposal: statements  cpu ms  median ms  "
        "| organisation: own events  statements  cpu ms  median ms"
    ]
    for r in results:
        for p in r.points:
            lines.append(
                f"{r.backend:<10} {p.size:>8} {p.chain_events:>13}  | "
                f"{p.statements['proposal']:>20.1f} {p.cpu_ms['proposal']:>7.2f} "
                f"{p.median_ms['proposal']:>10.2f}  | {p.own_events['organisation']:>24} "
                f"{p.statements['organisation']:>11.1f} {p.cpu_ms['organisation']:>7.2f} "
                f"{p.median_ms['organisation']:>10.2f}"
            )
    lines += [
        f"{r.backend}: {r.server}; {r.rounds} rounds (2 steps each) per point; chain verified "
        f"({r.chain_verified} events in {r.chain_verify_seconds:.1f} s)"
        for r in results
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.history",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=(*bench.BACKENDS, "both"), default="both")
    parser.add_argument(
        "--sizes", default=",".join(str(s) for s in SIZES), help="history lengths (events)"
    )
    parser.add_argument("--rounds", type=int, default=50, help="rounds of review per point")
    parser.add_argument("--json", action="store_true", help="print a JSON document instead")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes or min(sizes) < 1 or max(sizes) > 1_000_000:
        parser.error("--sizes: lengths between 1 and 1000000")
    backends = bench.BACKENDS if args.backend == "both" else (args.backend,)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results = [run_backend(b, sizes, args.rounds, say) for b in backends]
    if args.json:
        print(json.dumps({"benchmark": "bench.history", "runs": [asdict(r) for r in results]}))
    else:
        print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
