"""The audit chains: how fast ``eva audit verify`` walks them, in how much memory, and how long
writers hold a chain head's lock, with one chain per organisation.

(a) Verify. A fresh database per backend (SQLite in a temporary file; PostgreSQL in a database
made for the run and dropped at the end), migrated, with ``--orgs`` organisations made through
the services. ``--events`` events are then written through the engine's own audit write path:
units of work that record events (as the services do) and commit, which seals them into the
organisations' chains (``eva_engine.db.audit.seal``), 500 per unit. The chains are verified
(``trail.verify``: every chain, in one snapshot, streamed) at half and at the full
size, timed without tracing; then once more under ``tracemalloc`` for the peak of Python
memory. Constant memory shows as the same peak at both sizes.

(b) Lock (PostgreSQL). 1, 2, 4 and 8 writer processes, each committing units of work that
write what a transition writes to the audit history (a proposal's transition event, the task
it closes and the one it opens, an outbox message: 4 events of transition size, and an UPDATE
of a row of its own), for ``--seconds`` each; all writers in one organisation, then each in an
organisation of its own. Per unit of work: the time from asking for the chain head's lock
(``SELECT … FOR UPDATE``) to getting it (wait), and from getting it to the end of the commit
(hold). Reported: units per second, hold time (median, p95) and the share of the wall time the
busiest chain's lock was held.

Verify is also timed in a fresh process of its own, whose peak resident size
(``ru_maxrss``) is reported with it.

(c) An existing database, ``--database URL`` (repeatable; e.g. the generated year of
``bench.year`` at two sizes): verified three times, each in a fresh process; the best wall
time, its CPU, the peak resident size and the tracemalloc peak.

Run: ``.venv/bin/python -m bench.chains [--backend sqlite|postgresql|both] [--events N]
[--orgs N] [--seconds S] [--json] [--database URL ...]``; PostgreSQL from
EVA_BENCH_POSTGRES_URL as for ``bench.transitions``.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, event, text, update
from sqlalchemy.orm import Session

from bench.transitions import fresh_database, server_version
from eva_engine.config import default_workflows_dir
from eva_engine.db.audit import LOCK_TIMES, Actor, PendingEvent, snapshot, verify_chain
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database, EvaSession
from eva_engine.services.history import trail
from eva_engine.services.people import organisations
from eva_engine.services.runtime import Caller, Eva

PER_UNIT = 500  # events per unit of work while building
OPERATOR = Caller(None, "bench")
PATTERN = r"\d+/\d\d\.\d\d\.\d\d/\d{4}"


def make_organisations(eva: Eva, count: int) -> list[int]:
    ids = []
    for n in range(count):
        made = organisations.create_organisation(
            eva,
            OPERATOR,
            organisations.CreateOrganisation(
                code=f"kunta{n:03d}",
                name_fi=f"Kunta {n}",
                case_number_pattern=PATTERN,
                case_number_example="257/05.00.00/2023",
            ),
        )
        ids.append(made.id)
    return ids


def transition_events(org: int, n: int) -> list[PendingEvent]:
    """What a transition writes to the history: its own event, the task it closes, the task
    it opens and its outbox message, with before/after of the usual size."""
    proposal = 1000 + n % 5000
    return [
        PendingEvent(
            action="proposal.transition",
            entity_type="proposal_step",  # no proposal rows here: not checked against a state
            entity_id=str(proposal),
            organisation_id=org,
            proposal_id=None,
            before={"state": "review", "row_version": n},
            after={"state": "reviewed", "row_version": n + 1, "trigger": "pass_review"},
            reason="Tarkastettu, ei huomautettavaa." if n % 3 == 0 else None,
            role="secretary",
        ),
        PendingEvent(
            action="assignment.update",
            entity_type="assignment",
            entity_id=str(2 * n),
            organisation_id=org,
            proposal_id=None,
            before={"state": "open", "completed_at": None},
            after={"state": "done", "completed_at": "2026-05-04T10:11:12.131415+00:00"},
            reason=None,
            role="secretary",
        ),
        PendingEvent(
            action="assignment.create",
            entity_type="assignment",
            entity_id=str(2 * n + 1),
            organisation_id=org,
            proposal_id=None,
            before=None,
            after={
                "kind": "sign_off",
                "state": "open",
                "roles": ["presenter"],
                "assignee_id": 17,
                "due": "2026-05-11",
                "proposal_id": proposal,
                "organisation_id": org,
            },
            reason=None,
            role="secretary",
        ),
        PendingEvent(
            action="outbox.create",
            entity_type="outbox_message",
            entity_id=str(n),
            organisation_id=org,
            proposal_id=None,
            before=None,
            after={"kind": "assignment_made", "recipient": 17, "channel": "email"},
            reason=None,
            role="secretary",
        ),
    ]


def build(eva: Eva, orgs: Sequence[int], events: int, start: int = 0) -> None:
    actor = Actor(None, "Sanna Sihteeri", "web")
    n = start
    while n < start + events:
        with eva.database.unit_of_work(actor) as uow:
            for _ in range(PER_UNIT // 4):
                for pending in transition_events(orgs[n % len(orgs)], n):
                    uow.audit.record(pending)
                n += 4
            uow.commit()


@dataclass
class VerifyFigure:
    backend: str
    events: int
    chains: int
    seconds: float
    cpu_seconds: float
    events_per_second: float
    events_per_cpu_second: float
    peak_mib: float  # Python memory, tracemalloc, at this size
    peak_rss_mib: float = 0.0  # the whole verifying process's peak resident size
    server_cpu_seconds: float = 0.0  # PostgreSQL's backend serving the walk (local server)
    events_per_cpu_second_both: float = 0.0  # per CPU-second of eva and the server together


def _verify_in_process(url: str, out: Any) -> None:
    """Verify ``url`` in a process of its own, so its peak resident size is the verify's."""
    eva = Eva(Database.connect(url), default_workflows_dir())
    try:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        timing = verify_once(eva)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out.put((*timing, before, peak))
    finally:
        eva.database.dispose()


