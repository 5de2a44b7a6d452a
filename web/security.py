"""Security headers, and idle and absolute session timeouts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask, Response, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

ABSOLUTE_TIMEOUT = timedelta(hours=10)

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response


def _timeouts() -> BaseResponse | None:
    """End a session idle for too long or older than the absolute limit."""
    if not current_user.is_authenticated:
        return None
    now = datetime.now(UTC).timestamp()
    from flask import current_app  # noqa: PLC0415 - app config at request time

    idle: timedelta = current_app.config["EVA_IDLE_TIMEOUT"]
    started = float(session.get("started", now))
    seen = float(session.get("seen", now))
    if now - seen > idle.total_seconds() or now - started > ABSOLUTE_TIMEOUT.total_seconds():
        logout_user()
        session.clear()
        flash(_("Your session ended. Please log in again."), "info")
        return redirect(url_for("auth.login", next=request.full_path))
    session["seen"] = now
    return None


def init_app(app: Flask) -> None:
    app.after_request(_headers)
    app.before_request(_timeouts)
