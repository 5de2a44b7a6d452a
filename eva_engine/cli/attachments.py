"""``eva attachments``: a proposal's attachments (liitteet) and an assessment area's evidence,
with the same limits and rules as the web UI and the API (``services.attachments``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from eva_engine.cli.commands import cli
from eva_engine.cli.context import as_user, caller, engine
from eva_engine.cli.output import Unit, emit, reported
from eva_engine.cli.params import ID, choices
from eva_engine.cli.words import Words
from eva_engine.errors import N_, InvalidInput, Problem, Text
from eva_engine.services.attachments import commands, queries
from eva_engine.vocabulary import Publicity


@cli.group("attachments")
def attachments_group() -> None:
    """Attachments of proposals (liitteet) and evidence of assessment areas."""


def _read(file: Path) -> bytes:
    try:
        with file.open("rb") as handle:
            return handle.read(commands.MAX_ATTACHMENT_BYTES + 1)
    except OSError as exc:
        unreadable = Text(
            N_("The file %(file)s cannot be read: check its name."), {"file": str(file)}
        )
        raise InvalidInput(unreadable, [Problem.of(str(file), unreadable)]) from exc


@attachments_group.command("add")
@click.argument("proposal_id", type=ID)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", "file_name", help="The attachment's name (default: the file's).")
@click.option("--publicity", type=choices(Publicity), default="public", show_default=True)
@click.option("--ground", "confidentiality_ground", help="The legal ground, if not public.")
@click.option("--area", help="The assessment area the file is evidence of.")
@as_user
def attachments_add(
    proposal_id: int,
    file: Path,
    file_name: str | None,
    publicity: str,
    confidentiality_ground: str | None,
    area: str | None,
    username: str | None,
) -> None:
    """Attach FILE to a proposal (its preparer or an expert, while it is being prepared)."""
    with reported():
        view = commands.add_attachment(
            engine(),
            caller(username),
            commands.AddAttachment(
                proposal_id=proposal_id,
                file_name=file_name or file.name,
                content=_read(file),
                publicity=Publicity(publicity),
                confidentiality_ground=confidentiality_ground,
                area=area,
            ),
        )
        w = Words.here()
        emit(
            view,
            lambda: click.echo(
                w._(
                    "Attachment %(id)s: %(name)s (%(type)s, %(size)s bytes, %(publicity)s) "
                    "on proposal %(proposal)s.",
                    id=view.id,
                    name=view.file_name,
                    type=view.media_type,
                    size=view.size,
                    publicity=w.publicity(view.publicity),
                    proposal=view.proposal_id,
                )
            ),
        )


@attachments_group.command("list", unit=Unit.READ)
@click.argument("proposal_id", type=ID)
@as_user
def attachments_list(proposal_id: int, username: str | None) -> None:
    """List a proposal's attachments with their publicity."""
    with reported():
        view = queries.attachments(engine(), caller(username), proposal_id)

        w = Words.here()

        def human() -> None:
            if not view.attachments:
                click.echo(w._("No attachments."))
                return
            rows = [
                [
                    a.id,
                    a.file_name,
                    a.media_type,
                    a.size,
                    w.publicity(a.publicity)
                    + (f" ({a.confidentiality_ground})" if a.confidentiality_ground else ""),
                    w.area(a.area) if a.area else "",
                    a.uploaded_by_name or a.uploaded_by,
                    w.time(a.uploaded_at),
                ]
                for a in view.attachments
            ]
            headers = [
                N_("No."),
                N_("File"),
                N_("Type"),
                N_("Size"),
                N_("Publicity"),
                N_("Evidence of"),
                N_("Added by"),
                N_("Added"),
            ]
            for line in w.table(headers, rows):
                click.echo(line)

        emit(view, human)


@attachments_group.command("get", unit=Unit.READ)
@click.argument("attachment_id", type=ID)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the file here ('-': standard output; default: its own name here).",
)
@as_user
def attachments_get(attachment_id: int, output: Path | None, username: str | None) -> None:
    """Download an attachment (a non-public one's download is recorded in the history)."""
    with reported():
        got = queries.download(engine(), caller(username), attachment_id)
        if output is not None and str(output) == "-":
            sys.stdout.buffer.write(got.content)
            return
        target = output or Path(got.view.file_name)
        target.write_bytes(got.content)
        w = Words.here()
        emit(
            got.view,
            lambda: click.echo(
                w._("Wrote %(file)s (%(size)s bytes).", file=target, size=got.view.size)
            ),
        )


@attachments_group.command("remove")
@click.argument("attachment_id", type=ID)
@as_user
def attachments_remove(attachment_id: int, username: str | None) -> None:
    """Remove an attachment from its proposal (the history and backups keep it)."""
    with reported():
        view = commands.remove_attachment(
            engine(), caller(username), commands.RemoveAttachment(attachment_id=attachment_id)
        )
        w = Words.here()
        emit(
            view,
            lambda: click.echo(
                w._("Attachment %(id)s (%(name)s) removed.", id=view.id, name=view.file_name)
            ),
        )
