"""Login throttling: failed logins per account and per client address, failed API tokens per
address, in fixed windows whose counters live in the database and are shared by every worker
process (two applications on one database, and two real ``eva serve`` processes)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from limits.storage import MemoryStorage
from sqlalchemy import select

from eva_engine.config import Settings, default_workflows_dir
from eva_engine.db.engine import make_engine
from eva_engine.db.migrate import upgrade
from eva_engine.db.rate_limits import DatabaseStorage
from eva_engine.db.unit_of_work import Database
from eva_engine.errors import ConfigurationError
from eva_engine.models import RateLimitCounter
from eva_engine.services.people import accounts, throttle
from eva_engine.services.runtime import Eva
from tests.builders import OPERATOR, build_world
from tests.conftest import FreshDatabase, World
from tests.notify_support import free_port
from web import create_app

# PostgreSQL too: the counters' upsert and atomic increments
pytestmark = pytest.mark.postgres

PASSWORD = "testi-salasana-123"  # noqa: S105 - a test password
WRONG = "väärä-salasana-999"
EVA_SERVE = [sys.executable, "-c", "from web.cli import main; main()", "serve"]  # gunicorn
KEY = "Yq3v_0dTn8Kx-2LbR7wPz5HcJ9sFm4GaE1uVi6NoQkWtXeBy"


def app_for(eva: Eva, **env: str) -> Flask:
    settings = Settings.from_env(
        {"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test", "EVA_SECRET_KEY": KEY, **env}
    )
    return create_app(settings, engine=eva, TESTING=True)


@pytest.fixture
def people(eva: Eva, world: World) -> World:
    for user in ("prep", "sec", "pres"):
        accounts.set_password(eva, OPERATOR, user, PASSWORD)
    return world


def client(app: Flask, address: str = "192.0.2.10") -> FlaskClient:
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    c.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return c


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    if found is None:
        found = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def attempt(c: FlaskClient, username: str, password: str) -> Any:
    page = c.get("/login").get_data(as_text=True)
    return c.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf(page), "next": ""},
    )


def fail(c: FlaskClient, username: str, times: int) -> None:
    for _ in range(times):
        response = attempt(c, username, WRONG)
        assert response.status_code == 200
        assert "Wrong username or password." in response.get_data(as_text=True)


def assert_locked(response: Any, window: int = 900) -> int:
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= window
    text = response.get_data(as_text=True)
    assert any(
        message in text
        for message in (
            "Too many failed logins. Please try again in",
            "Liian monta epäonnistunutta kirjautumista. Yritä uudelleen",
            "För många misslyckade inloggningar. Försök igen om",
        )
    ), text
    return wait


# the limits ---------------------------------------------------------------------------------
def test_the_eleventh_wrong_password_is_refused_with_retry_after(eva: Eva, people: World) -> None:
    c = client(app_for(eva))
    fail(c, "prep", 10)
    assert_locked(attempt(c, "prep", WRONG))
    # The lock holds for the right password too: while it lasts nothing is checked.
    assert_locked(attempt(c, "prep", PASSWORD))
    # The username is the account, however it is typed (as the login finds it).
    assert_locked(attempt(c, "  PREP ", PASSWORD))
    # Other accounts from the same address are not locked (the address limit is 100).
    assert attempt(c, "sec", PASSWORD).status_code == 302


def test_the_locked_page_is_in_the_users_language(eva: Eva, people: World) -> None:
    c = client(app_for(eva, EVA_LOGIN_ACCOUNT_ATTEMPTS="1"))
    c.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fi"
    fail_fi = attempt(c, "prep", WRONG)
    assert fail_fi.status_code == 200
    locked = attempt(c, "prep", WRONG)
    assert locked.status_code == 429
    assert "Liian monta epäonnistunutta kirjautumista" in locked.get_data(as_text=True)
    c.environ_base["HTTP_ACCEPT_LANGUAGE"] = "sv"
    assert "För många misslyckade inloggningar" in attempt(c, "prep", WRONG).get_data(as_text=True)


def test_only_failures_count(eva: Eva, people: World) -> None:
    c = client(app_for(eva, EVA_LOGIN_ACCOUNT_ATTEMPTS="3"))
    for _ in range(6):  # twice the limit of successful logins
        assert attempt(c, "prep", PASSWORD).status_code == 302
        c.post("/logout", data={"csrf_token": csrf(c.get("/password").get_data(as_text=True))})
    fail(c, "prep", 3)
    assert_locked(attempt(c, "prep", PASSWORD))


def test_a_success_elsewhere_resets_no_counter(eva: Eva, people: World) -> None:
    """Address A guesses at several accounts; a real login from address B in between changes
    nothing: A's address limit still ends A's guessing, B is unaffected."""
    app = app_for(eva, EVA_LOGIN_ADDRESS_ATTEMPTS="4")
    a, b = client(app, "198.51.100.7"), client(app, "203.0.113.9")
    fail(a, "prep", 2)
    fail(a, "sec", 1)
    assert attempt(b, "prep", PASSWORD).status_code == 302
    fail(a, "pres", 1)
    assert_locked(attempt(a, "nobody", WRONG))  # a fifth guess, at any account
    assert_locked(attempt(a, "pres", PASSWORD))
    assert attempt(client(app, "203.0.113.10"), "sec", PASSWORD).status_code == 302


def test_ipv6_clients_count_per_64(eva: Eva, people: World) -> None:
    app = app_for(eva, EVA_LOGIN_ADDRESS_ATTEMPTS="2")
    fail(client(app, "2001:db8:1:2::10"), "nobody", 1)
    fail(client(app, "2001:db8:1:2:ffff::1"), "nobody", 1)
    assert_locked(attempt(client(app, "2001:db8:1:2::99"), "nobody", WRONG))
    fail(client(app, "2001:db8:1:3::10"), "nobody", 1)  # another /64


def test_an_attacker_cannot_lock_the_owner_out_of_their_own_browser(
    eva: Eva, people: World
) -> None:
    """The decision: a locked account refuses every browser without a device cookie for it,
    the right password included, until the window ends (at most 15 minutes). A browser in
    which the owner logged in before carries a signed device cookie and counts apart."""
    app = app_for(eva)
    owner = client(app, "203.0.113.20")
    assert attempt(owner, "prep", PASSWORD).status_code == 302  # yesterday, say
    owner.post("/logout", data={"csrf_token": csrf(owner.get("/password").get_data(True))})
    attacker = client(app, "198.51.100.66")
    fail(attacker, "prep", 10)
    assert_locked(attempt(attacker, "prep", PASSWORD))
    assert_locked(attempt(client(app, "203.0.113.21"), "prep", PASSWORD))  # a new browser
    assert attempt(owner, "prep", PASSWORD).status_code == 302  # the owner's own browser
    # A device cookie for one account is nothing for another, nor is a forged one.
    fail(attacker, "sec", 10)
    assert_locked(attempt(owner, "sec", PASSWORD))
    forged = client(app, "203.0.113.22")
    forged.set_cookie("eva_device", owner.get_cookie("eva_device").value[:-4] + "AAAA")  # type: ignore[union-attr]
    assert_locked(attempt(forged, "prep", PASSWORD))


def test_the_lock_ends_with_its_window(eva: Eva, people: World) -> None:
    c = client(app_for(eva, EVA_LOGIN_WINDOW_SECONDS="2"))
    fail(c, "prep", 10)
    wait = assert_locked(attempt(c, "prep", PASSWORD), window=2)
    time.sleep(wait + 0.2)
    assert attempt(c, "prep", PASSWORD).status_code == 302


def test_a_password_typed_as_the_username_is_not_stored(eva: Eva, people: World) -> None:
    secret = "Salaisuus-typed-into-the-wrong-field-42"  # noqa: S105 - a test value
    fail(client(app_for(eva)), secret, 1)
    with eva.reading() as uow:
        keys = uow.repos.session.scalars(select(RateLimitCounter.key)).all()
    assert len(keys) == 2  # the account and the address
    assert not any(secret.lower() in k.lower() or secret in k for k in keys)
    assert any("192.0.2.10" in k for k in keys)


# API tokens ---------------------------------------------------------------------------------
def test_wrong_api_tokens_are_throttled_per_address(eva: Eva, people: World) -> None:
    c = client(app_for(eva, EVA_API_TOKEN_ATTEMPTS="3"))  # noqa: S106 - a number
    bad = {"Authorization": "Bearer eva_" + "x" * 43}
    for _ in range(3):
        assert c.get("/api/v1/proposals?organisation=testila", headers=bad).status_code == 401
    refused = c.get("/api/v1/proposals?organisation=testila", headers=bad)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 900
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "too_many_requests"
    other = client(c.application, "192.0.2.99")
    assert other.get("/api/v1/proposals?organisation=testila", headers=bad).status_code == 401


# the counters are shared ----------------------------------------------------------------------
@pytest.fixture
def committed(fresh_databases: FreshDatabase) -> Iterator[str]:
    """A committed database (not a rolled-back test transaction) with the test world."""
    url = fresh_databases.new_url()
    engine = make_engine(url)
    upgrade(engine)
    eva = Eva(Database(engine), default_workflows_dir())
    from tests.conftest import publish_workflows  # noqa: PLC0415

    publish_workflows(eva)
    build_world(eva)
    accounts.set_password(eva, OPERATOR, "prep", PASSWORD)
    yield url
    engine.dispose()


def test_two_applications_on_one_database_share_the_counters(committed: str) -> None:
    """Two create_app() with engines of their own: what two worker processes are."""
    apps = [
        app_for(Eva(Database(make_engine(committed)), default_workflows_dir())) for _ in range(2)
    ]
    try:
        first, second = client(apps[0], "192.0.2.1"), client(apps[1], "192.0.2.2")
        fail(first, "prep", 5)
        fail(second, "prep", 5)
        assert_locked(attempt(first, "prep", PASSWORD))
        assert_locked(attempt(second, "prep", PASSWORD))
    finally:
        for app in apps:
            app.extensions["eva"].database.dispose()


def test_increments_are_atomic_across_connections(committed: str) -> None:
    """Eight threads, each with its own engine, hit one key at once: no hit is lost."""
    storages = [
        DatabaseStorage(database=Database(make_engine(committed)), wrap_exceptions=True)
        for _ in range(8)
    ]
    start = threading.Barrier(len(storages))
    seen: list[int] = []

    def work(storage: DatabaseStorage) -> None:
        start.wait()
        for _ in range(25):
            seen.append(storage.incr("eva/test/shared", 60))

    threads = [threading.Thread(target=work, args=(s,)) for s in storages]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert sorted(seen) == list(range(1, 201))  # every count handed out exactly once
        assert storages[0].get("eva/test/shared") == 200
    finally:
        for s in storages:
            s.database.dispose()


def test_the_database_storage_keeps_the_limits_interface(committed: str) -> None:
    storage = DatabaseStorage(database=Database(make_engine(committed)))
    try:
        assert storage.check()
        assert storage.get("k") == 0
        before = time.time()
        assert abs(storage.get_expiry("k") - before) < 5  # no window: now
        assert storage.incr("k", 2) == 1
        assert storage.incr("k", 2, amount=3) == 4
        end = storage.get_expiry("k")
        assert before + 1 < end <= time.time() + 2  # set by the first hit, not moved since
        assert storage.incr("other", 60) == 1
        time.sleep(end - time.time() + 0.1)
        assert storage.get("k") == 0  # the window is over
        assert storage.incr("k", 2) == 1  # a new window starts from this hit
        storage.clear("k")
        assert storage.get("k") == 0
        assert storage.reset() == 1  # "other" was left
        assert storage.get("other") == 0
    finally:
        storage.database.dispose()


def test_a_standard_storage_can_be_chosen_instead(eva: Eva) -> None:
    assert isinstance(throttle.storage(eva, "memory://"), MemoryStorage)
    assert isinstance(throttle.storage(eva, None), DatabaseStorage)
    with pytest.raises(ConfigurationError, match="EVA_RATELIMIT_STORAGE_URI"):
        throttle.storage(eva, "carrier-pigeon://loft")


def test_two_server_processes_share_the_counters(committed: str) -> None:
    """Two real ``eva serve`` processes on one database: five failures on each, then both
    refuse the account."""
    ports = [free_port(), free_port()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVA_")}
    env |= {"EVA_DATABASE_URL": committed, "EVA_ENV": "test", "EVA_SECRET_KEY": KEY}
    root = Path(__file__).resolve().parent.parent
    servers = [
        subprocess.Popen(
            [*EVA_SERVE, "--port", str(p), "--workers", "1"],
            env=env,
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in ports
    ]
    try:
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=10) for p in ports]
        for c in clients:
            wait_until_up(c)

        def post(c: httpx.Client, password: str) -> httpx.Response:
            token = csrf(c.get("/login").text)
            return c.post(
                "/login",
                data={"username": "prep", "password": password, "csrf_token": token},
            )

        for c in clients:
            for _ in range(5):
                assert post(c, WRONG).status_code == 200
        for c in clients:
            refused = post(c, PASSWORD)
            assert refused.status_code == 429
            assert int(refused.headers["Retry-After"]) > 0
        for c in clients:
            c.close()
    finally:
        for s in servers:
            s.terminate()
            s.wait(20)


def wait_until_up(c: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if c.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{c.base_url} did not start")
