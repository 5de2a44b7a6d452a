"""Latency under load: a generated year behind gunicorn, concurrent clients (issue 10, part 7).

``python -m bench.load --database URL [--users 1,10,50] [--seconds 60] [--think 1.0]
[--workers 3] [--threads 2] [--json FILE]``

1. Puts the work in progress of ``bench.load_setup`` on the generated year in ``URL`` (once per
   database: drafts and queued proposals through the engine, the clients' passwords) and makes
   each client's desk (its preparer with a fresh API token, its body's secretary, the auditor).
2. Starts ``eva serve`` (gunicorn, ``--workers`` processes of ``--threads`` threads) on a free
   port of 127.0.0.1 against ``URL``, with its access log (each request's duration measured in
   the server) in a temporary file.
3. For each number of clients in ``--users``, in that order, runs ``bench.load_clients`` (locust
   in a process of its own): every client logs in (three sessions), then for ``--seconds`` they
   all ask My work, the proposal list, a proposal page, its history, the API's list, the
   secretary's My work, an agenda with completeness, the auditor's year history and take steps
   (POST), with ``--think`` seconds between requests on average.
4. Prints, per page, the requests, the failures and p50/p95/p99 as the clients saw them and as
   the server measured them, against the targets (pages 150 ms, steps 300 ms at p95), with the
   requests per second, the server's CPU per request and the machine's load average; then stops
   the server (SIGTERM, the graceful stop).

Only loopback is ever a target, every run is bounded by ``--seconds`` (and the logins by 600 s),
and the server is stopped at the end whatever happens. The database must be a year generated
with ``python -m bench.year --proposals N --database URL``; the load adds rows to it (the work
in progress, sessions, tokens, the steps' history), so use a database made for benchmarks."""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import load_setup
from bench.load_clients import PAGES, TRANSITION
from eva_engine.config import default_workflows_dir
from eva_engine.db.unit_of_work import Database
from eva_engine.services.runtime import Eva

PAGE_TARGET_MS, STEP_TARGET_MS = 150.0, 300.0
# The server's access log: '... [02/Dec/2026:05:10:00 +0000] "GET /path HTTP/1.1" 200 ... 12ms 4711'
ACCESS = re.compile(r'\[([^\]]+)\] "(\w+) (\S+) [^"]*" (\d{3}) .* (\d+)ms \S+$')
SERVER_PAGES: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("GET", "My work (all)", re.compile(r"^/(\?.*)?$")),
    ("GET", "proposal list", re.compile(r"^/proposals/(\?.*)?$")),
    ("GET", "proposal page", re.compile(r"^/proposals/\d+$")),
    ("GET", "history", re.compile(r"^/proposals/\d+/history$")),
    ("GET", "API proposal list", re.compile(r"^/api/v1/proposals\?")),
    ("GET", "agenda", re.compile(r"^/meetings/\d+$")),
    ("GET", "audit year", re.compile(r"^/audit/\?")),
    ("POST", TRANSITION, re.compile(r"^/proposals/\d+/transitions/\w+$")),
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by linear interpolation between the closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its children now alive (gunicorn and its workers)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            total += _cpu(current)
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, IndexError, ValueError):
            continue
        pending += [int(c) for c in children]
    return total


def worker_peak_mib(pid: int) -> float:
    """The largest peak resident size (VmHWM) among the server's worker processes, in MiB."""
    peak = 0.0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return float("nan")
    for child in children:
        try:
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except (OSError, IndexError, ValueError):
            continue
    return peak


