"""Engine errors become pages a person can act on; another organisation's record is 404."""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import gettext as _

from eva_engine.errors import Conflict, EvaError, NotFound, PermissionDenied, Unavailable


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
        return render_template("error.html", title=_("Not allowed"), message=error.message), 403

    @app.errorhandler(Conflict)
    def conflict(error: Conflict) -> tuple[str, int]:
        return render_template(
            "error.html", title=_("Someone else changed this first"), message=error.message
        ), 409

    @app.errorhandler(Unavailable)
    def unavailable(error: Unavailable) -> tuple[str, int]:
        return render_template(
            "error.html", title=_("Service unavailable"), message=error.message
        ), 503

    @app.errorhandler(EvaError)
    def other(error: EvaError) -> tuple[str, int]:
        return render_template(
            "error.html",
            title=_("That did not work"),
            message=error.message,
            details=error.details(),
        ), 400