def verify_process(url: str) -> tuple[int, int, float, float, float, float, float]:
    """(events, chains, wall s, CPU s, server CPU s, RSS MiB before verifying, peak RSS MiB)
    of one verify run in a fresh process."""
    context = multiprocessing.get_context("spawn")
    queue: Any = context.Queue()
    process = context.Process(target=_verify_in_process, args=(url, queue))
    process.start()
    result = queue.get()
    process.join()
    return result  # type: ignore[no-any-return]


def verify_database(url: str, say: Callable[[str], None]) -> VerifyFigure:
    """Verify an existing database (the generated year, ``bench.year``): the best of three
    runs, each in a fresh process, and the peak of Python memory under tracemalloc."""
    runs = [verify_process(url) for _ in range(3)]
    count, chains, wall, cpu, server, _, _ = min(runs, key=lambda r: r[2])
    eva = Eva(Database.connect(url), default_workflows_dir())
    try:
        figure = VerifyFigure(
            backend=server_version(eva.database.engine),
            events=count,
            chains=chains,
            seconds=round(wall, 3),
            cpu_seconds=round(cpu, 3),
            events_per_second=round(count / wall),
            events_per_cpu_second=round(count / cpu),
            peak_mib=round(peak_memory(eva), 2),
            peak_rss_mib=round(max(r[6] for r in runs), 1),
            server_cpu_seconds=round(server, 3),
            events_per_cpu_second_both=round(count / (cpu + server)),
        )
    finally:
        eva.database.dispose()
    say(f"{url.split(':', maxsplit=1)[0]}: {figure}")
    return figure


def backend_cpu(pid: int | None) -> float:
    """CPU seconds used so far by the PostgreSQL backend ``pid`` (on this machine), else 0."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def verify_once(eva: Eva) -> tuple[int, int, float, float, float]:
    """(events, chains, wall s, CPU s of this process, CPU s of the PostgreSQL backend that
    served it) of one ``eva audit verify``: ``trail.verify``'s own walk, in one snapshot."""
    gc.collect()
    with snapshot(eva.database.bind) as session:
        pid = None
        if eva.database.engine.dialect.name == "postgresql":
            pid = int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
        server = backend_cpu(pid)
        wall, cpu = time.perf_counter(), time.process_time()
        result = verify_chain(session)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        server = backend_cpu(pid) - server
    if not result.ok:
        raise SystemExit(f"the chains do not verify: {result.problem}")
    return result.verified, len(result.chains), wall, cpu, server


