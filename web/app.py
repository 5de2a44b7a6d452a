"""The application factory: configuration is read here, once, from the environment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask_wtf import CSRFProtect

from eva_engine.config import Settings
from eva_engine.services.runtime import Eva
from web import api, auth, converters, errors, i18n, security, throttle, views
from web.api import problems as api_problems
from web.api.attachments import allow_uploads
from web.api.body import MAX_BODY_BYTES


def create_app(
    settings: Settings | None = None, engine: Eva | None = None, **overrides: Any
) -> Flask:
    """The web application. ``engine`` is given by tests; otherwise built from ``settings``."""
    settings = settings or Settings.from_env()
    production = settings.environment == "production"
    app = errors.EvaFlask(__name__)  # each request owns one unit of work
    app.config.update(
        # Production: EVA_SECRET_KEY, refused if weak; else one made on first run (instance/).
        SECRET_KEY=security.secret_key(settings, app.instance_path),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=security.ABSOLUTE_TIMEOUT,
        EVA_IDLE_TIMEOUT=timedelta(minutes=30),
        WTF_CSRF_TIME_LIMIT=None,  # the session's own timeouts bound the token
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,  # larger: 413 (a problem+json in the API)
        **overrides,
    )
    app.extensions["eva"] = engine or Eva.from_settings(settings)
    app.extensions["eva_settings"] = settings  # e.g. the audit key of the API's checkpoints
    converters.init_app(app)  # ids in paths: ASCII digits only (before any route is added)
    app.before_request(allow_uploads)  # before the CSRF check reads an upload's form
    CSRFProtect(app)
    i18n.init_app(app)
    auth.init_app(app)
    security.init_app(app, trust_proxy=settings.trust_proxy)
    throttle.init_app(app, app.extensions["eva"], settings.throttle)
    errors.init_app(app)
    views.init_app(app)
    api.init_app(app)
    api_problems.init_app(app)  # any error below /api/ is problem+json, never an HTML page
    errors.retry_views(app)  # contention is retried, then a 409 (after every blueprint)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
