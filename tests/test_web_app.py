"""The web application factory: configuration from the environment, no default secret in
production."""

from __future__ import annotations

from pathlib import Path

import pytest

from eva_engine.config import Settings
from eva_engine.errors import ConfigurationError
from web import create_app


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"EVA_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", **env})


@pytest.mark.parametrize("key", [None, "dev-only-not-secret", "too-short"])
def test_the_app_refuses_to_start_in_production_without_a_real_secret_key(
    tmp_path: Path, key: str | None
) -> None:
    env = {"EVA_ENV": "production"} | ({"EVA_SECRET_KEY": key} if key else {})
    with pytest.raises(ConfigurationError, match="EVA_SECRET_KEY"):
        create_app(settings(tmp_path, **env))


def test_the_app_starts_in_production_with_a_long_random_key(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, EVA_ENV="production", EVA_SECRET_KEY="k" * 48))
    assert app.config["SECRET_KEY"] == "k" * 48
    assert app.test_client().get("/healthz").json == {"status": "ok"}


def test_an_unknown_environment_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="EVA_ENV must be one of"):
        settings(tmp_path, EVA_ENV="prod")
