"""The session key: outside production each installation makes its own random key on first
run (kept under ``instance/``, readable by its owner only, reused on the next start); nothing
signs with a published constant; production refuses a missing or weak EVA_SECRET_KEY."""

from __future__ import annotations

import re
import stat
import threading
from pathlib import Path

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient

from eva_engine.config import Settings
from eva_engine.errors import ConfigurationError
from eva_engine.services.people import accounts
from eva_engine.services.runtime import Eva
from tests.builders import OPERATOR
from tests.conftest import World
from web import create_app, security

PASSWORD = "testi-salasana-123"  # noqa: S105 - a test password
OLD_DEFAULT = "dev-only-not-secret"  # the constant every installation used to sign with
# Made with secrets.token_urlsafe(48), secrets.token_hex(32) and base64 of 32 random bytes.
RANDOM_KEYS = [
    "3aAa9j-k6cJvV6rot32RAIaUUow8Q9GV9OjGVI9D2zcOWQlWOQKegYa7g-b7W9MB",
    "6DW696BkQ7V50w-zy7sI6YoWSgwlMatj-g0Q2aEtIFKcna2Qm-q9CHBygqbz-iEN",
    "7d4a343f64a63bf2313f9962e5fde320d7edbf83970aaa0beae2cf6e843cedb0",
    "F0EhzC3Ky0CrNe7yevhweOU+7d/pRvGrUhYNjYh+UDI=",
]
WEAK_KEYS = {
    "dev-only-not-secret": "fewer than 32",
    "dev-only-not-secret-dev-only-not-secret-2026": "published default",
    "too-short": "fewer than 32",
    "a" * 64: "words|regular",
    "k" * 48: "words|regular",
    "password1234567890password1234567890": "regular",
    "0123456789abcdef" * 3: "regular",
    "abcdefghijklmnopqrstuvwxyz0123456789": "words|regular",
    "Zx" * 20: "regular",
    "my-super-secret-key-for-eva-production-2026": "words",
    "correct horse battery staple is a good one": "words",
    "Eva-Production-Key-2026-Municipality-Virrat": "words",
}


