"""The web application factory: configuration from the environment, no default secret in
production, the proxy in front of eva trusted only when told, and tokens kept out of URLs and
of the server's request log."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask
from werkzeug.serving import make_server

from eva_engine.config import Settings
from eva_engine.errors import ConfigurationError
from eva_engine.services.people import accounts
from eva_engine.services.runtime import Eva
from tests.builders import OPERATOR
from tests.conftest import World
from web import create_app

KEY = "Yq3v_0dTn8Kx-2LbR7wPz5HcJ9sFm4GaE1uVi6NoQkWtXeBy"
TOKEN = "eva_Vb3kQ9zXw2Lr7Tn5Hc1Jp8Ys4Gm6Fa0Ud-Ei_OqKtRz"  # noqa: S105 - shaped like a token


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"EVA_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", **env})


@pytest.mark.parametrize("key", [None, "dev-only-not-secret", "too-short", "k" * 48])
def test_the_app_refuses_to_start_in_production_without_a_real_secret_key(
    tmp_path: Path, key: str | None
) -> None:
    env = {"EVA_ENV": "production"} | ({"EVA_SECRET_KEY": key} if key else {})
    with pytest.raises(ConfigurationError, match="EVA_SECRET_KEY"):
        create_app(settings(tmp_path, **env))


def test_the_app_starts_in_production_with_a_long_random_key(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, EVA_ENV="production", EVA_SECRET_KEY=KEY))
    assert app.config["SECRET_KEY"] == KEY
    assert app.test_client().get("/healthz").json == {"status": "ok"}


def test_an_unknown_environment_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="EVA_ENV must be one of"):
        settings(tmp_path, EVA_ENV="prod")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("EVA_TRUST_PROXY", "maybe", "EVA_TRUST_PROXY must be"),
        ("EVA_TRUST_PROXY", "9", "EVA_TRUST_PROXY must be"),
        ("EVA_LOGIN_ACCOUNT_ATTEMPTS", "0", "EVA_LOGIN_ACCOUNT_ATTEMPTS must be at least 1"),
        ("EVA_LOGIN_WINDOW_SECONDS", "soon", "EVA_LOGIN_WINDOW_SECONDS must be a whole number"),
        ("EVA_OUTBOX_LEASE_SECONDS", "1", "EVA_OUTBOX_LEASE_SECONDS must be at least 3"),
    ],
)
def test_bad_settings_name_their_variable(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        settings(tmp_path, **{name: value})


# behind a proxy ------------------------------------------------------------------------------
def app_with(eva: Eva, **env: str) -> Flask:
    config = Settings.from_env(
        {"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test", "EVA_SECRET_KEY": KEY, **env}
    )
    return create_app(config, engine=eva, TESTING=True)


HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.1"}


def test_an_untrusted_forwarded_header_changes_nothing(eva: Eva, world: World) -> None:
    response = app_with(eva).test_client().get("/login", headers=HTTPS)
    assert "Strict-Transport-Security" not in response.headers
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "Secure" not in cookie


def test_a_trusted_proxy_gives_hsts_and_secure_cookies(eva: Eva, world: World) -> None:
    c = app_with(eva, EVA_TRUST_PROXY="1").test_client()
    response = c.get("/login", headers=HTTPS)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Secure" in response.headers["Set-Cookie"]
    plain = c.get("/login", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers


def test_production_cookies_are_always_secure(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, EVA_ENV="production", EVA_SECRET_KEY=KEY))
    assert "Secure" in app.test_client().get("/login").headers["Set-Cookie"]


def _fail_login(app: Flask, forwarded_for: str) -> int:
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = "10.0.0.5"  # the proxy
    page = c.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = c.post(
        "/login",
        data={"username": "prep", "password": "wrong-wrong-1", "csrf_token": token},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return response.status_code


def test_the_throttle_counts_the_client_only_behind_a_trusted_proxy(eva: Eva, world: World) -> None:
    accounts.set_password(eva, OPERATOR, "prep", "testi-salasana-123")
    limits = {"EVA_LOGIN_ADDRESS_ATTEMPTS": "2", "EVA_LOGIN_ACCOUNT_ATTEMPTS": "50"}
    trusted = app_with(eva, EVA_TRUST_PROXY="1", **limits)
    assert [_fail_login(trusted, "198.51.100.1") for _ in range(3)] == [200, 200, 429]
    assert _fail_login(trusted, "198.51.100.2") == 200  # another client behind the proxy
    # Untrusted, the header is ignored: everyone behind the proxy is one address, and a
    # forged X-Forwarded-For does not buy an attacker new attempts.
    untrusted = app_with(eva, **limits)
    assert [_fail_login(untrusted, f"203.0.113.{n}") for n in range(3)] == [200, 200, 429]


# tokens in URLs ------------------------------------------------------------------------------
PATHS = ["/login", "/", "/healthz", "/api/v1/proposals", "/api/v1/openapi.json", "/api/v1/x"]
QUERIES = [
    f"access_token={TOKEN}",
    f"token={TOKEN}",
    "api_key=abc123",
    f"organisation=testila&cursor={TOKEN}",
    f"Access_Token={TOKEN}",
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("query", QUERIES)
def test_a_token_in_the_query_string_is_refused(
    eva: Eva, world: World, path: str, query: str
) -> None:
    response = app_with(eva).test_client().get(f"{path}?{query}")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert TOKEN not in body
    if path.startswith("/api/"):
        assert response.get_json()["code"] == "token_in_url"
        assert "Authorization-otsakkeessa" in response.get_json()["detail"]  # Finnish: default


@pytest.fixture
def served(eva: Eva, world: World) -> Iterator[str]:
    """The app behind werkzeug's own server (what ``eva serve`` runs), which logs requests."""
    server = make_server("127.0.0.1", 0, app_with(eva), threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_the_request_log_never_shows_a_token(served: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        for query in QUERIES:
            httpx.get(f"{served}/api/v1/proposals?{query}", timeout=10)
        httpx.get(f"{served}/login?next=/proposals/1", timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert len(lines) == len(QUERIES) + 1, lines
    assert not any(TOKEN in line or "abc123" in line for line in lines), lines
    assert sum("[redacted]" in line for line in lines) == len(QUERIES)
    assert "/login?next=/proposals/1" in lines[-1]  # the rest of a URL is kept
