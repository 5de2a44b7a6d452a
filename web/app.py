"""The application factory: configuration is read here, once, from the environment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask_wtf import CSRFProtect

from eva_engine.config import Settings
from eva_engine.errors import ConfigurationError
from eva_engine.services.runtime import Eva
from web import api, auth, errors, i18n, security, views

DEV_SECRET = "dev-only-not-secret"  # noqa: S105 - refused in production below
MIN_SECRET_LENGTH = 32


def create_app(
    settings: Settings | None = None, engine: Eva | None = None, **overrides: Any
) -> Flask:
    """The web application. ``engine`` is given by tests; otherwise built from ``settings``."""
    settings = settings or Settings.from_env()
    production = settings.environment == "production"
    if production and (
        not settings.secret_key
        or settings.secret_key == DEV_SECRET
        or len(settings.secret_key) < MIN_SECRET_LENGTH
    ):
        raise ConfigurationError(
            "EVA_SECRET_KEY must be set to a random value of at least 32 characters in production"
        )
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key or DEV_SECRET,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=security.ABSOLUTE_TIMEOUT,
        EVA_IDLE_TIMEOUT=timedelta(minutes=30),
        WTF_CSRF_TIME_LIMIT=None,  # the session's own timeouts bound the token
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
        **overrides,
    )
    app.extensions["eva"] = engine or Eva.from_settings(settings)
    CSRFProtect(app)
    i18n.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    views.init_app(app)
    api.init_app(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
