"""Settings, read once from the environment (``EVA_`` prefix) where an application is assembled.

Every setting is declared once, here: its name, type, default, bounds and description, as a
field of a pydantic-settings model. The variable is ``EVA_`` and the field's name in capitals
unless the field names its variable (``validation_alias``). docs/configuration.md is made from
these models (``python -m eva_engine.config``) and ``tests/test_config.py`` keeps it so."""

from __future__ import annotations

import os
import sys
import typing
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticUndefined
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars
from typing_extensions import override

from eva_engine.errors import ConfigurationError

PREFIX = "EVA_"
DEFAULT_SQLITE_PATH = Path("instance") / "eva.sqlite3"
Environment = Literal["development", "test", "production"]
ENVIRONMENTS: tuple[str, ...] = typing.get_args(Environment)
MIN_LEASE_SECONDS = 3.0
MAX_PROXIES = 5
DOCS = "docs/configuration.md"


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


# The types of setting. A validator's ValueError says what the value must be; the variable's
# name and what was given are added by ``_problem``.
FALSE = ("0", "false", "no", "off")
TRUE = ("1", "true", "yes", "on")


def _flag(raw: object) -> object:
    if not isinstance(raw, str):
        return raw
    word = raw.strip().lower()
    if word in FALSE:
        return False
    if word in TRUE:
        return True
    raise ValueError("must be true or false")


def _proxies(raw: object) -> object:
    """``false``: no proxy, the ``X-Forwarded-*`` headers are ignored; ``true``: one."""
    if not isinstance(raw, str):
        return raw
    word = raw.strip().lower()
    if word in FALSE:
        return 0
    if word in TRUE[1:]:
        return 1
    if word.isdigit() and 1 <= int(word) <= MAX_PROXIES:
        return int(word)
    raise ValueError(f"must be false, true or the number of proxies (1-{MAX_PROXIES})")


Flag = Annotated[bool, BeforeValidator(_flag)]
Count = Annotated[int, Field(ge=1)]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Proxies = Annotated[int, BeforeValidator(_proxies), Field(ge=0, le=MAX_PROXIES)]
BaseUrl = Annotated[str, AfterValidator(lambda url: url.rstrip("/"))]

# What a value of each type must be, for the message that refuses one.
WANTED = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number of seconds",
    "finite_number": "must be a finite number of seconds",
    "bool_parsing": "must be true or false",
}


class _Variables(EnvSettingsSource):
    """The environment source of pydantic-settings over a given mapping (``os.environ`` or a
    test's dictionary), so that a model reads only what ``from_env`` is given."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Matched without case (``EVA_`` + the field's name), so only the capitals' spelling
        # counts: ``eva_smtp_host`` is another variable, as the shell has it.
        spelled = {name: value for name, value in self._environ.items() if name.isupper()}
        return parse_env_vars(
            spelled, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


class _EvaSettings(BaseSettings):
    """A group of settings: constructed from keyword arguments (tests) or ``from_env``."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        case_sensitive=False,
        env_ignore_empty=True,  # an empty variable is an unset one: its default
        frozen=True,
        extra="ignore",
        populate_by_name=True,  # tests construct a group by its fields' names
        validate_default=False,
    )
    title: ClassVar[str]

    @classmethod
    @override
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # the environment only through ``from_env``

    @classmethod
    def _read(cls, env: Mapping[str, str], **given: Any) -> Self:
        values = {key: value for key, value in _Variables(cls, env)().items() if key not in given}
        try:
            return cls(**values, **given)
        except ValidationError as exc:
            problems = [_problem(cls, error) for error in exc.errors()]
            raise ConfigurationError("\n".join(problems)) from None


_Group = typing.TypeVar("_Group", bound=_EvaSettings)


def variable(model: type[BaseSettings], name: str) -> str:
    """The environment variable of ``model``'s field ``name``."""
    alias = model.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else PREFIX + name.upper()


