"""``eva report``: the report for a period and scope as HTML, CSV, XLSX or PDF
(docs/reports.md), the same files the web UI and the API give. An internal report
(without ``--public``) is recorded as a disclosure."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from eva_engine.cli.commands import cli
from eva_engine.cli.context import AS_HELP, caller, engine
from eva_engine.cli.output import Unit, reported
from eva_engine.cli.words import Words
from eva_engine.reports.render import FORMATS, LANGUAGES, Format, render
from eva_engine.services.reports.period import parse_period
from eva_engine.services.reports.queries import STEPS, ReportRequest, report

# A period longer than this shows a progress bar (on a terminal).
LARGE_DAYS = 366


@cli.command("report", unit=Unit.READ)
@click.option(
    "--period",
    required=True,
    help="A year (2026), years (2025-2028) or dates (2026-01-01..2026-06-30).",
)
@click.option(
    "--org", "organisation", metavar="ORG", required=True, help="The organisation's code."
)
@click.option("--body", metavar="CODE", default=None, help="Only this body (its code).")
@click.option("--format", "output", type=click.Choice(FORMATS), default="html", show_default=True)
@click.option("--language", type=click.Choice(LANGUAGES), default="fi", show_default=True)
@click.option(
    "--public",
    is_flag=True,
    help="The public version: counts below five suppressed, no non-public proposal, no names.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="Where to write the file ('-': standard output).",
)
@click.option("--as", "username", metavar="USER", default=None, help=AS_HELP)
def report_command(
    period: str,
    organisation: str,
    body: str | None,
    output: Format,
    language: str,
    public: bool,
    out: Path,
    username: str | None,
) -> None:
    """Write the report of ORG for PERIOD."""
    with reported():
        request = ReportRequest(
            organisation=organisation, period=period, body=body, public=public, output=output
        )
        large = parse_period(period).days > LARGE_DAYS
        w = Words.here()
        with click.progressbar(
            length=len(STEPS) + 1,
            label=w._("Report"),
            file=sys.stderr,
            hidden=not large,
        ) as bar:
            view = report(engine(), caller(username), request, progress=lambda _step: bar.update(1))
            content = render(view, output, language)
            bar.update(1)
        if str(out) == "-":
            sys.stdout.buffer.write(content)
            return
        out.write_bytes(content)
        click.echo(w._("Wrote %(file)s (%(size)s bytes).", file=out, size=len(content)), err=True)
