"""The year report over an already generated year (issue 11): how long the report takes.

``python -m bench.report --database URL --org ORG --period YEAR [--repeat N] [--formats
html,csv,xlsx,pdf] [--language fi]`` opens the database (made by ``python -m bench.year``, or
any eva database), then times, as the operator on the server:

* computing the report (``services.reports.queries.report``: the read-only unit of work, its
  queries and the folding of the history), the public and the internal version, each
  ``--repeat`` times (the first run of a process also reads and checks the workflow versions),
  in wall-clock and in this process's CPU seconds (``time.process_time``: on SQLite that
  includes the database's own work, on PostgreSQL not the server's);
  the SQL statements of one run are counted (they must not grow with the year's size);
* rendering the internal report in each format (``eva_engine.reports.render``), ``--repeat``
  times each (the PDF at most twice: WeasyPrint's layout takes seconds);

and prints the figures (the first run of each, and the median of the later ones, which the
totals use) with the database's size and the machine's load. The internal version
records its disclosure (``report.internal_read``) like any internal report: the database gets
those events."""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy import event, func, select

from eva_engine.config import default_workflows_dir
from eva_engine.db.unit_of_work import Database
from eva_engine.models import AuditEvent, FollowUp, Meeting, Proposal
from eva_engine.reports.render import FORMATS, PAGE_ROWS, Format, fragment, render
from eva_engine.services.reports.queries import ReportRequest, report
from eva_engine.services.reports.views import ReportView
from eva_engine.services.runtime import Caller, Eva

OPERATOR = Caller(None, "bench-report")
LIMIT_SECONDS = 5.0  # issue 11: a year report of a large city in under 5 seconds


@contextmanager
def counted(eva: Eva) -> Iterator[list[str]]:
    statements: list[str] = []

    def note(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = eva.database.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def timed(
    action: Callable[[], Any], repeat: int, cpu: list[float] | None = None
) -> tuple[list[float], Any]:
    """Wall-clock seconds of each run (and, into ``cpu``, this process's CPU seconds: the
    figure that a machine shared with other work inflates least)."""
    spent, result = [], None
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = action()
        spent.append(time.perf_counter() - started)
        if cpu is not None:
            cpu.append(time.process_time() - started_cpu)
    return spent, result


def sizes(eva: Eva) -> dict[str, int]:
    with eva.database.engine.connect() as conn:
        return {
            name: int(conn.execute(select(func.count()).select_from(model)).scalar_one())
            for name, model in (
                ("proposals", Proposal),
                ("meetings", Meeting),
                ("follow-ups", FollowUp),
                ("audit events", AuditEvent),
            )
        }


def warm(spent: list[float]) -> float:
    """The median of the runs after the first (the first also loads templates, fonts...)."""
    return statistics.median(spent[1:] or spent)


def _line(name: str, spent: list[float], cpu: list[float] | None = None) -> str:
    line = f"  {name:28} first {spent[0]:7.3f} s   median of the rest {warm(spent):7.3f} s"
    if cpu:
        line += f"   CPU first {cpu[0]:7.3f} s, median of the rest {warm(cpu):7.3f} s"
    return line


def time_page(view: ReportView, language: str, repeat: int) -> dict[str, list[float]]:
    """The web page's sections: the first ``PAGE_ROWS`` rows of each list."""
    spent, page = timed(functools.partial(fragment, view, language, page_limit=PAGE_ROWS), repeat)
    return {f"render page ({len(page) // 1024} KiB)": spent}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("--database", required=True, help="the database's URL")
    parser.add_argument("--org", required=True, help="the organisation's code")
    parser.add_argument("--period", required=True, help="a year (2026), years or dates")
    parser.add_argument("--body", help="one body's code")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--language", default="fi", choices=("fi", "sv", "en"))
    parser.add_argument(
        "--version",
        default="both",
        choices=("public", "internal", "both"),
        help="which versions to compute (the rendering uses the internal one, if computed)",
    )
    args = parser.parse_args(argv)
    formats: list[Format] = [f for f in FORMATS if f in args.formats.split(",")]
    eva = Eva(Database.connect(args.database), default_workflows_dir())
    results: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    statements: dict[str, int] = {}
    try:
        size = sizes(eva)
        views: dict[bool, ReportView] = {}
        chosen = {"public": (True,), "internal": (False,), "both": (True, False)}[args.version]
        for public in chosen:
            name = "public" if public else "internal"
            request = ReportRequest(
                organisation=args.org, period=args.period, body=args.body, public=public
            )
            with counted(eva) as seen:
                report(eva, OPERATOR, request)
            statements[name] = len(seen)
            cpu: list[float] = []
            spent, view = timed(functools.partial(report, eva, OPERATOR, request), args.repeat, cpu)
            results[f"compute ({name})"] = spent
            cpus[f"compute ({name})"] = cpu
            views[public] = view
        results.update(time_page(views[min(views)], args.language, args.repeat))
        for output in formats:
            repeat = min(2, args.repeat) if output == "pdf" else args.repeat
            spent, content = timed(
                functools.partial(render, views[min(views)], output, args.language), repeat
            )
            results[f"render {output} ({len(content) // 1024} KiB)"] = spent
    finally:
        eva.database.dispose()
    view = views[min(views)]  # the internal one (False) when computed
    click.echo(
        f"database: {eva.database.engine.dialect.name}; "
        + ", ".join(f"{n} {v}" for n, v in size.items())
    )
    handled = sum(o.count or 0 for o in view.outcomes.handled)
    click.echo(
        f"report {args.org} {args.period}: {handled} handlings, "
        f"{len(view.decisions)} listed, {view.agenda_total.items} agenda items, "
        f"{len(view.follow_ups)} follow-up results, {len(view.overdue)} overdue"
    )
    click.echo(
        "statements of one computation: " + ", ".join(f"{n} {c}" for n, c in statements.items())
    )
    for name, spent in results.items():
        click.echo(_line(name, spent, cpus.get(name)))
    compute = warm(results["compute (internal)" if False in views else "compute (public)"])
    return verdict(compute, results, formats)


def verdict(compute: float, results: dict[str, list[float]], formats: Sequence[Format]) -> int:
    """The totals (the warm compute plus each warm render), the page's and each format's, and
    whether the slowest is under the limit (0) or not (1)."""
    slowest = compute + warm(next(s for n, s in results.items() if n.startswith("render page")))
    click.echo(f"  total page   (compute + render) {slowest:7.3f} s")
    for output in formats:
        render_spent = next(s for n, s in results.items() if n.startswith(f"render {output} "))
        total = compute + warm(render_spent)
        slowest = max(slowest, total)
        click.echo(f"  total {output:6} (compute + render) {total:7.3f} s")
    click.echo(f"machine load (1, 5, 15 min): {os.getloadavg()}")
    said = "under" if slowest < LIMIT_SECONDS else "OVER"
    click.echo(f"slowest format {slowest:.2f} s: {said} {LIMIT_SECONDS:.0f} s")
    return 0 if slowest < LIMIT_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
