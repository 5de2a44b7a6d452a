"""``eva export``: the assessment summary (HTML or text, fi/sv/en) and the whole assessment as
JSON, for case-management systems (docs/exchange.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import click

from eva_engine.cli.commands import cli
from eva_engine.cli.context import engine
from eva_engine.cli.output import Unit, reported
from eva_engine.cli.params import ID
from eva_engine.cli.words import Words
from eva_engine.errors import N_, InvalidInput, Problem, Text
from eva_engine.rendering.summary import render_summary
from eva_engine.services.assessment import documents
from eva_engine.services.exchange import summaries
from eva_engine.services.runtime import Caller
from eva_engine.vocabulary import Language

output_option = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: print).",
)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        cannot = Text(
            N_("The file %(file)s cannot be written (%(error)s): choose another place."),
            {"file": output.name, "error": exc.strerror or str(exc)},
        )
        raise InvalidInput(cannot, [Problem.of(output.name, cannot)]) from exc
    click.echo(Words.here()._("Wrote %(file)s.", file=output), err=True)


@cli.group("export")
def export_group() -> None:
    """Give assessments back to case-management systems."""


@export_group.command("summary", unit=Unit.READ)
@click.argument("proposal_id", type=ID)
@click.option("--as", "username", metavar="USER", help="The user who exports.")
@click.option(
    "--format", "kind", type=click.Choice(["html", "text"]), default="text", show_default=True
)
@click.option(
    "--language",
    type=click.Choice([lang.value for lang in Language]),
    default="fi",
    show_default=True,
)
@click.option(
    "--public",
    is_flag=True,
    help="For publication: confidential parts left out (refused for a confidential proposal).",
)
@output_option
def export_summary(
    proposal_id: int,
    username: str | None,
    kind: Literal["html", "text"],
    language: str,
    public: bool,
    output: Path | None,
) -> None:
    """The assessment summary for the proposal's reasoning text (esittelijän perustelut)."""
    with reported():
        view = summaries.summary(
            engine(), Caller(username, "cli:export"), proposal_id, public=public
        )
        _write(render_summary(view, kind, language), output)


@export_group.command("assessment", unit=Unit.READ)
@click.argument("proposal_id", type=ID)
@click.option("--as", "username", metavar="USER", help="The user who exports.")
@output_option
def export_assessment(proposal_id: int, username: str | None, output: Path | None) -> None:
    """The whole assessment as JSON (eva.assessment/1, read by 'eva assessment import')."""
    with reported():
        document = summaries.export_assessment(
            engine(), Caller(username, "cli:export"), proposal_id
        )
        view = documents.AssessmentView.of(document)  # as the API gives it
        text = json.dumps(view.model_dump(mode="json"), ensure_ascii=False, indent=2)
        _write(text + "\n", output)