def database_cpu_seconds(database: str) -> float:
    """CPU of the PostgreSQL backends now connected to ``database`` (their titles name it)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if title.startswith("postgres: ") and f" {database} " in title:
                total += _cpu(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    parts = [float(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0.0)
    return (sum(parts) - idle) / ticks, sum(parts) / ticks


class Sampler(threading.Thread):
    """Every half second: the server's CPU, its database backends' CPU and the machine's, so
    that the figures of the measured window can be read without the logins before it."""

    def __init__(self, pid: int, database: str | None) -> None:
        super().__init__(daemon=True)
        self.pid, self.database = pid, database
        self.samples: list[tuple[float, float, float, float, float]] = []
        self.stopping = threading.Event()

    def sample(self) -> None:
        busy, total = machine_busy()
        db = database_cpu_seconds(self.database) if self.database else 0.0
        self.samples.append((time.time(), cpu_seconds(self.pid), db, busy, total))

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            self.sample()

    def between(self, start: float, end: float) -> tuple[float, float, float]:
        """Server CPU, database CPU and the machine's busy share from ``start`` to ``end``."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return float("nan"), float("nan"), float("nan")
        first, last = inside[0], inside[-1]
        share = (last[3] - first[3]) / max(1e-9, last[4] - first[4])
        scale = (end - start) / max(1e-9, last[0] - first[0])
        return (last[1] - first[1]) * scale, (last[2] - first[2]) * scale, share


@contextmanager
def server(url: str, workers: int, threads: int, log: Path) -> Iterator[tuple[str, int]]:
    """``eva serve`` on a free loopback port; stopped (SIGTERM, then SIGKILL) on leaving."""
    port = free_port()
    env = {
        **os.environ,
        "EVA_DATABASE_URL": url,
        "EVA_ENV": "development",
        "EVA_SECRET_KEY": secrets.token_urlsafe(48),
        "EVA_WEB_ACCESS_LOG": str(log),
        "EVA_WEB_MAX_REQUESTS": "0",  # no worker replaced in the middle of a measurement
    }
    command = [
        sys.executable,
        "-c",
        "from web.cli import main; main()",
        "serve",
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--workers", str(workers), "--threads", str(threads)),
    ]
    errors = log.with_suffix(".err")
    with errors.open("wb") as err:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, env=env, stdout=err, stderr=err, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"eva serve stopped: {errors.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(base + "/login", timeout=5) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit("eva serve did not answer within 120 s")
            time.sleep(0.5)
        yield base, process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@dataclass
class Row:
    page: str
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float
    server_p50: float
    server_p95: float
    target: float

    @property
    def met(self) -> bool:
        return self.failures == 0 and self.p95 < self.target


def server_times(log: Path, window: Sequence[float]) -> dict[str, list[float]]:
    """Durations (ms) the server logged for the requests of the window, by page."""
    found: dict[str, list[float]] = {}
    start, end = window
    for line in log.read_text(errors="replace").splitlines():
        match = ACCESS.search(line)
        if match is None:
            continue
        stamp, method, path, _status, ms = match.groups()
        when = datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z").timestamp()
        if not start <= when <= end + 1:
            continue
        for wanted, page, pattern in SERVER_PAGES:
            if method == wanted and pattern.match(path):
                found.setdefault(page, []).append(float(ms))
    return found


def summarise(result: dict[str, Any], served: dict[str, list[float]]) -> list[Row]:
    by_page: dict[str, list[tuple[float, bool]]] = {}
    for page, _started, ms, ok in result["records"]:
        by_page.setdefault(page, []).append((ms, ok))
    rows = []
    for page in PAGES:
        seen = by_page.get(page, [])
        if not seen:
            continue
        times = [ms for ms, _ in seen]
        key = page if page in served else "My work (all)" if page.startswith("My work") else page
        server_ms = served.get(key, [])
        rows.append(
            Row(
                page=page,
                requests=len(seen),
                failures=sum(1 for _, ok in seen if not ok),
                p50=percentile(times, 50),
                p95=percentile(times, 95),
                p99=percentile(times, 99),
                server_p50=percentile(server_ms, 50),
                server_p95=percentile(server_ms, 95),
                target=STEP_TARGET_MS if page == TRANSITION else PAGE_TARGET_MS,
            )
        )
    return rows


def print_rows(users: int, rows: Sequence[Row], extra: dict[str, float]) -> None:
    print(
        f"\n{users} clients: {extra['rps']:.1f} requests/s; CPU per request: eva"
        f" {extra['cpu_ms']:.1f} ms, PostgreSQL {extra['db_cpu_ms']:.1f} ms; machine busy"
        f" {extra['busy']:.0%} of {os.cpu_count()} cores, load average {extra['load']:.1f};"
        f" a worker's peak memory {extra['worker_peak_mib']:.0f} MiB (target < 200)"
    )
    print(
        f"  {'page':26} {'requests':>8} {'failed':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
        f" {'server p50':>10} {'server p95':>10}  target"
    )
    for r in rows:
        verdict = "met" if r.met else "MISSED"
        print(
            f"  {r.page:26} {r.requests:8} {r.failures:6} {r.p50:8.1f} {r.p95:8.1f} {r.p99:8.1f}"
            f" {r.server_p50:10.1f} {r.server_p95:10.1f}  p95 < {r.target:.0f}: {verdict}"
        )


