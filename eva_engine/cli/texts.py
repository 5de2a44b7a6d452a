"""``eva proposals texts``: the texts of the minutes of a proposal: the presentation text
(grounds, esittelyteksti), the decision proposal (päätösehdotus) and the decision as made
(päätös), in Finnish and Swedish, with the same rules as the web UI and the API."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from eva_engine.cli.commands import proposals_group
from eva_engine.cli.context import as_user, caller, engine
from eva_engine.cli.output import Unit, emit, reported
from eva_engine.cli.params import ID, choices
from eva_engine.cli.words import Words
from eva_engine.errors import N_, InvalidInput, Problem, Text
from eva_engine.services.proposals import texts as proposal_texts
from eva_engine.vocabulary import TextKind, TextLanguage


@proposals_group.group("texts")
def texts_group() -> None:
    """The texts of the minutes: grounds, decision proposal, decision (fi, sv)."""


@texts_group.command("show", unit=Unit.READ)
@click.argument("proposal_id", type=ID)
@as_user
def texts_show(proposal_id: int, username: str | None) -> None:
    """Print the proposal's texts and which of them you may write now."""
    with reported():
        view = proposal_texts.texts(engine(), caller(username), proposal_id)

        w = Words.here()

        def human() -> None:
            click.echo(
                w._(
                    "Proposal %(id)s: %(state)s, version %(version)s",
                    id=view.proposal_id,
                    state=w.state(view.state),
                    version=view.row_version,
                )
            )
            for text in view.texts:
                heading = f"{w.text_kind(text.kind)} {w.text_language(text.language)}"
                writer = text.written_by_name or text.written_by  # by name
                who = f", {writer}" if writer else ""
                click.echo(f"\n[{heading}{who}, {w.time(text.updated_at)}]")
                click.echo(text.content)
            if not view.texts:
                click.echo(w._("No texts written yet."))
            writable = ", ".join(f"{w.text_kind(k)} ({k.value})" for k in view.writable) or w._(
                "none"
            )
            click.echo("\n" + w._("You may write now: %(texts)s.", texts=writable))

        emit(view, human)


def _content(text: str | None, file: Path | None, clear: bool) -> str:
    given = [text is not None, file is not None, clear].count(True)
    if given != 1:
        one_way = Text(N_("Give the text one way: one of --text, --file or --clear."))
        raise InvalidInput(one_way, [Problem.of("--text", one_way)])
    if clear:
        return ""
    if file is not None:
        try:
            if str(file) == "-":
                return sys.stdin.read()
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            unreadable = Text(
                N_("The file %(file)s cannot be read as UTF-8 text: check its name and encoding."),
                {"file": str(file)},
            )
            raise InvalidInput(unreadable, [Problem.of(str(file), unreadable)]) from exc
    return text or ""


@texts_group.command("set")
@click.argument("proposal_id", type=ID)
@click.argument("kind", type=choices(TextKind))
@click.option("--language", type=choices(TextLanguage), default="fi", show_default=True)
@click.option("--text", "text", help="The text (paragraphs separated by an empty line).")
@click.option(
    "--file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the text from this UTF-8 file ('-': standard input).",
)
@click.option("--clear", is_flag=True, help="Remove the text (the history keeps it).")
@click.option(
    "--if-version",
    "expected_version",
    type=ID,
    help="Refuse if the proposal is no longer at this version.",
)
@as_user
def texts_set(
    proposal_id: int,
    kind: str,
    language: str,
    text: str | None,
    file: Path | None,
    clear: bool,
    expected_version: int | None,
    username: str | None,
) -> None:
    """Write one text of a proposal: KIND is grounds, decision_proposal or decision.

    The preparer writes the grounds and the decision proposal while the proposal is being
    prepared; the committee secretary writes the decision once it is decided."""
    with reported():
        view = proposal_texts.write_texts(
            engine(),
            caller(username),
            proposal_texts.WriteTexts(
                proposal_id=proposal_id,
                texts=[
                    proposal_texts.TextIn(
                        kind=TextKind(kind),
                        language=TextLanguage(language),
                        content=_content(text, file, clear),
                    )
                ],
                expected_version=expected_version,
            ),
        )
        w = Words.here()
        done = (
            N_("Proposal %(id)s: %(text)s %(language)s removed; version %(version)s.")
            if clear
            else N_("Proposal %(id)s: %(text)s %(language)s written; version %(version)s.")
        )
        emit(
            view,
            lambda: click.echo(
                w._(
                    done,
                    id=view.proposal_id,
                    text=w.text_kind(kind),
                    language=w.text_language(language),
                    version=view.row_version,
                )
            ),
        )
