"""Single sign-on against a real OpenID Connect provider (issue 13, part 5).

The provider is the certified ``oidc-provider`` package on Node.js (tests/oidc/), started here
as a separate process on a free loopback port; ``make oidc-provider`` installs it. eva's app is
driven with the Flask test client, the provider with plain HTTP, the redirects between the two
followed by hand. Without Node.js (or the installed package) the tests skip, unless
``EVA_REQUIRE_OIDC=1`` (.ci/run) makes that a failure."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc.errors import JoseError

from eva_engine.config import Settings
from eva_engine.errors import InvalidInput, PermissionDenied
from eva_engine.services.people import accounts, sso, users
from eva_engine.services.runtime import Eva
from tests.builders import OPERATOR, OTHER_ORG
from tests.conftest import World
from tests.exchange_support import run
from tests.test_web import PASSWORD, login
from web import create_app, oidc

HERE = Path(__file__).parent / "oidc"
CLIENT_ID = "eva-test"
CLIENT_SECRET = "test-only-secret-of-the-loopback-provider"  # noqa: S105 - loopback only
EVA = "http://localhost"
ORG = "testila"


def _callback(org: str) -> str:
    return f"{EVA}/login/oidc/{org}/callback"


def _unavailable() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not installed"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        return "oidc-provider is not installed (make oidc-provider)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Provider:
    issuer: str

    def choose(self, sub: str, **claims: object) -> None:
        """The account the provider's next login logs in."""
        body = json.dumps({"sub": sub, **claims})
        httpx.post(f"{self.issuer}/test/account", content=body, timeout=10).raise_for_status()

    def requests(self) -> dict[str, int]:
        """How many requests the provider has had, by path (its own count)."""
        counts: dict[str, int] = httpx.get(f"{self.issuer}/test/requests", timeout=10).json()
        return counts

    def rotate(self) -> None:
        """A new signing key; the old one leaves the provider's JWKS at once."""
        httpx.post(f"{self.issuer}/test/rotate", timeout=10).raise_for_status()


