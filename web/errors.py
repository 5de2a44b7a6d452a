"""Engine errors become pages a person can act on; another organisation's record is 404."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, render_template, request, request_started
from flask_babel import gettext as _

from eva_engine.errors import Conflict, EvaError, NotFound, PermissionDenied, Unavailable
from eva_engine.services.runtime import Eva, run_retrying
from web.i18n import error_message, problem_text


def _message(error: EvaError) -> str:
    """The error in the user's language, from its message id (never its English text)."""
    return error_message(error)


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


# Endpoints that open no unit of work of the request: static files need no database; the
# login's failed attempts are counted in the throttle's storage, a transaction of its own,
# which on SQLite would wait for the request's write lock.
NO_REQUEST_UNIT = frozenset({"static", "auth.login"})
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class EvaFlask(Flask):
    """The entry point owns the unit of work: each request (its ``before_request`` hooks, the
    logged-in user, the view and every service it calls) runs in one unit of work that every
    service's own unit joins. A GET or HEAD reads (``Eva.reading()``: SQLite's deferred
    ``BEGIN``, PostgreSQL's ``REPEATABLE READ, READ ONLY``: one snapshot for the page); other
    methods write (``Eva.transaction()``), committed once when the view has answered; an
    exception undoes it. Contention runs the whole request's unit of work again
    (``run_retrying``) before its ``Contended`` becomes a 409."""

    def full_dispatch_request(self) -> Response:
        self._got_first_request = True
        try:
            request_started.send(self, _async_wrapper=self.ensure_sync)
            if request.endpoint in NO_REQUEST_UNIT:
                rv = self._preprocess_and_dispatch()
            else:
                rv = run_retrying(self._in_unit_of_work)
        except Exception as e:  # what Flask itself does with an error of a view
            rv = self.handle_user_exception(e)
        return self.finalize_request(rv)

    def _preprocess_and_dispatch(self) -> Any:
        rv = self.preprocess_request()
        return self.dispatch_request() if rv is None else rv

    def _in_unit_of_work(self) -> Any:
        eva: Eva = self.extensions["eva"]
        if request.method in READING_METHODS:
            with eva.reading():
                return self._preprocess_and_dispatch()
        with eva.transaction() as uow:
            rv = self._preprocess_and_dispatch()
            uow.commit()
            return rv


def retry_views(app: Flask) -> None:
    """Check that the app is an ``EvaFlask``: its requests run in one unit of work each,
    retried as a whole on contention (a deadlock, a lock not granted, SQLite busy) before its
    ``Contended`` conflict becomes the 409 page or problem."""
    if not isinstance(app, EvaFlask):  # pragma: no cover - a bug of the app factory
        raise TypeError("the eva web app is an EvaFlask: its requests own their unit of work")
