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


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, not {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be more than 0, not {raw!r}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")


@dataclass(frozen=True)
class NotifySettings:
    """Notifications: SMTP, webhooks, retries and the worker (``docs/notifications.md``)."""

    smtp_host: str | None = None  # no host: email messages wait in the outbox
    smtp_port: int = 25
    smtp_from: str = "eva@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout: float = 10.0
    base_url: str = "http://127.0.0.1:5000"  # links in emails and webhook payloads
    webhook_timeout: float = 10.0
    # Webhooks to loopback, private and link-local addresses: allowed outside production, where
    # they would let an administrator reach internal hosts (server-side request forgery).
    webhook_allow_private: bool = True
    max_attempts: int = 8  # after this many failed attempts a message is dead
    backoff_seconds: float = 30.0  # first retry delay, doubled for each further attempt
    backoff_max_seconds: float = 6 * 3600.0
    worker_interval: float = 30.0
    batch_size: int = 100  # messages claimed per pass
    due_soon_days: int = 2

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotifySettings:
        return cls(
            smtp_host=env.get("EVA_SMTP_HOST") or None,
            smtp_port=_int(env, "EVA_SMTP_PORT", 25, 1),
            smtp_from=env.get("EVA_SMTP_FROM") or "eva@localhost",
            smtp_user=env.get("EVA_SMTP_USER") or None,
            smtp_password=env.get("EVA_SMTP_PASSWORD") or None,
            smtp_starttls=_flag(env, "EVA_SMTP_STARTTLS"),
            smtp_timeout=_float(env, "EVA_SMTP_TIMEOUT", 10.0),
            base_url=(env.get("EVA_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
            webhook_timeout=_float(env, "EVA_WEBHOOK_TIMEOUT", 10.0),
            webhook_allow_private=(
                _flag(env, "EVA_WEBHOOK_ALLOW_PRIVATE")
                if env.get("EVA_WEBHOOK_ALLOW_PRIVATE")
                else env.get("EVA_ENV", "development") != "production"
            ),
            max_attempts=_int(env, "EVA_OUTBOX_MAX_ATTEMPTS", 8, 1),
            backoff_seconds=_float(env, "EVA_OUTBOX_BACKOFF_SECONDS", 30.0),
            backoff_max_seconds=_float(env, "EVA_OUTBOX_BACKOFF_MAX_SECONDS", 6 * 3600.0),
            worker_interval=_float(env, "EVA_WORKER_INTERVAL", 30.0),
            batch_size=_int(env, "EVA_OUTBOX_BATCH_SIZE", 100, 1),
            due_soon_days=_int(env, "EVA_NOTIFY_DUE_SOON_DAYS", 2, 0),
        )


@dataclass(frozen=True)
class Settings:
    database_url: str
    environment: str = "development"
    workflows_dir: Path = field(default_factory=default_workflows_dir)
    secret_key: str | None = None
    notify: NotifySettings = field(default_factory=NotifySettings)

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
            notify=NotifySettings.from_env(env),
        )
