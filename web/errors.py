"""Engine errors become pages a person can act on; another organisation's record is 404."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, render_template
from flask_babel import gettext as _

from eva_engine.errors import Conflict, EvaError, NotFound, PermissionDenied, Unavailable
from eva_engine.services.runtime import run_retrying
from web.i18n import problem_text, translated


def _message(error: EvaError) -> str:
    """The error in the user's language where the engine gave a template, else its English."""
    return translated(error.text) if error.text else error.message


def init_app(app: Flask) -> None:
    @app.errorhandler(NotFound)
    @app.errorhandler(404)
    def not_found(_error: Exception) -> tuple[str, int]:
        return render_template(
            "error.html",
            title=_("Not found"),
            message=_("There is no such page or record, or it is not visible to you."),
        ), 404

    @app.errorhandler(PermissionDenied)
    def forbidden(error: PermissionDenied) -> tuple[str, int]:
        return render_template("error.html", title=_("Not allowed"), message=_message(error)), 403

    @app.errorhandler(Conflict)
    def conflict(error: Conflict) -> tuple[str, int]:
        return render_template(
            "error.html", title=_("Someone else changed this first"), message=_message(error)
        ), 409

    @app.errorhandler(Unavailable)
    def unavailable(error: Unavailable) -> tuple[str, int]:
        return render_template(
            "error.html", title=_("Service unavailable"), message=_message(error)
        ), 503

    @app.errorhandler(EvaError)
    def other(error: EvaError) -> tuple[str, int]:
        return render_template(
            "error.html",
            title=_("That did not work"),
            message=_message(error),
            details=[problem_text(p) for p in getattr(error, "problems", [])],
        ), 400


def _retrying(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        return run_retrying(lambda: view(*args, **kwargs))

    return run


def retry_views(app: Flask) -> None:
    """Run every view of the web UI again when the database reports contention (a deadlock,
    a lock not granted, SQLite busy), a few times, before its ``Contended`` conflict becomes
    the 409 page. Call it after the blueprints are registered. The API retries in its own
    dispatcher (around its transaction), and static files need no database."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint == "static" or endpoint.startswith("api."):
            continue
        app.view_functions[endpoint] = _retrying(view)
