"""What the command line prints for a person, in the language it speaks (``--language``, else
the locale's: ``output.cli_language``): labels and table headers from the catalogs, the
workflow's states, steps and task kinds and the checklists' impact areas by their titles,
people by name where a view has it, dates and times as the language writes them (Finnish:
``13.6.2023 klo 17.00``). Ids a person types back into a command (a proposal's number, a
follow-up's) stay. ``--json`` prints the views as they are, in English keys
(``output.emit``): nothing here touches it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import click

from eva_engine.cli.context import engine
from eva_engine.cli.output import cli_language
from eva_engine.errors import N_, EvaError
from eva_engine.localized import LocalizedText
from eva_engine.rendering.labels import (
    ASSIGNMENT_STATES,
    BODY_KINDS,
    COMMENT_STATUSES,
    COMMENT_TARGETS,
    ORGANISATION_KINDS,
    Glossary,
    Labels,
)
from eva_engine.rendering.language import Speaker, format_date, format_time
from eva_engine.reports.labels import RESULTS, SOURCES

# The texts of the minutes, as the web UI heads them.
TEXT_KINDS = {
    "grounds": N_("Presentation text"),
    "decision_proposal": N_("Decision proposal"),
    "decision": N_("Decision"),
}
TEXT_LANGUAGES = {"fi": N_("in Finnish"), "sv": N_("in Swedish")}
FOLLOW_UP_STATES = {"open": N_("Open"), "done": N_("Result recorded"), "waived": N_("Waived")}
TOKEN_STATES = {"active": N_("active"), "expired": N_("expired"), "revoked": N_("revoked")}

NOTHING = "–"  # an empty value, in every language


class Words:
    """The words of one invocation in one language. ``glossary``: the titles of the
    definitions' ids (by default those of the definitions folder, read when first asked)."""

    def __init__(self, language: str, glossary: Glossary | None = None) -> None:
        self.language = language
        self.speaker = Speaker(language)
        self.labels = Labels(self.speaker.gettext)
        self._glossary = glossary

    @classmethod
    def here(cls, language: str | None = None) -> Words:
        """The words of the running command (``language``: a command's own choice)."""
        return cls(language or cli_language())

    @property
    def glossary(self) -> Glossary:
        if self._glossary is None:
            try:
                self._glossary = Glossary.of(engine().catalogue.bundles.values())
            except EvaError:  # definitions that do not load: their ids read as themselves
                self._glossary = Glossary()
        return self._glossary

    # messages
    def _(self, message: str, **variables: Any) -> str:
        """``message`` (a msgid marked where it is written) in this language."""
        return self.speaker.gettext(message, **variables)

    def labelled(self, label: str, value: object) -> str:
        """``label: value``, ``label`` a message marked where it is written (``N_``)."""
        return f"{self._(label)}: {value}"

    def label(self, table: Mapping[str, str], value: str | None) -> str:
        if value is None or value == "":
            return NOTHING
        return self.labels.label(table, str(value))

    # the definitions' words
    def text(self, value: LocalizedText | None) -> str:
        return value.get(self.language) if value is not None else NOTHING

    def pick(self, fi: str, sv: str | None, en: str | None) -> str:
        """Of a view's three titles (``title_fi``, ``title_sv``, ``title_en``), this language's."""
        chosen = {"fi": fi, "sv": sv, "en": en}.get(self.language)
        return chosen or fi

    def proposal_title(self, title_fi: str, title_sv: str | None) -> str:
        """A proposal's title: in Swedish where it has one and Swedish is read, else Finnish."""
        return (title_sv if self.language == "sv" else None) or title_fi

    def _titled(self, table: Mapping[str, LocalizedText], key: str | None) -> str:
        if not key:
            return NOTHING
        found = table.get(key)
        return found.get(self.language) if found is not None else key

    def state(self, state: str | None) -> str:
        """A workflow state by its title."""
        return self._titled(self.glossary.states, state)

    def step(self, trigger: str | None) -> str:
        """A workflow step (a trigger) by its title."""
        return self._titled(self.glossary.triggers, trigger)

    def task(self, kind: str | None) -> str:
        """A task kind by its title."""
        return self._titled(self.glossary.kinds, kind)

    def area(self, area: str | None) -> str:
        """An impact area by its title in the checklists."""
        return self._titled(self.glossary.areas, area)

    def question(self, question: str | None) -> str:
        return self._titled(self.glossary.questions, question)

    def choice(self, choice: str | None) -> str:
        """A screening criterion or exemption by its text."""
        return self._titled(self.glossary.choices, choice)

    def person(self, name: str | None, username: str | None) -> str:
        """A person by their full name, with the username a command takes (``--as``)."""
        if name and username and name != username:
            return f"{name} ({username})"
        return name or username or NOTHING

    # the vocabularies
    def role(self, role: Any) -> str:
        return self.labels.role_name(str(getattr(role, "value", role)))

    def roles(self, roles: Iterable[Any]) -> str:
        return ", ".join(self.role(r) for r in roles) or NOTHING

    def publicity(self, value: Any) -> str:
        return self.labels.publicity_name(str(getattr(value, "value", value)))

    def screening(self, value: Any) -> str:
        return self.labels.screening_name(str(getattr(value, "value", value)))

    def outcome(self, value: Any) -> str:
        """A meeting's outcome."""
        return self.labels.outcome_name(str(getattr(value, "value", value)))

    def vocabulary(self, kind: str, value: Any) -> str:
        return self.labels.vocabulary(kind, str(getattr(value, "value", value)))

    def enum(self, table: Mapping[str, str], value: Any) -> str:
        """A stored vocabulary value (an enum's or a string) by its label in ``table``."""
        return self.label(table, None if value is None else str(getattr(value, "value", value)))

    def assignment_state(self, value: Any) -> str:
        return self.enum(ASSIGNMENT_STATES, value)

    def comment_target(self, value: Any) -> str:
        return self.enum(COMMENT_TARGETS, value)

    def comment_status(self, value: Any) -> str:
        return self.enum(COMMENT_STATUSES, value)

    def kind(self, value: Any) -> str:
        """A body's or an organisation's kind."""
        return self.enum(BODY_KINDS | ORGANISATION_KINDS, value)

    def follow_up_state(self, value: Any) -> str:
        return self.enum(FOLLOW_UP_STATES, value)

    def follow_up_result(self, value: Any) -> str:
        return self.enum(RESULTS, value)

    def source(self, value: Any) -> str:
        return self.enum(SOURCES, value)

    def text_kind(self, value: Any) -> str:
        return self.enum(TEXT_KINDS, value)

    def text_language(self, value: Any) -> str:
        return self.enum(TEXT_LANGUAGES, value)

    def yes_no(self, value: bool) -> str:
        return self._("yes") if value else self._("no")

    # dates and times
    def date(self, value: date | datetime | None) -> str:
        return format_date(value, self.language) if value is not None else NOTHING

    def time(self, value: datetime | None) -> str:
        return format_time(value, self.language) if value is not None else NOTHING

    # tables
    def table(self, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
        """Lines of a table: ``headers`` (messages, translated here) over ``rows`` (values
        already in words), each column as wide as its widest cell."""
        head = [self._(h) for h in headers]
        body = [[NOTHING if c is None or c == "" else str(c) for c in row] for row in rows]
        widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
        return [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in [head, *body]
        ]


class Asked(click.Option):
    """An option asked for when not given (``prompt``, a message marked with ``N_``), in the
    command's language: the question, and the request to repeat a password."""

    def prompt_for_value(self, ctx: click.Context) -> Any:
        question, again = self.prompt, self.confirmation_prompt
        w = Words.here()
        if question:
            self.prompt = w._(question)
        # The value asked again here rather than by click, whose "do not match" is English.
        self.confirmation_prompt = False
        try:
            while True:
                value = super().prompt_for_value(ctx)
                if not again:
                    return value
                repeated = click.prompt(
                    w._("Repeat for confirmation"), hide_input=self.hide_input, type=str
                )
                if repeated == str(value):
                    return value
                click.echo(w._("The two values do not match: type them again."), err=True)
        finally:
            self.prompt, self.confirmation_prompt = question, again
