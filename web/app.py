"""The application factory: configuration is read here, once, from the environment."""

from __future__ import annotations

from typing import Any

from flask import Flask

from eva_engine.config import Settings
from eva_engine.errors import ConfigurationError
from eva_engine.services.runtime import Eva

DEV_SECRET = "dev-only-not-secret"  # noqa: S105 - refused in production below


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    settings = settings or Settings.from_env()
    if settings.environment == "production" and (
        not settings.secret_key
        or settings.secret_key == DEV_SECRET
        or len(settings.secret_key) < 32
    ):
        raise ConfigurationError(
            "EVA_SECRET_KEY must be set to a random value of at least 32 characters in production"
        )
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key or DEV_SECRET, **overrides)
    app.extensions["eva"] = Eva.from_settings(settings)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