def database_name(url: str) -> str | None:
    """The database of a PostgreSQL URL (its backends' process titles name it)."""
    if not url.startswith("postgresql"):
        return None
    return url.rsplit("/", 1)[-1].split("?", 1)[0] or None


def report(
    users: int, result: dict[str, Any], log: Path, sampler: Sampler, server_pid: int
) -> dict[str, Any]:
    """The run's figures, printed and returned."""
    start, end = result["window"]
    rows = summarise(result, server_times(log, (start, end)))
    total = sum(r.requests for r in rows)
    server_cpu, database_cpu, busy = sampler.between(start, end)
    load = os.getloadavg()
    extra = {
        "rps": total / max(1e-9, end - start),
        "cpu_ms": 1000.0 * server_cpu / max(1, total),
        "db_cpu_ms": 1000.0 * database_cpu / max(1, total),
        "busy": busy,
        "load": load[0],
        "worker_peak_mib": worker_peak_mib(server_pid),
    }
    print_rows(users, rows, extra)
    for page, messages in result["failures"].items():
        print(f"  failures of {page} ({result['failure_counts'][page]}): {messages}")
    return {
        "users": users,
        **extra,
        "rows": [r.__dict__ for r in rows],
        "window": result["window"],
        "failure_counts": result["failure_counts"],
    }


def run_clients(
    plan_file: Path, base: str, users: int, seconds: float, think: float, out: Path
) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.load_clients",
        *("--plan", str(plan_file), "--host", base, "--users", str(users)),
        *("--seconds", str(seconds), "--think", str(think), "--out", str(out)),
    ]
    subprocess.run(command, check=True, timeout=seconds + 900)  # noqa: S603 - our own
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--database", required=True, help="a year made by bench.year")
    parser.add_argument("--users", default="50", help="clients, or a list: 1,10,50")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time per list entry")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between requests")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker")
    parser.add_argument("--drafts", type=int, default=10, help="drafts of each client's preparer")
    parser.add_argument("--heavy", type=int, default=1900, help="tasks of client 0's preparer")
    parser.add_argument("--reads", type=int, default=10, help="proposals each client reads")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", help="write the figures to this file too")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.users.split(",") if n.strip()]
    if not counts or min(counts) < 1 or args.seconds <= 0 or args.seconds > 3600:
        raise SystemExit("--users: whole numbers from 1; --seconds: from 0 to 3600")

    def say(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    eva = Eva(Database.connect(args.database), default_workflows_dir())
    try:
        load_setup.add_live_work(eva, max(counts), args.drafts, args.heavy, say)
        plan = load_setup.plan(eva, max(counts), args.reads, args.seed)
    finally:
        eva.database.dispose()
    say(f"{plan.proposals} proposals, {plan.events} audit events in the database")
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="eva-load-") as folder:
        work = Path(folder)
        plan_file = work / "plan.json"
        plan_file.write_text(json.dumps(plan.as_json()))
        plan_file.chmod(0o600)  # it holds the clients' tokens
        log = work / "access.log"
        with server(args.database, args.workers, args.threads, log) as (base, pid):
            say(f"eva serve on {base}: {args.workers} workers x {args.threads} threads")
            sampler = Sampler(pid, database_name(args.database))
            sampler.start()
            try:
                for users in counts:
                    say(f"{users} clients for {args.seconds:.0f} s (think {args.think} s)")
                    result = run_clients(
                        plan_file, base, users, args.seconds, args.think, work / "r"
                    )
                    figures.append(report(users, result, log, sampler, pid))
            finally:
                sampler.stopping.set()
    print(
        f"\n{plan.proposals} proposals, {plan.events} events; {args.workers} workers x"
        f" {args.threads} threads; think {args.think} s; {args.seconds:.0f} s per run"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