def shown_default(field: FieldInfo) -> str:
    """A field's default as docs/configuration.md and the error messages write it."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(shown := extra.get("shown_default"), str):
        return shown
    default = field.get_default(call_default_factory=True)
    if default is None or default is PydanticUndefined:
        return "unset"
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, float):
        return f"`{default:g}`"
    return f"`{default}`"


def _problem(model: type[BaseSettings], error: ErrorDetails) -> str:
    """A message that names the variable, what is wrong and what to do: never pydantic's own."""
    key = str(error["loc"][0]) if error["loc"] else ""
    names = {variable(model, n): n for n in model.model_fields} | {n: n for n in model.model_fields}
    field_name = names.get(key, key)
    field = model.model_fields.get(field_name)
    name = variable(model, field_name) if field else key
    context = error.get("ctx", {})
    kind = error["type"]
    if kind == "literal_error" and field is not None:
        wanted = "must be one of " + ", ".join(map(str, typing.get_args(field.annotation)))
    elif kind == "value_error":
        wanted = str(context.get("error", error["msg"]))
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal"):
        bound = {"greater_than_equal": "ge", "greater_than": "gt", "less_than_equal": "le"}[kind]
        words = {"ge": "at least", "gt": "more than", "le": "at most"}[bound]
        wanted = f"must be {words} {context[bound]:g}"
    else:
        wanted = WANTED.get(kind, "is not valid: " + error["msg"].lower())
    default = (shown_default(field) if field else "unset").replace("`", "")
    return (
        f"{name} {wanted}, not {error['input']!r}: correct it, or unset it for the default"
        f" ({default}); every setting is described in {DOCS}"
    )