def settings(tmp_path: Path, **env: str) -> Settings:
    base = {"EVA_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    return Settings.from_env(base | env)


# outside production --------------------------------------------------------------------------
def test_development_makes_a_random_key_once_and_keeps_it(tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    first = create_app(settings(tmp_path, EVA_INSTANCE_DIR=str(folder)))
    key = first.config["SECRET_KEY"]
    assert key != OLD_DEFAULT
    assert security.secret_key_problem(key) is None  # as strong as production asks
    saved = folder / "secret_key"
    assert saved.read_text().strip() == key
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    again = create_app(settings(tmp_path, EVA_INSTANCE_DIR=str(folder)))
    assert again.config["SECRET_KEY"] == key  # the next start signs with the same key
    other = create_app(settings(tmp_path, EVA_INSTANCE_DIR=str(tmp_path / "elsewhere")))
    assert other.config["SECRET_KEY"] != key  # another installation, another key
    assert list(folder.iterdir()) == [saved]  # no drafts left behind


def test_the_key_goes_to_the_flask_instance_folder_by_default(tmp_path: Path) -> None:
    key = security.secret_key(settings(tmp_path), str(tmp_path / "instance"))
    assert (tmp_path / "instance" / "secret_key").read_text().strip() == key


def test_the_instance_folder_is_not_in_the_repository() -> None:
    root = Path(__file__).resolve().parent.parent
    ignored = (root / ".gitignore").read_text().splitlines()
    assert "instance/" in ignored


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    keys: list[str] = []
    start = threading.Barrier(8)

    def make() -> None:
        start.wait()
        keys.append(security.instance_secret_key(tmp_path))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(keys) == 8
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_a_key_file_readable_by_others_is_made_private(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text(RANDOM_KEYS[0] + "\n")
    (tmp_path / "secret_key").chmod(0o644)
    assert security.instance_secret_key(tmp_path) == RANDOM_KEYS[0]
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_an_empty_key_file_is_refused_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(ConfigurationError, match="secret_key holds no usable session key"):
        security.instance_secret_key(tmp_path)


def test_the_published_default_is_refused_everywhere(tmp_path: Path) -> None:
    for environment in ("development", "test"):
        with pytest.raises(ConfigurationError, match="EVA_SECRET_KEY is a published default"):
            create_app(settings(tmp_path, EVA_ENV=environment, EVA_SECRET_KEY=OLD_DEFAULT))


def test_tests_get_a_fresh_key_for_each_app_and_write_nothing(tmp_path: Path) -> None:
    a = create_app(settings(tmp_path, EVA_ENV="test", EVA_INSTANCE_DIR=str(tmp_path / "i")))
    b = create_app(settings(tmp_path, EVA_ENV="test", EVA_INSTANCE_DIR=str(tmp_path / "i")))
    assert a.config["SECRET_KEY"] != b.config["SECRET_KEY"]
    assert not (tmp_path / "i").exists()


# the attack of the issue ---------------------------------------------------------------------
def session_value(c: FlaskClient) -> str:
    cookie = c.get_cookie("session")
    assert cookie is not None
    return cookie.value


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def forge_admin_cookie(app: Flask, genuine: str, admin_session_id: str, key: str) -> str:
    """What a preparer did: read their own cookie, name the administrator, sign it anew."""
    reader = SecureCookieSessionInterface().get_signing_serializer(app)
    assert reader is not None
    data = reader.loads(genuine)
    data["_user_id"] = admin_session_id
    forger = Flask("forger")
    forger.secret_key = key
    signer = SecureCookieSessionInterface().get_signing_serializer(forger)
    assert signer is not None
    return str(signer.dumps(data))


def test_a_cookie_signed_with_the_old_constant_opens_nothing(
    eva: Eva, world: World, tmp_path: Path
) -> None:
    accounts.set_password(eva, OPERATOR, "prep", PASSWORD)
    app = create_app(
        settings(tmp_path, EVA_INSTANCE_DIR=str(tmp_path / "instance")), engine=eva, TESTING=True
    )
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    c.post(
        "/login",
        data={"username": "prep", "password": PASSWORD, "csrf_token": csrf(page), "next": ""},
    )
    with eva.reading() as uow:
        admin = uow.repos.user_by_username("admin")
        assert admin is not None
        admin_id = f"{admin.id}:{admin.session_epoch}"
    assert c.get("/admin/").status_code in (403, 404)  # the preparer is no administrator
    # With the app's real key the forgery would work (the check is the key, nothing else)...
    real = forge_admin_cookie(app, session_value(c), admin_id, app.config["SECRET_KEY"])
    c.set_cookie("session", real)
    assert c.get("/admin/").status_code == 200
    # ...but the published constant signs nothing this installation accepts.
    forged = forge_admin_cookie(app, session_value(c), admin_id, OLD_DEFAULT)
    attacker = app.test_client()
    attacker.set_cookie("session", forged)
    response = attacker.get("/admin/")
    assert response.status_code == 302
    assert "/login" in response.location


# production ----------------------------------------------------------------------------------
@pytest.mark.parametrize("key", [None, *WEAK_KEYS])
def test_production_refuses_a_missing_or_weak_key(tmp_path: Path, key: str | None) -> None:
    env = {"EVA_ENV": "production"} | ({"EVA_SECRET_KEY": key} if key else {})
    with pytest.raises(ConfigurationError, match="EVA_SECRET_KEY is refused in production") as e:
        create_app(settings(tmp_path, **env))
    if key is not None:
        assert re.search(WEAK_KEYS[key], str(e.value)), str(e.value)
        assert key not in str(e.value)  # the refusal never prints the key


@pytest.mark.parametrize("key", RANDOM_KEYS)
def test_production_takes_a_random_key(tmp_path: Path, key: str) -> None:
    app = create_app(settings(tmp_path, EVA_ENV="production", EVA_SECRET_KEY=key))
    assert app.config["SECRET_KEY"] == key
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "instance").exists()
