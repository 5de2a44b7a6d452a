"""How the CLI speaks: human text by default, JSON with ``--json``, errors on stderr in the
reader's language: ``--language fi|sv|en``, else the locale's (``LC_ALL``, ``LC_MESSAGES``,
``LANG``; a C or POSIX locale reads English, another language Finnish)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, NoReturn

import click
from pydantic import BaseModel, ValidationError

from eva_engine.cli.context import engine
from eva_engine.errors import (
    N_,
    Conflict,
    Contended,
    EvaError,
    GuardFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Problem,
    Text,
    TransitionNotAllowed,
    Unavailable,
)
from eva_engine.rendering.language import LANGUAGES, language_or_default, translations
from eva_engine.rendering.messages import error_text, problem_text
from eva_engine.services import fields
from eva_engine.services.runtime import retry_active, run_retrying

EXIT_CODES: dict[type[EvaError], int] = {
    NotFound: 3,
    PermissionDenied: 4,
    Conflict: 5,
    GuardFailed: 6,
    TransitionNotAllowed: 6,
    InvalidInput: 7,
    Unavailable: 9,
}


def exit_code(error: EvaError) -> int:
    for kind in type(error).__mro__:
        if kind in EXIT_CODES:
            return EXIT_CODES[kind]
    return 1


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    return value


def emit(value: Any, human: Callable[[], None]) -> None:
    ctx = click.get_current_context()
    if ctx.find_root().params.get("as_json"):
        click.echo(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2))
    else:
        human()


def emit_lines(value: Any, lines: Callable[[], Iterable[str]]) -> None:
    """``value`` as JSON under ``--json``, else the lines made for a person, one per row."""

    def human() -> None:
        for line in lines():
            click.echo(line)

    emit(value, human)


def locale_language(environ: Mapping[str, str] | None = None) -> str:
    """The language of the locale: fi, sv or en; a C or POSIX (or no) locale is English,
    any other language Finnish (eva's own)."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            code = value.split(".")[0].split("_")[0].lower()
            if code in ("c", "posix"):
                return "en"
            return language_or_default(code)
    return "en"


def cli_language() -> str:
    """The language the command line speaks now (``--language``, else the locale's)."""
    ctx = click.get_current_context(silent=True)
    chosen = ctx.find_root().params.get("language") if ctx else None
    return str(chosen) if chosen in LANGUAGES else locale_language()


def fail(error: EvaError) -> NoReturn:
    ctx = click.get_current_context()
    language = cli_language()
    message = error_text(error, language)
    details = [problem_text(p, language) for p in getattr(error, "problems", [])]
    if ctx.find_root().params.get("as_json"):
        payload = {"error": error.code, "message": message, "details": details}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2), err=True)
    else:
        label = translations(language).gettext(ERROR)
        click.secho(f"{label}: {message}", fg="red", err=True)
        for line in details:
            click.echo(f"  - {line}", err=True)
    sys.exit(exit_code(error))


ERROR = N_("Error")


@contextmanager
def reported() -> Iterator[None]:
    """Turn the engine's errors (and invalid commands) into a message and an exit code.
    Contention is left to the command's runner (``RetryingCommand``), which runs the command
    again before reporting it."""
    try:
        yield
    except Contended as error:
        if retry_active():
            raise
        fail(error)
    except EvaError as error:
        fail(error)
    except ValidationError as error:
        problems = [
            Problem.of(fields.location(item), fields.what(item))
            for item in error.errors(include_url=False)
        ]
        fail(InvalidInput(Text(N_("The command's input is not valid: correct it.")), problems))


class Unit(StrEnum):
    """The unit of work a command opens (``@group.command(..., unit=Unit.READ)``)."""

    WRITE = "write"  # one writing transaction, committed once the command has succeeded
    READ = "read"  # one read-only snapshot (SQLite deferred BEGIN; PostgreSQL READ ONLY)
    OWN = "own"  # the command manages its transactions itself (docs/architecture.md)
    NONE = "none"  # the command touches no database


class RetryingCommand(click.Command):
    """A command that owns its unit of work: it runs in one transaction (``Unit.WRITE``, the
    default) or one read-only snapshot (``Unit.READ``) that every service it calls joins, and
    commits only when the command has succeeded (an error or a refusal undoes all of it).
    When the database reports contention (a deadlock, a lock not granted, SQLite busy) the
    whole command runs again, a few times; then the conflict's exit code (5), never
    "unavailable"."""

    def __init__(self, *args: Any, unit: Unit = Unit.WRITE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unit = unit

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return run_retrying(lambda: self._in_unit_of_work(ctx))
        except Contended as error:
            fail(error)

    def _in_unit_of_work(self, ctx: click.Context) -> Any:
        run = super().invoke
        if self.unit in (Unit.OWN, Unit.NONE):
            return run(ctx)
        with reported():
            eva = engine(ctx)
        if self.unit is Unit.READ:
            # The reads the law makes into audit events are written when it ends, in one
            # short transaction of their own (``UnitOfWork``), as for a reading web request.
            with eva.reading():
                return run(ctx)
        with eva.transaction() as uow:
            done = run(ctx)
            with reported():
                uow.commit()
            return done


class RetryingGroup(click.Group):
    """The ``eva`` group: every command (and the commands of its subgroups) retries."""

    command_class = RetryingCommand
    group_class = type  # subgroups are RetryingGroups too
