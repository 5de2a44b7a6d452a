"""Settings, read once from the environment (``EVA_`` prefix) where an application is assembled."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from eva_engine.errors import ConfigurationError

DEFAULT_SQLITE_PATH = Path("instance") / "eva.sqlite3"
ENVIRONMENTS = ("development", "test", "production")


def default_workflows_dir() -> Path:
    """The ``workflows/`` folder shipped beside the package."""
    return Path(__file__).resolve().parent.parent / "workflows"


@dataclass(frozen=True)
class Settings:
    database_url: str
    environment: str = "development"
    workflows_dir: Path = field(default_factory=default_workflows_dir)
    secret_key: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        environment = env.get("EVA_ENV", "development")
        if environment not in ENVIRONMENTS:
            raise ConfigurationError(
                f"EVA_ENV must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}"
            )
        url = env.get("EVA_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
        workflows = env.get("EVA_WORKFLOWS_DIR")
        return cls(
            database_url=url,
            environment=environment,
            workflows_dir=Path(workflows) if workflows else default_workflows_dir(),
            secret_key=env.get("EVA_SECRET_KEY") or None,
        )