def _start() -> Iterator[Provider]:
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URIS": ",".join([_callback(ORG), _callback(OTHER_ORG), f"{EVA}/direct"]),
    }
    process = subprocess.Popen(
        ["node", "provider.mjs"],
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("ready "), line
        issuer = line.split()[1]
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield Provider(issuer)
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    problem = _unavailable()
    if problem is not None:
        if os.environ.get("EVA_REQUIRE_OIDC") == "1":
            pytest.fail(problem + " (EVA_REQUIRE_OIDC=1)")
        pytest.skip(problem)
    yield from _start()


@pytest.fixture(scope="module")
def stranger(provider: Provider) -> Iterator[Provider]:
    """A second, unrelated provider: its tokens are another issuer's."""
    yield from _start()


@pytest.fixture
def app(eva: Eva, world: World, monkeypatch: pytest.MonkeyPatch) -> Flask:
    for org in (ORG, OTHER_ORG):
        monkeypatch.setenv(sso.secret_variable(org), CLIENT_SECRET)
    accounts.set_password(eva, OPERATOR, "prep", PASSWORD)
    settings = Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"})
    return create_app(settings, engine=eva, TESTING=True)


def configure(eva: Eva, provider: Provider, org: str = ORG, **options: object) -> None:
    cmd = sso.SetProvider(issuer=provider.issuer, client_id=CLIENT_ID, **options)  # type: ignore[arg-type]
    sso.set_provider(eva, OPERATOR, cmd, org)


def _through_provider(url: str, until: str) -> str:
    """Follow the provider's redirects (a browser would) until one leads to ``until``."""
    with httpx.Client(timeout=10) as browser:
        for _ in range(10):
            if url.startswith(until):
                return url
            response = browser.get(url)
            assert response.is_redirect, (response.status_code, response.text[:500])
            url = str(response.next_request.url) if response.next_request else ""
    raise AssertionError("the provider never redirected back")


def sso_login(client: FlaskClient, org: str = ORG) -> tuple[int, str]:
    """Log in through the provider; eva's final answer (status, location)."""
    start = client.get(f"/login/oidc/{org}")
    assert start.status_code == 302, start.get_data(as_text=True)
    query = parse_qs(urlsplit(start.location).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"]
    assert query["nonce"]
    assert query["code_challenge"]
    back = _through_provider(start.location, _callback(org))
    answer = client.get(back.removeprefix(EVA))
    return answer.status_code, answer.location or ""


def logged_in_as(client: FlaskClient) -> str:
    return client.get("/").get_data(as_text=True)


def test_the_login_page_offers_the_organisations_credentials(
    eva: Eva, app: Flask, provider: Provider
) -> None:
    configure(eva, provider, match_claim="sub")
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "Kirjaudu organisaation tunnuksilla" in page
    assert f'href="/login/oidc/{ORG}"' in page


def test_a_user_logs_in_through_the_provider(eva: Eva, app: Flask, provider: Provider) -> None:
    configure(eva, provider, match_claim="sub")
    provider.choose("prep", email="prep@testila.example", name="Prep")
    client = app.test_client()
    status, location = sso_login(client)
    assert status == 302
    assert "/login" not in location
    assert client.get("/").status_code == 200
    with eva.reading() as uow:
        prep = uow.repos.user_by_username("prep")
        assert prep is not None
    # the second login finds the bound subject, even if the claim changed
    client = app.test_client()
    status, location = sso_login(client)
    assert status == 302
    assert "/login" not in location


def test_the_first_login_provisions_a_user_without_roles(
    eva: Eva, app: Flask, provider: Provider
) -> None:
    configure(eva, provider, match_claim="email", provision=True)
    provider.choose("uusi-17", email="Uusi.Ihminen@testila.example", name="Uusi Ihminen")
    client = app.test_client()
    status, location = sso_login(client)
    assert status == 302
    assert "/login" not in location, client.get("/login").get_data(as_text=True)
    listed = {u.username: u for u in users.list_users(eva, OPERATOR, ORG)}
    new = listed["uusi.ihminen.testila.example"]
    assert new.full_name == "Uusi Ihminen"
    assert new.grants == []
    assert new.organisation == ORG


def test_an_unknown_user_is_refused_without_provisioning(
    eva: Eva, app: Flask, provider: Provider
) -> None:
    configure(eva, provider, match_claim="email", provision=False)
    provider.choose("nobody", email="nobody@testila.example")
    client = app.test_client()
    status, location = sso_login(client)
    assert status == 302
    assert location.endswith("/login")
    assert "Tunnuksesi ei ole käytössä evassa" in client.get("/login").get_data(as_text=True)


def test_a_disabled_user_is_refused(eva: Eva, app: Flask, provider: Provider) -> None:
    configure(eva, provider, match_claim="sub")
    accounts.set_active(eva, OPERATOR, "prep", False)
    provider.choose("prep")
    client = app.test_client()
    status, location = sso_login(client)
    assert status == 302
    assert location.endswith("/login")
    assert client.get("/", follow_redirects=False).status_code == 302  # not logged in


def test_a_user_of_another_organisation_is_refused(
    eva: Eva, app: Flask, provider: Provider
) -> None:
    configure(eva, provider, match_claim="sub")
    provider.choose("outsider")  # muualla's user, offered to testila's login
    client = app.test_client()
    status, location = sso_login(client)
    assert status == 302
    assert location.endswith("/login")
    with pytest.raises(PermissionDenied):
        sso.sign_in(eva, ORG, {"iss": provider.issuer, "sub": "outsider"})


def _id_token(provider: Provider, nonce: str) -> tuple[str, dict[str, object]]:
    """A real ID token of ``provider`` (its own authorisation code flow, PKCE and all)."""
    verifier = "v" * 50
    from authlib.oauth2.rfc7636 import create_s256_code_challenge  # noqa: PLC0415

    url = httpx.URL(
        f"{provider.issuer}/auth",
        params={
            "client_id": CLIENT_ID,
            "response_type": "code",
            "scope": "openid email",
            "redirect_uri": f"{EVA}/direct",
            "state": "s" * 20,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        },
    )
    back = _through_provider(str(url), f"{EVA}/direct")
    code = parse_qs(urlsplit(back).query)["code"][0]
    token = httpx.post(
        f"{provider.issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{EVA}/direct",
            "code_verifier": verifier,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )
    token.raise_for_status()
    jwks = httpx.get(f"{provider.issuer}/jwks", timeout=10).json()
    return str(token.json()["id_token"]), jwks


def test_a_token_of_the_wrong_issuer_is_refused(
    eva: Eva, app: Flask, provider: Provider, stranger: Provider
) -> None:
    stranger.choose("prep")
    id_token, jwks = _id_token(stranger, "n" * 20)
    # the stranger's token is good for the stranger ...
    assert oidc.validated_claims(id_token, jwks, stranger.issuer, CLIENT_ID, "n" * 20)["sub"]
    # ... never for the issuer eva trusts, even with the stranger's keys
    with pytest.raises(JoseError):
        oidc.validated_claims(id_token, jwks, provider.issuer, CLIENT_ID, "n" * 20)
    with pytest.raises(JoseError):  # nor with another nonce
        oidc.validated_claims(id_token, jwks, stranger.issuer, CLIENT_ID, "m" * 20)
    provider_jwks = httpx.get(f"{provider.issuer}/jwks", timeout=10).json()
    with pytest.raises(JoseError):  # nor signed by another provider's key
        oidc.validated_claims(id_token, provider_jwks, stranger.issuer, CLIENT_ID, "n" * 20)
    # and claims naming the stranger are refused by the service
    configure(eva, provider, match_claim="sub")
    with pytest.raises(PermissionDenied):
        sso.sign_in(eva, ORG, {"iss": stranger.issuer, "sub": "prep"})
    # end to end: a code from the stranger handed to eva's callback is refused
    stranger.choose("prep")
    client = app.test_client()
    start = client.get(f"/login/oidc/{ORG}")
    swapped = start.location.replace(provider.issuer, stranger.issuer)
    back = _through_provider(swapped, _callback(ORG))
    answer = client.get(back.removeprefix(EVA))
    assert answer.status_code == 302
    assert answer.location.endswith("/login")


def test_password_login_is_refused_when_local_passwords_are_off(
    eva: Eva, app: Flask, provider: Provider
) -> None:
    configure(eva, provider, match_claim="sub")
    # local passwords go off only once an administrator has logged in with single sign-on
    with pytest.raises(InvalidInput) as refused:
        configure(eva, provider, match_claim="sub", local_passwords=False)
    assert [p.location for p in refused.value.problems] == ["local_passwords"]
    provider.choose("admin")
    status, location = sso_login(app.test_client())
    assert (status, "/login" in location) == (302, False)
    configure(eva, provider, match_claim="sub", local_passwords=False)
    client = app.test_client()
    page = login(client, "prep")
    assert "käytä kertakirjautumista" in page
    configure(eva, provider, match_claim="sub", local_passwords=True)
    assert "/login" not in login(app.test_client(), "prep")


def test_the_command_line_configures_single_sign_on(
    eva: Eva, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(sso.secret_variable(ORG), raising=False)
    args = ("--org", ORG, "--issuer", "https://idp.testila.example", "--client-id", "eva")
    off = ("--match-claim", "sub", "--no-local-passwords", "--as", "admin")
    refused = run(eva, "sso", "set", *args, *off, code=7)  # no administrator signs on yet
    assert "no administrator of the organisation has logged in" in refused.stderr
    run(eva, "sso", "set", *args, "--match-claim", "sub", "--as", "admin")
    sso.sign_in(eva, ORG, {"iss": "https://idp.testila.example", "sub": "admin"})  # bound
    made = run(eva, "sso", "set", *args, *off)
    assert "local passwords: refused" in made.stdout
    assert "NOT SET" in made.stdout
    shown = run(eva, "--json", "sso", "show", "--org", ORG, "--as", "admin")
    assert json.loads(shown.stdout)["match_claim"] == "sub"
    run(eva, "sso", "set", *args, "--as", "prep", code=4)  # not an administrator: forbidden


# The provider's metadata, kept in the process -------------------------------------------------
DISCOVERY = "/.well-known/openid-configuration"


def _fetched(provider: Provider, before: dict[str, int]) -> tuple[int, int]:
    """How many times the discovery document and the JWKS were fetched since ``before``."""
    now = provider.requests()
    return (
        now.get(DISCOVERY, 0) - before.get(DISCOVERY, 0),
        now.get("/jwks", 0) - before.get("/jwks", 0),
    )


def test_two_logins_fetch_the_discovery_document_and_the_keys_once(
    eva: Eva, app: Flask, provider: Provider
) -> None:
    configure(eva, provider, match_claim="sub")
    provider.choose("prep")
    before = provider.requests()
    for _ in range(2):
        status, location = sso_login(app.test_client())
        assert (status, "/login" in location) == (302, False)
    assert _fetched(provider, before) == (1, 1)
    # another process (a second gunicorn worker: another application) keeps its own
    other = create_app(
        Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"}),
        engine=eva,
        TESTING=True,
    )
    assert oidc.metadata(other) is not oidc.metadata(app)
    status, location = sso_login(other.test_client())
    assert (status, "/login" in location) == (302, False)
    assert _fetched(provider, before) == (2, 2)


def test_the_kept_metadata_is_fetched_again_after_its_lifetime(
    eva: Eva, app: Flask, provider: Provider
) -> None:
    configure(eva, provider, match_claim="sub")
    provider.choose("prep")
    now = [1000.0]
    oidc.metadata(app).clock = lambda: now[0]
    before = provider.requests()
    sso_login(app.test_client())
    now[0] += oidc.METADATA_LIFETIME - 1
    sso_login(app.test_client())
    assert _fetched(provider, before) == (1, 1)
    now[0] += 2  # past the lifetime of both
    status, location = sso_login(app.test_client())
    assert (status, "/login" in location) == (302, False)
    assert _fetched(provider, before) == (2, 2)


def test_a_rotated_signing_key_is_fetched_once_and_the_login_succeeds(
    eva: Eva, app: Flask, provider: Provider
) -> None:
    configure(eva, provider, match_claim="sub")
    provider.choose("prep")
    before = provider.requests()
    status, location = sso_login(app.test_client())
    assert (status, "/login" in location) == (302, False)
    provider.rotate()  # the kept JWKS lacks the new key's kid
    provider.choose("prep")
    status, location = sso_login(app.test_client())
    assert (status, "/login" in location) == (302, False)
    assert _fetched(provider, before) == (1, 2)  # the discovery document still kept
    status, location = sso_login(app.test_client())  # the new key set is kept now
    assert (status, "/login" in location) == (302, False)
    assert _fetched(provider, before) == (1, 2)


def test_a_token_whose_key_is_in_no_key_set_is_refused_after_one_fetch(
    eva: Eva, app: Flask, provider: Provider, stranger: Provider
) -> None:
    """A kid the provider does not have, even after fetching its key set again, is refused
    (the stranger's token, handed over as the provider's)."""
    stranger.choose("prep")
    id_token, _ = _id_token(stranger, "n" * 20)
    configure(eva, provider, match_claim="sub")
    with app.test_request_context():
        meta = oidc.metadata().document(provider.issuer)
        oidc.metadata().keys(provider.issuer, meta["jwks_uri"])  # kept
        before = provider.requests()
        jwks = oidc.token_keys(provider.issuer, meta["jwks_uri"], id_token)
        assert _fetched(provider, before) == (0, 1)  # the kept set lacks the kid: one fetch
        with pytest.raises(JoseError):
            oidc.validated_claims(id_token, jwks, provider.issuer, CLIENT_ID, "n" * 20)
