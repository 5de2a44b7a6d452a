"""How the CLI speaks: human text by default, JSON with ``--json``, errors on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click
from pydantic import BaseModel, ValidationError

from eva_engine.errors import (
    Conflict,
    Contended,
    EvaError,
    GuardFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Problem,
    TransitionNotAllowed,
    Unavailable,
)
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


def fail(error: EvaError) -> NoReturn:
    ctx = click.get_current_context()
    if ctx.find_root().params.get("as_json"):
        payload = {"error": error.code, "message": error.message, "details": error.details()}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2), err=True)
    else:
        click.secho(f"Error: {error.message}", fg="red", err=True)
        for line in error.details():
            click.echo(f"  - {line}", err=True)
    sys.exit(exit_code(error))


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
            Problem(".".join(str(p) for p in e["loc"]), e["msg"].removeprefix("Value error, "))
            for e in error.errors()
        ]
        fail(InvalidInput("the command's input is not valid", problems))


class RetryingCommand(click.Command):
    """A command run again, a few times, when the database reports contention (a deadlock, a
    lock not granted, SQLite busy); then the conflict's exit code (5), never "unavailable"."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return run_retrying(lambda: super(RetryingCommand, self).invoke(ctx))
        except Contended as error:
            fail(error)


class RetryingGroup(click.Group):
    """The ``eva`` group: every command (and the commands of its subgroups) retries."""

    command_class = RetryingCommand
    group_class = type  # subgroups are RetryingGroups too