class ThrottleSettings(_EvaSettings):
    """Failed logins and failed API tokens, counted in fixed windows (``web.throttle``)."""

    title = "Login throttle"

    storage_uri: str | None = Field(
        None,
        validation_alias="EVA_RATELIMIT_STORAGE_URI",
        description="a `limits` storage (`redis://…`, `memcached://…`) for the throttle's"
        " counters; unset: eva's own database, whose counters every worker process shares",
    )
    account_attempts: Count = Field(
        10,
        validation_alias="EVA_LOGIN_ACCOUNT_ATTEMPTS",
        description="failed logins of one account allowed in a window (docs/security.md)",
    )
    address_attempts: Count = Field(
        100,
        validation_alias="EVA_LOGIN_ADDRESS_ATTEMPTS",
        description="failed logins from one client address (IPv6: its /64) in a window",
    )
    token_attempts: Count = Field(
        100,
        validation_alias="EVA_API_TOKEN_ATTEMPTS",
        description="failed API tokens from one client address in a window",
    )
    window_seconds: Count = Field(
        900,
        validation_alias="EVA_LOGIN_WINDOW_SECONDS",
        description="the window, in seconds (a whole number)",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ThrottleSettings:
        return cls._read(env)


MAX_DEFAULT_WORKERS = 8
Whole = Annotated[int, Field(ge=0)]


def default_workers() -> int:
    """gunicorn's rule of thumb, 2 × CPUs + 1, for the CPUs this process may run on."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return min(2 * cpus + 1, MAX_DEFAULT_WORKERS)


class WebServerSettings(_EvaSettings):
    """The production web server (``eva serve``: gunicorn, ``web.server``); the command's
    options are put over these."""

    title = "Web server"

    workers: Count = Field(
        default_factory=default_workers,
        validation_alias="EVA_WEB_WORKERS",
        description="worker processes",
        json_schema_extra={"shown_default": f"2 × CPUs + 1, at most {MAX_DEFAULT_WORKERS}"},
    )
    threads: Count = Field(
        2,
        validation_alias="EVA_WEB_THREADS",
        description="threads per worker (each may hold a database connection)",
    )
    timeout: Count = Field(
        30,
        validation_alias="EVA_WEB_TIMEOUT",
        description="seconds a request may take before its worker is killed and replaced",
    )
    graceful_timeout: Whole = Field(
        30,
        validation_alias="EVA_WEB_GRACEFUL_TIMEOUT",
        description="seconds a stopping worker has to finish what it is serving",
    )
    keepalive: Whole = Field(
        5,
        validation_alias="EVA_WEB_KEEPALIVE",
        description="seconds an idle keep-alive connection is kept",
    )
    max_requests: Whole = Field(
        10000,
        validation_alias="EVA_WEB_MAX_REQUESTS",
        description="requests after which a worker is replaced (0: never)",
    )
    max_requests_jitter: Whole | None = Field(
        None,
        validation_alias="EVA_WEB_MAX_REQUESTS_JITTER",
        description="random extra requests, so that workers are not all replaced at once",
        json_schema_extra={"shown_default": "a tenth of `EVA_WEB_MAX_REQUESTS`"},
    )
    access_log: str = Field(
        "-",
        validation_alias="EVA_WEB_ACCESS_LOG",
        description="`-` (standard output), a file, or `off`",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebServerSettings:
        return cls._read(env)


class NotifySettings(_EvaSettings):
    """Notifications: SMTP, webhooks, retries and the worker (``docs/notifications.md``)."""

    title = "Notifications"

    smtp_host: str | None = Field(
        None, description="the SMTP server; unset: email messages wait in the outbox"
    )
    smtp_port: Count = Field(25, description="its port")
    smtp_from: str = Field("eva@localhost", description="the sender address")
    smtp_user: str | None = Field(None, description="login, if the server needs one")
    smtp_password: str | None = Field(None, description="its password")
    smtp_starttls: Flag = Field(
        False, description="`true` to upgrade the connection with STARTTLS (certificate verified)"
    )
    smtp_timeout: Seconds = Field(10.0, description="seconds per SMTP connection")
    base_url: BaseUrl = Field(
        "http://127.0.0.1:5000",
        description="where the web UI is, for links in emails and webhook payloads",
    )
    webhook_timeout: Seconds = Field(10.0, description="seconds per webhook request")
    # Webhooks to loopback, private and link-local addresses: allowed outside production, where
    # they would let an administrator reach internal hosts (server-side request forgery).
    webhook_allow_private: Flag = Field(
        True,
        description="allow webhooks to loopback, private, link-local and reserved addresses;"
        " in production (`EVA_ENV=production`) they are refused (a dead letter at once) so that"
        " a webhook cannot reach the server's own network",
        json_schema_extra={"shown_default": "true outside production, false in production"},
    )
    max_attempts: Count = Field(
        8,
        validation_alias="EVA_OUTBOX_MAX_ATTEMPTS",
        description="failed attempts after which a message is dead",
    )
    backoff_seconds: Seconds = Field(
        30.0,
        validation_alias="EVA_OUTBOX_BACKOFF_SECONDS",
        description="wait after the first failed attempt, doubled after each further one",
    )
    backoff_max_seconds: Seconds = Field(
        6 * 3600.0,
        validation_alias="EVA_OUTBOX_BACKOFF_MAX_SECONDS",
        description="the longest wait",
    )
    worker_interval: Seconds = Field(
        30.0,
        description="seconds between worker passes at most (a worker wakes earlier when a"
        " message is due sooner)",
    )
    # A claimed message is the worker's for this long; a living worker renews the lease every
    # third of it, so the messages of a worker that died are taken over when it ends.
    lease_seconds: float = Field(
        30.0,
        ge=MIN_LEASE_SECONDS,
        allow_inf_nan=False,
        validation_alias="EVA_OUTBOX_LEASE_SECONDS",
        description="how long a claimed message is a worker's without renewal; a living worker"
        " renews it every third of it, and another worker takes over this long after one died",
    )
    batch_size: Count = Field(
        100, validation_alias="EVA_OUTBOX_BATCH_SIZE", description="messages claimed per pass"
    )
    due_soon_days: int = Field(
        2,
        ge=0,
        validation_alias="EVA_NOTIFY_DUE_SOON_DAYS",
        description='"due soon" means due within this many days',
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotifySettings:
        production = env.get("EVA_ENV", "development") == "production"
        given = (
            {}
            if env.get("EVA_WEBHOOK_ALLOW_PRIVATE")
            else {"webhook_allow_private": not production}
        )
        return cls._read(env, **given)


def attachments_path(database_url: str, attachments_dir: Path | None) -> Path:
    """Where the attachments' files of ``database_url`` are kept: ``attachments_dir`` if set,
    else ``attachments/`` beside an SQLite database file, else ``instance/attachments``."""
    if attachments_dir is not None:
        return attachments_dir
    prefix = "sqlite:///"
    if database_url.startswith(prefix) and ":memory:" not in database_url:
        return Path(database_url[len(prefix) :]).parent / "attachments"
    return Path("instance") / "attachments"


class Settings(_EvaSettings):
    """The application: its database, definitions, keys and the groups above."""

    title = "Application"

    @property
    def attachments_path(self) -> Path:
        """``attachments_dir``, or ``attachments/`` beside an SQLite database file."""
        return attachments_path(self.database_url, self.attachments_dir)

    database_url: str = Field(
        f"sqlite:///{DEFAULT_SQLITE_PATH}",
        description="SQLAlchemy URL; `postgresql://…` uses psycopg 3",
    )
    environment: Environment = Field(
        "development",
        validation_alias="EVA_ENV",
        description="the kind of installation; `production` refuses a missing or weak"
        " `EVA_SECRET_KEY` and webhooks to internal addresses, and sends cookies only over HTTPS",
    )
    workflows_dir: Path = Field(
        default_factory=default_workflows_dir,
        description="the workflow and checklist definitions",
        json_schema_extra={"shown_default": "`workflows/` (in a wheel: the installed copy)"},
    )
    secret_key: str | None = Field(
        None,
        description="the web session key; in production required, and a short, patterned or"
        " known key is refused at start; outside production a random key is made on first run"
        " into `secret_key` in the instance folder (never in the repository)",
        json_schema_extra={"shown_default": "made on first run (not in production)"},
    )
    notify: NotifySettings = Field(default_factory=NotifySettings, exclude=True)
    throttle: ThrottleSettings = Field(default_factory=ThrottleSettings, exclude=True)
    instance_dir: Path | None = Field(
        None,
        description="where the web app keeps what it makes on first run (`secret_key`)",
        json_schema_extra={"shown_default": "Flask's `instance/` beside the code"},
    )
    trust_proxy: Proxies = Field(
        0,
        description="`true` or the number of proxies in front of eva whose `X-Forwarded-For`/"
        "`-Proto` are believed (HSTS, Secure cookies, the client address the login throttle"
        " counts); `false`: the headers are ignored",
        json_schema_extra={"shown_default": "false"},
    )
    attachments_dir: Path | None = Field(
        None,
        description="where attachments' files are kept, each named by its SHA-256 (back it up"
        " with the database: `eva backup` copies it)",
        json_schema_extra={
            "shown_default": "`attachments/` beside the SQLite database, else"
            " `instance/attachments`"
        },
    )
    attachment_scan_command: str | None = Field(
        None,
        description="a virus scanner run on each uploaded file before it is accepted: the"
        " command and its arguments, the file's path appended; a non-zero exit refuses the file",
        json_schema_extra={"shown_default": "none"},
    )
    audit_key: str | None = Field(
        None,
        description="the key that authenticates audit checkpoints (≥ 32 random bytes, hex or"
        " base64); never stored in the database (docs/audit.md)",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def read(group: Callable[[], _Group]) -> _Group | None:
            try:
                return group()
            except ConfigurationError as exc:
                problems.append(exc.message)
                return None

        notify = read(lambda: NotifySettings.from_env(env))
        throttle = read(lambda: ThrottleSettings.from_env(env))
        settings = read(lambda: cls._read(env))
        if settings is None or notify is None or throttle is None:
            raise ConfigurationError("\n".join(problems))  # every wrong variable, not the first
        return settings.model_copy(update={"notify": notify, "throttle": throttle})


GROUPS: tuple[type[_EvaSettings], ...] = (
    Settings,
    ThrottleSettings,
    NotifySettings,
    WebServerSettings,
)


def _settings_of(model: type[_EvaSettings]) -> list[tuple[str, FieldInfo]]:
    return [
        (name, field)
        for name, field in model.model_fields.items()
        if not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings))
    ]


def bounds(field: FieldInfo) -> str:
    """The bounds of a setting, as a reader wants them: ``at least 3``, ``one of `a`, `b```."""
    if typing.get_origin(field.annotation) is Literal:
        return "one of " + ", ".join(f"`{word}`" for word in typing.get_args(field.annotation))
    words = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
    found = [
        f"{word} {getattr(rule, key):g}"
        for rule in field.metadata
        for key, word in words.items()
        if isinstance(getattr(rule, key, None), int | float)
    ]
    return ", ".join(found)


def reference(cell: Callable[[str], str] = lambda text: text.replace("|", "\\|")) -> str:
    """The tables of docs/configuration.md: every variable, its meaning and default."""
    parts = []
    for model in GROUPS:
        rows = [f"### {model.title}", "", "| variable | meaning | default |", "|---|---|---|"]
        for name, field in _settings_of(model):
            meaning = field.description or ""
            if limits := bounds(field):
                meaning += f" ({limits})"
            rows.append(
                f"| `{variable(model, name)}` | {cell(meaning)} | {cell(shown_default(field))} |"
            )
        parts.append("\n".join(rows))
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":  # pragma: no cover - prints what docs/configuration.md holds
    sys.stdout.write(reference())
