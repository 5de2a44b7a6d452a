"""Settings, read once from the environment (``EVA_`` prefix) where an application is assembled."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from eva_engine.errors import ConfigurationError

DEFAULT_SQLITE_PATH = Path("instance") / "eva.sqlite3"
ENVIRONMENTS = ("development", "test", "production")
MIN_LEASE_SECONDS = 3.0
MAX_PROXIES = 5


def _shipped(inside: str, checkout: str) -> Path:
    """A data folder of eva: ``eva_engine/<inside>`` when installed from a wheel (setup.cfg maps
    the checkout's top-level folder there), else the checkout's own top-level ``<checkout>/``."""
    installed = resources.files("eva_engine") / inside
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / checkout


def default_workflows_dir() -> Path:
    """The workflow definitions and checklists (``workflows/`` in the checkout)."""
    return _shipped("definitions", "workflows")


def migrations_dir() -> Path:
    """The Alembic migrations: ``env.py``, ``versions/`` (``migrations/`` in the checkout)."""
    return _shipped("migrations", "migrations")


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


def _lease(env: Mapping[str, str]) -> float:
    value = _float(env, "EVA_OUTBOX_LEASE_SECONDS", 30.0)
    if value < MIN_LEASE_SECONDS:
        raise ConfigurationError(
            f"EVA_OUTBOX_LEASE_SECONDS must be at least {MIN_LEASE_SECONDS:g}, not {value:g}"
        )
    return value


def _proxies(env: Mapping[str, str]) -> int:
    """``EVA_TRUST_PROXY``: how many proxies in front of eva set ``X-Forwarded-*`` (0: none,
    the headers are ignored); ``true`` means one."""
    raw = env.get("EVA_TRUST_PROXY", "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return 0
    if raw in ("true", "yes", "on"):
        return 1
    if raw.isdigit() and 1 <= int(raw) <= MAX_PROXIES:
        return int(raw)
    raise ConfigurationError(
        f"EVA_TRUST_PROXY must be false, true or the number of proxies (1-{MAX_PROXIES}), "
        f"not {raw!r}"
    )


@dataclass(frozen=True)
class ThrottleSettings:
    """Failed logins and failed API tokens, counted in fixed windows (``web.throttle``)."""

    # A ``limits`` storage URI (``redis://…``, ``memcached://…``); None: eva's own database,
    # whose counters every worker process shares.
    storage_uri: str | None = None
    account_attempts: int = 10  # failed logins of one account per window
    address_attempts: int = 100  # failed logins from one client address per window
    token_attempts: int = 100  # failed API tokens from one client address per window
    window_seconds: int = 900

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ThrottleSettings:
        return cls(
            storage_uri=env.get("EVA_RATELIMIT_STORAGE_URI") or None,
            account_attempts=_int(env, "EVA_LOGIN_ACCOUNT_ATTEMPTS", 10, 1),
            address_attempts=_int(env, "EVA_LOGIN_ADDRESS_ATTEMPTS", 100, 1),
            token_attempts=_int(env, "EVA_API_TOKEN_ATTEMPTS", 100, 1),
            window_seconds=_int(env, "EVA_LOGIN_WINDOW_SECONDS", 900, 1),
        )


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
    # A claimed message is the worker's for this long; a living worker renews the lease every
    # third of it, so the messages of a worker that died are taken over when it ends.
    lease_seconds: float = 30.0
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
            lease_seconds=_lease(env),
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
    throttle: ThrottleSettings = field(default_factory=ThrottleSettings)
    # Where the web app keeps what is made on first run (``secret_key``); None: Flask's
    # instance folder (``instance/`` beside the code).
    instance_dir: Path | None = None
    trust_proxy: int = 0  # proxies whose X-Forwarded-For/-Proto are believed
    # Authenticates the audit checkpoints (docs/audit.md); never stored in the database.
    audit_key: str | None = None

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
            throttle=ThrottleSettings.from_env(env),
            instance_dir=Path(instance) if (instance := env.get("EVA_INSTANCE_DIR")) else None,
            trust_proxy=_proxies(env),
            audit_key=env.get("EVA_AUDIT_KEY") or None,
        )
