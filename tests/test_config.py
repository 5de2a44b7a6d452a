"""Settings: each declared once in eva_engine/config.py, read from the EVA_ variables, refused
with a message that names the variable, what it must be and the default; docs/configuration.md
lists exactly what the models declare."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from eva_engine import config
from eva_engine.config import NotifySettings, Settings, ThrottleSettings, WebServerSettings
from eva_engine.errors import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "configuration.md"
BEGIN = "<!-- settings: made by `python -m eva_engine.config`; do not edit by hand -->"
END = "<!-- end of settings -->"
# Switches of the test suite, not settings of eva (docs/configuration.md names them apart).
TEST_SWITCHES = {
    "EVA_TEST_POSTGRES_URL",
    "EVA_REQUIRE_POSTGRES",
    "EVA_REQUIRE_BROWSER",
    "EVA_REQUIRE_OIDC",
    "EVA_CHROMIUM",
    "EVA_PROPERTY_PROFILE",
    "EVA_RACE_ROUNDS",
    "EVA_BROWSER_LANGUAGES",
    "EVA_STATEFUL_EXAMPLES",
    "EVA_TEST_BACKENDS",
    "EVA_BENCH_POSTGRES_URL",  # bench/: the PostgreSQL server a benchmark makes its database on
}


def declared() -> dict[str, tuple[type[BaseSettings], str]]:
    """Every variable the models read: its group and field."""
    return {
        config.variable(model, name): (model, name)
        for model in config.GROUPS
        for name, _ in config._settings_of(model)
    }


def read(**env: str) -> Settings:
    return Settings.from_env(env)


# the documentation ---------------------------------------------------------------------------
def test_the_documented_settings_are_exactly_what_the_models_declare() -> None:
    text = DOC.read_text(encoding="utf-8")
    documented = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert documented == config.reference().strip(), (
        "docs/configuration.md differs from eva_engine/config.py: paste the output of "
        "`python -m eva_engine.config` between its settings markers"
    )
    rows = re.findall(r"^\| `(EVA_[A-Z0-9_]+)` \| .* \| (.+) \|$", documented, re.MULTILINE)
    assert {name for name, _ in rows} == set(declared())
    defaults = dict(rows)
    assert defaults["EVA_OUTBOX_LEASE_SECONDS"] == "`30`"
    assert defaults["EVA_BASE_URL"] == "`http://127.0.0.1:5000`"
    assert defaults["EVA_ENV"] == "`development`"


def test_every_variable_a_document_names_is_a_setting_or_a_test_switch() -> None:
    known = set(declared()) | TEST_SWITCHES
    unknown = {}
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for name in re.findall(r"\bEVA_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8")):
            if name not in known and not any(v.startswith(name + "_") for v in known):
                unknown[name] = path.name
    assert unknown == {}


# A value for every variable and what its field then holds (none of them its default).
GIVEN: dict[str, tuple[str, object]] = {
    "EVA_DATABASE_URL": ("postgresql://eva@db/eva", "postgresql://eva@db/eva"),
    "EVA_ENV": ("test", "test"),
    "EVA_WORKFLOWS_DIR": ("definitions", Path("definitions")),
    "EVA_SECRET_KEY": ("k" * 40, "k" * 40),
    "EVA_INSTANCE_DIR": ("state", Path("state")),
    "EVA_TRUST_PROXY": ("2", 2),
    "EVA_ATTACHMENTS_DIR": ("files", Path("files")),
    "EVA_ATTACHMENT_SCAN_COMMAND": ("clamdscan --no-summary", "clamdscan --no-summary"),
    "EVA_AUDIT_KEY": ("a1" * 32, "a1" * 32),
    "EVA_RATELIMIT_STORAGE_URI": ("memory://", "memory://"),
    "EVA_LOGIN_ACCOUNT_ATTEMPTS": ("3", 3),
    "EVA_LOGIN_ADDRESS_ATTEMPTS": ("30", 30),
    "EVA_API_TOKEN_ATTEMPTS": ("40", 40),
    "EVA_LOGIN_WINDOW_SECONDS": ("60", 60),
    "EVA_SMTP_HOST": ("smtp.example.fi", "smtp.example.fi"),
    "EVA_SMTP_PORT": ("587", 587),
    "EVA_SMTP_FROM": ("eva@example.fi", "eva@example.fi"),
    "EVA_SMTP_USER": ("eva", "eva"),
    "EVA_SMTP_PASSWORD": ("salasana", "salasana"),
    "EVA_SMTP_STARTTLS": ("true", True),
    "EVA_SMTP_TIMEOUT": ("2.5", 2.5),
    "EVA_BASE_URL": ("https://eva.example.fi", "https://eva.example.fi"),
    "EVA_WEBHOOK_TIMEOUT": ("4", 4.0),
    "EVA_WEBHOOK_ALLOW_PRIVATE": ("false", False),
    "EVA_OUTBOX_MAX_ATTEMPTS": ("3", 3),
    "EVA_OUTBOX_BACKOFF_SECONDS": ("5", 5.0),
    "EVA_OUTBOX_BACKOFF_MAX_SECONDS": ("600", 600.0),
    "EVA_WORKER_INTERVAL": ("1.5", 1.5),
    "EVA_OUTBOX_LEASE_SECONDS": ("12", 12.0),
    "EVA_OUTBOX_BATCH_SIZE": ("10", 10),
    "EVA_NOTIFY_DUE_SOON_DAYS": ("0", 0),
    "EVA_WEB_WORKERS": ("3", 3),
    "EVA_WEB_THREADS": ("4", 4),
    "EVA_WEB_TIMEOUT": ("60", 60),
    "EVA_WEB_GRACEFUL_TIMEOUT": ("0", 0),
    "EVA_WEB_KEEPALIVE": ("2", 2),
    "EVA_WEB_MAX_REQUESTS": ("0", 0),
    "EVA_WEB_MAX_REQUESTS_JITTER": ("7", 7),
    "EVA_WEB_ACCESS_LOG": ("off", "off"),
}


@pytest.mark.parametrize("name", sorted(GIVEN))
def test_every_variable_is_read_into_its_field(name: str) -> None:
    model, field_name = declared()[name]
    raw, expected = GIVEN[name]
    settings = read(**{name: raw})
    groups: dict[type[BaseSettings], BaseSettings] = {
        Settings: settings,
        NotifySettings: settings.notify,
        ThrottleSettings: settings.throttle,
        WebServerSettings: WebServerSettings.from_env({name: raw}),
    }
    group = groups[model]
    assert getattr(group, field_name) == expected
    assert model.model_fields[field_name].get_default(call_default_factory=True) != expected


def test_every_declared_variable_has_a_case_above() -> None:
    assert set(GIVEN) == set(declared())


# good values ---------------------------------------------------------------------------------
def test_without_variables_every_setting_is_its_default() -> None:
    settings = read()
    assert settings.database_url == "sqlite:///instance/eva.sqlite3"
    assert settings.environment == "development"
    assert settings.workflows_dir == config.default_workflows_dir()
    assert (settings.secret_key, settings.audit_key, settings.instance_dir) == (None, None, None)
    assert settings.trust_proxy == 0
    assert settings.throttle == ThrottleSettings()
    assert settings.throttle.account_attempts == 10
    assert settings.notify.lease_seconds == 30.0
    assert settings.notify.backoff_max_seconds == 6 * 3600.0


def test_an_empty_variable_counts_as_unset() -> None:
    settings = read(EVA_SMTP_PORT="", EVA_ENV="", EVA_SMTP_STARTTLS="", EVA_TRUST_PROXY="")
    assert settings.notify.smtp_port == 25
    assert settings.environment == "development"
    assert settings.notify.smtp_starttls is False
    assert settings.trust_proxy == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("TRUE", True), (" yes ", True), ("on", True), ("0", False), ("Off", False)],
)
def test_a_flag_takes_the_usual_words(raw: str, expected: bool) -> None:
    assert read(EVA_SMTP_STARTTLS=raw).notify.smtp_starttls is expected


@pytest.mark.parametrize(("raw", "proxies"), [("false", 0), ("true", 1), ("1", 1), ("5", 5)])
def test_trust_proxy_is_a_flag_or_the_number_of_proxies(raw: str, proxies: int) -> None:
    assert read(EVA_TRUST_PROXY=raw).trust_proxy == proxies


def test_the_base_url_loses_its_trailing_slash() -> None:
    assert read(EVA_BASE_URL="https://eva.example.fi/").notify.base_url == "https://eva.example.fi"


def test_webhooks_to_internal_addresses_are_refused_by_default_only_in_production() -> None:
    assert read(EVA_ENV="development").notify.webhook_allow_private is True
    assert read(EVA_ENV="production").notify.webhook_allow_private is False
    assert read(EVA_ENV="production", EVA_WEBHOOK_ALLOW_PRIVATE="1").notify.webhook_allow_private
    assert not read(EVA_WEBHOOK_ALLOW_PRIVATE="no").notify.webhook_allow_private


def test_a_given_mapping_is_read_instead_of_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVA_SMTP_PORT", "2525")
    monkeypatch.setenv("EVA_LOGIN_WINDOW_SECONDS", "60")
    assert Settings.from_env({}).notify.smtp_port == 25
    assert NotifySettings.from_env({}).smtp_port == 25
    assert NotifySettings().smtp_port == 25  # constructing a group reads no environment
    assert Settings.from_env().notify.smtp_port == 2525  # none given: the process environment
    assert Settings.from_env().throttle.window_seconds == 60


def test_a_variable_is_spelled_in_capitals() -> None:
    assert Settings.from_env({"eva_smtp_port": "2525"}).notify.smtp_port == 25


# bad values: every type of setting -----------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "raw", "wanted", "default"),
    [
        ("EVA_ENV", "prod", "must be one of development, test, production", "development"),
        ("EVA_SMTP_PORT", "twenty-five", "must be a whole number", "25"),
        ("EVA_OUTBOX_BATCH_SIZE", "0", "must be at least 1", "100"),
        ("EVA_LOGIN_ACCOUNT_ATTEMPTS", "2.5", "must be a whole number", "10"),
        ("EVA_NOTIFY_DUE_SOON_DAYS", "-1", "must be at least 0", "2"),
        ("EVA_SMTP_TIMEOUT", "soon", "must be a number of seconds", "10"),
        ("EVA_WORKER_INTERVAL", "0", "must be more than 0", "30"),
        ("EVA_WEBHOOK_TIMEOUT", "nan", "must be a finite number of seconds", "10"),
        ("EVA_OUTBOX_LEASE_SECONDS", "1", "must be at least 3", "30"),
        ("EVA_SMTP_STARTTLS", "maybe", "must be true or false", "false"),
        ("EVA_WEBHOOK_ALLOW_PRIVATE", "2", "must be true or false", "true outside production"),
        ("EVA_TRUST_PROXY", "9", "must be false, true or the number of proxies (1-5)", "false"),
        ("EVA_TRUST_PROXY", "-1", "must be false, true or the number of proxies (1-5)", "false"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable_and_what_to_do(
    name: str, raw: str, wanted: str, default: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        read(**{name: raw})
    message = refused.value.message
    assert message.startswith(f"{name} {wanted}, not {raw!r}: correct it, or unset it")
    assert f"for the default ({default}" in message
    assert "docs/configuration.md" in message
    for internal in ("validation error", "pydantic", "input_value", "type=", "errors.pydantic"):
        assert internal not in message


def test_every_wrong_variable_is_named_at_once() -> None:
    with pytest.raises(ConfigurationError) as refused:
        read(EVA_ENV="staging", EVA_SMTP_PORT="x", EVA_LOGIN_WINDOW_SECONDS="0")
    lines = refused.value.message.splitlines()
    assert sorted(line.split(" ", 1)[0] for line in lines) == [
        "EVA_ENV",
        "EVA_LOGIN_WINDOW_SECONDS",
        "EVA_SMTP_PORT",
    ]


def test_a_group_read_on_its_own_refuses_a_bad_value_too() -> None:
    with pytest.raises(ConfigurationError, match=r"^EVA_API_TOKEN_ATTEMPTS must be at least 1"):
        ThrottleSettings.from_env({"EVA_API_TOKEN_ATTEMPTS": "0"})
    with pytest.raises(ConfigurationError, match=r"^EVA_OUTBOX_MAX_ATTEMPTS must be a whole"):
        NotifySettings.from_env({"EVA_OUTBOX_MAX_ATTEMPTS": "many"})
