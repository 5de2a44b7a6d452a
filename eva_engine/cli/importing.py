"""``eva import``: cases and proposals from a case-management system's export (docs/exchange.md)."""

from __future__ import annotations

from pathlib import Path

import click

from eva_engine.cli.commands import cli
from eva_engine.cli.context import engine
from eva_engine.cli.output import emit, reported
from eva_engine.cli.words import Words
from eva_engine.errors import N_, InvalidInput, Problem, Text
from eva_engine.rendering.messages import problem_text
from eva_engine.services.exchange import importing
from eva_engine.services.runtime import Caller


@cli.group("import")
def import_group() -> None:
    """Import from case-management systems (Dynasty, Tweb, CloudNC, Ahjo...)."""


def _print(w: Words, report: importing.ImportReport) -> None:
    where = w._(
        "%(file)s into %(organisation)s", file=report.source, organisation=report.organisation
    )
    if report.source_system:
        where += " " + w._("(source %(system)s)", system=report.source_system)
    if report.dry_run:
        click.echo(
            w._(
                "Dry run, nothing was written: %(count)s new case(s) in %(where)s.",
                count=len(report.created),
                where=where,
            )
        )
    else:
        click.echo(
            w._(
                "Imported %(count)s new proposal(s) from %(where)s.",
                count=len(report.created),
                where=where,
            )
        )
    for case in report.created:
        target = (
            w._("proposal %(id)s", id=case.proposal_id) if case.proposal_id else w._("new proposal")
        )
        line = w._("line %(line)s", line=case.line)
        click.echo(f"  {line}: {case.external_id} {case.case_number} → {target}")
    if report.existing:
        click.echo(w._("Imported before, left unchanged: %(count)s.", count=len(report.existing)))
        for case in report.existing:
            line = w._("line %(line)s", line=case.line)
            target = w._("proposal %(id)s", id=case.proposal_id)
            click.echo(f"  {line}: {case.external_id} {case.case_number} = {target}")
    if report.skipped:
        click.echo(w._("Skipped %(count)s bad row(s):", count=len(report.skipped)))
        for skipped in report.skipped:
            for problem in skipped.problems:
                click.echo(f"  {problem_text(problem, w.language)}")


@import_group.command("proposals")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--org", "organisation", required=True, help="The organisation to import into.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    help="Default: from the file name (.csv or .json).",
)
@click.option(
    "--source", "source_system", help="The source system, e.g. dynasty (unless the file names it)."
)
@click.option("--as", "username", metavar="USER", help="The user who imports.")
@click.option("--skip-invalid", is_flag=True, help="Import the good rows, report the bad ones.")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_proposals(
    file: Path,
    organisation: str,
    fmt: importing.Format | None,
    source_system: str | None,
    username: str | None,
    skip_invalid: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Create proposals from a CSV or JSON export of cases.

    Every row is checked first; a file with a bad row imports nothing (each bad row is named
    with its line and field) unless --skip-invalid is given. Cases imported before (same source
    system and external id) are left unchanged."""
    if as_json:
        click.get_current_context().find_root().params["as_json"] = True
    with reported():
        try:
            data = file.read_bytes()
        except OSError as exc:
            cannot = Text(
                N_("The file %(file)s cannot be read (%(error)s): check its name and rights."),
                {"file": file.name, "error": exc.strerror or str(exc)},
            )
            raise InvalidInput(cannot, [Problem.of(file.name, cannot)]) from exc
        report = importing.import_proposals(
            engine(),
            Caller(username, f"import:{file.name}"),
            organisation,
            data,
            file.name,
            fmt=fmt,
            source_system=source_system,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
        )
        w = Words.here()
        emit(report, lambda: _print(w, report))
