"""What a form's service command refused, as the problems its page shows: shared by the views
whose forms post one command and show its refusal (the review comments at their fields, the
agenda's buttons as notices).

``attempt`` runs the command and returns what it returned, or every problem of its refusal at
once: an ``InvalidInput``'s problems, a pydantic ``ValidationError``'s fields (the command's
own limits), a ``Conflict``'s message. A ``Contended`` conflict goes on to be retried as a
whole (``web.errors``); not found and forbidden go on to their own pages. A refused form that
is shown again is kept for the request (``show_again``), so that the page's macros find it
by its key (``refused_form``) and the page's error summary shows all its errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from flask import flash, g
from flask_wtf import FlaskForm
from pydantic import ValidationError

from eva_engine.errors import Conflict, Contended, InvalidInput, Problem
from eva_engine.services.fields import problems
from web.forms import attach
from web.i18n import problem_text

T = TypeVar("T")


def refusal_problems(error: InvalidInput | ValidationError | Conflict) -> list[Problem]:
    """Every problem a refused command names (at least one: its own message)."""
    if isinstance(error, ValidationError):
        return problems(error)
    found = list(getattr(error, "problems", None) or [])
    if found:
        return found
    return [Problem.of("", error.text) if error.text else Problem("", error.message)]


def attempt(command: Callable[[], T]) -> tuple[T | None, list[Problem]]:
    """What ``command`` returned and no problems, or None and every problem of its refusal."""
    try:
        return command(), []
    except Contended:
        raise  # someone was saving at the same moment: the request is retried as a whole
    except (InvalidInput, ValidationError, Conflict) as exc:
        return None, refusal_problems(exc)


def flash_problems(found: Sequence[Problem]) -> None:
    """A refusal of a form without fields (buttons), as one notice for the page it goes back
    to."""
    flash(" ".join(problem_text(p) for p in found), "error")


def show_again(form: FlaskForm, key: str, found: Sequence[Problem], field: str | None) -> None:
    """Keep the refused ``form`` for this request, with the service's problems at its fields
    (``field``: where a problem of no field of the form goes); ``key`` is what the page's
    macros know the form by (its text field's id: the summary's links go there)."""
    attach(form, found, fallback=field)
    if field is not None:
        form[field].id = key
    g.refused_form = (key, form)


def refused_form(key: str | None = None) -> FlaskForm | None:
    """The form of this request that came back refused (only if it is ``key``'s, given one)."""
    kept: tuple[str, FlaskForm] | None = g.get("refused_form")
    if kept is None or (key is not None and kept[0] != key):
        return None
    return kept[1]