def peak_memory(eva: Eva) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        trail.verify(eva)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def verify_backend(backend: str, events: int, orgs: int, say: Callable[[str], None]) -> list[Any]:
    figures: list[Any] = []
    with fresh_database(backend) as url:
        eva = Eva(Database.connect(url), default_workflows_dir())
        try:
            upgrade(eva.database.engine)
            ids = make_organisations(eva, orgs)
            version = server_version(eva.database.engine)
            built = 0
            for size in (events // 2, events):
                started = time.perf_counter()
                build(eva, ids, size - built, built)
                say(f"{backend}: built {size} events in {time.perf_counter() - started:.1f} s")
                built = size
                best = min((verify_once(eva) for _ in range(3)), key=lambda r: r[2])
                count, chains, wall, cpu, server = best
                rss = max(verify_process(url)[6] for _ in range(2))
                figure = VerifyFigure(
                    backend=version,
                    events=count,
                    chains=chains,
                    seconds=round(wall, 3),
                    cpu_seconds=round(cpu, 3),
                    events_per_second=round(count / wall),
                    events_per_cpu_second=round(count / cpu),
                    peak_mib=round(peak_memory(eva), 2),
                    peak_rss_mib=round(rss, 1),
                    server_cpu_seconds=round(server, 3),
                    events_per_cpu_second_both=round(count / (cpu + server)),
                )
                say(f"{backend}: {figure}")
                figures.append(figure)
        finally:
            eva.database.dispose()
    return figures


# (b) writers ------------------------------------------------------------------------------------
@dataclass
class LockFigure:
    writers: int
    organisations: int
    units: int
    units_per_second: float
    hold_ms_median: float
    hold_ms_p95: float
    wait_ms_median: float
    busiest_lock_held_percent: float


def writer(url: str, org: int, row: int, seconds: float, go: Any, out: Any) -> None:
    """One process: units of work of a transition's audit events, from the common start until
    the time is up."""
    eva = Eva(Database.connect(url), default_workflows_dir())
    holds: list[tuple[float, float, float]] = []  # asked, granted, committed

    def committed(session: Session) -> None:
        times = session.info.pop(LOCK_TIMES, None)
        if times is not None:
            holds.append((times[0], times[1], time.perf_counter()))

    event.listen(EvaSession, "after_commit", committed)
    scratch = Table(
        "bench_rows", MetaData(), Column("id", Integer, primary_key=True), Column("n", Integer)
    )
    actor = Actor(None, "Sanna Sihteeri", "web")
    n = row * 1_000_000
    go.wait()
    holds.clear()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        with eva.database.unit_of_work(actor) as uow:
            uow.session.execute(update(scratch).where(scratch.c.id == row).values(n=n))
            for pending_event in transition_events(org, n):
                uow.audit.record(pending_event)
            uow.commit()
        n += 1
    eva.database.dispose()
    out.put(holds)


def lock_run(
    url: str, orgs: Sequence[int], writers: int, spread: bool, seconds: float
) -> LockFigure:
    context = multiprocessing.get_context("spawn")
    queue: Any = context.Queue()
    go = context.Event()
    chosen = [orgs[w % len(orgs)] if spread else orgs[0] for w in range(writers)]
    processes = [
        context.Process(target=writer, args=(url, chosen[w], w + 1, seconds, go, queue))
        for w in range(writers)
    ]
    for process in processes:
        process.start()
    time.sleep(3 + writers)  # every process imported and connected
    go.set()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    units = sum(len(r) for r in results)
    first = min(h[0] for r in results for h in r)
    last = max(h[2] for r in results for h in r)
    wall = last - first
    holds = [h[2] - h[1] for r in results for h in r]
    waits = [h[1] - h[0] for r in results for h in r]
    per_chain: dict[int, float] = {}
    for org, result in zip(chosen, results, strict=True):
        per_chain[org] = per_chain.get(org, 0.0) + sum(h[2] - h[1] for h in result)
    ordered = sorted(holds)
    return LockFigure(
        writers=writers,
        organisations=len(set(chosen)),
        units=units,
        units_per_second=round(units / wall, 1),
        hold_ms_median=round(statistics.median(holds) * 1000, 2),
        hold_ms_p95=round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
        wait_ms_median=round(statistics.median(waits) * 1000, 2),
        busiest_lock_held_percent=round(100 * max(per_chain.values()) / wall, 1),
    )


def lock_backend(seconds: float, say: Callable[[str], None]) -> list[LockFigure]:
    figures = []
    with fresh_database("postgresql") as url:
        eva = Eva(Database.connect(url), default_workflows_dir())
        upgrade(eva.database.engine)
        orgs = make_organisations(eva, 8)
        with eva.database.engine.begin() as conn:
            conn.execute(text("CREATE TABLE bench_rows (id integer PRIMARY KEY, n integer)"))
            conn.execute(text("INSERT INTO bench_rows SELECT g, 0 FROM generate_series(1, 8) g"))
        eva.database.dispose()
        for spread in (False, True):
            for writers in (1, 2, 4, 8):
                figure = lock_run(url, orgs, writers, spread, seconds)
                say(f"postgresql: {figure}")
                figures.append(figure)
        eva = Eva(Database.connect(url), default_workflows_dir())
        if not trail.verify(eva).ok:
            raise SystemExit("the chains do not verify after the writers")
        eva.database.dispose()
    return figures


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.chains", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--database",
        action="append",
        default=[],
        help="verify this existing database (e.g. a generated year) instead of building "
        "chains; may be given more than once (two sizes show constant memory)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    say = (lambda _: None) if args.json else (lambda m: print(m, flush=True))
    if args.database:
        figures = [asdict(verify_database(url, say)) for url in args.database]
        print(json.dumps({"machine": machine(), "verify": figures}, indent=2))
        return 0
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    report: dict[str, Any] = {
        "machine": machine(),
        "verify": [
            asdict(f) for b in backends for f in verify_backend(b, args.events, args.orgs, say)
        ],
    }
    if "postgresql" in backends:
        report["lock"] = [asdict(f) for f in lock_backend(args.seconds, say)]
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
