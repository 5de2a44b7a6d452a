"""The web UI through Flask's test client: logins, sessions ended on the server, CSRF,
security headers, languages, and the proposal pages for each role."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eva_engine.config import Settings
from eva_engine.services.assessment import documents
from eva_engine.services.people import accounts
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Publicity, ScreeningOutcome
from tests.builders import OPERATOR, as_, document, new_proposal, proposal_in, state_of
from tests.conftest import World
from web import create_app

PASSWORD = "testi-salasana-123"  # noqa: S105 - a test password


@pytest.fixture
def app(eva: Eva, world: World) -> Flask:
    for user in ("prep", "sec", "pres", "aud", "outsider", "sec_tek", "director"):
        accounts.set_password(eva, OPERATOR, user, PASSWORD)
    settings = Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"})
    return create_app(settings, engine=eva, TESTING=True)


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html)
    if found is None:
        found = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> str:
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf(page), "next": ""},
    )
    return response.get_data(as_text=True) if response.status_code == 200 else response.location


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_every_page_sends_the_security_headers(app: Flask) -> None:
    response = app.test_client().get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_login_page_is_finnish_by_default(app: Flask) -> None:
    html = app.test_client().get("/login").get_data(as_text=True)
    assert '<html lang="fi">' in html
    assert "Kirjaudu sisään" in html
    assert 'for="username"' in html


def test_a_wrong_password_and_an_unknown_user_look_the_same(app: Flask) -> None:
    wrong = login(app.test_client(), "prep", "väärä-salasana-1")
    unknown = login(app.test_client(), "nobody", PASSWORD)
    assert "Väärä käyttäjätunnus tai salasana." in wrong
    assert "Väärä käyttäjätunnus tai salasana." in unknown
    strip = re.compile(r'value="[^"]*"')
    assert strip.sub("", wrong).replace("nobody", "prep") == strip.sub("", unknown).replace(
        "nobody", "prep"
    )


def test_logging_in_starts_a_new_session_and_shows_my_work(app: Flask) -> None:
    client = app.test_client()
    client.get("/login")
    before = session_cookie(client)
    assert login(client, "prep") == "/"
    assert session_cookie(client) != before
    html = client.get("/").get_data(as_text=True)
    assert "Omat tehtävät" in html


def test_pages_need_a_login(app: Flask) -> None:
    response = app.test_client().get("/")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_a_post_without_a_csrf_token_is_refused(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/login", data={"username": "prep", "password": PASSWORD})
    assert response.status_code == 400


def test_logout_ends_the_session_on_the_server_even_for_a_copied_cookie(app: Flask) -> None:
    client = app.test_client()
    login(client, "prep")
    stolen = session_cookie(client)
    assert stolen is not None
    html = client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf(html)})
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/").status_code == 302


def test_disabling_an_account_ends_its_open_session(app: Flask, eva: Eva) -> None:
    client = app.test_client()
    login(client, "prep")
    accounts.set_active(eva, OPERATOR, "prep", active=False)
    assert client.get("/").status_code == 302


def test_an_idle_session_ends(app: Flask) -> None:
    app.config["EVA_IDLE_TIMEOUT"] = timedelta(seconds=-1)
    client = app.test_client()
    login(client, "prep")
    response = client.get("/")
    assert response.status_code == 302
    assert response.location.startswith("/login")


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\\evil.example",  # browsers read a backslash as a slash: //evil.example
        "/\\/evil.example",
        "/\t/evil.example",  # browsers drop tabs and newlines from a URL
        "/\n/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
    ],
)
def test_the_next_parameter_never_leads_to_another_site(app: Flask, target: str) -> None:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"username": "prep", "password": PASSWORD, "csrf_token": csrf(page), "next": target},
    )
    assert response.location == "/"


def test_the_next_parameter_leads_back_to_a_page_of_this_site(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"username": "prep", "password": PASSWORD, "csrf_token": csrf(page), "next": "/?a=1"},
    )
    assert response.location == "/?a=1"


def test_my_work_lists_the_queue_of_my_role_overdue_first(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "review")
    client = app.test_client()
    login(client, "sec")
    html = client.get("/").get_data(as_text=True)
    assert f"/proposals/{pid}" in html
    assert "Tarkasta arviointi" in html
    assert "yhteinen jono" in html


def test_switching_language_is_remembered_for_the_user(app: Flask) -> None:
    client = app.test_client()
    login(client, "prep")
    html = client.get("/").get_data(as_text=True)
    client.post("/language", data={"lang": "sv", "next": "/", "csrf_token": csrf(html)})
    assert "Mina uppgifter" in client.get("/").get_data(as_text=True)
    fresh = app.test_client()
    login(fresh, "prep")
    page = fresh.get("/").get_data(as_text=True)
    assert '<html lang="sv">' in page


def test_a_proposal_page_shows_state_and_what_is_missing(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "assessment")
    client = app.test_client()
    login(client, "prep")
    html = client.get(f"/proposals/{pid}").get_data(as_text=True)
    assert "Arviointi" in html
    assert "Lähetä tarkastettavaksi" in html
    assert "1 kohta puuttuu" in html  # no alternatives yet


def test_firing_a_step_from_the_page_moves_the_proposal(app: Flask, eva: Eva) -> None:
    pid = new_proposal(eva)
    client = app.test_client()
    login(client, "prep")
    html = client.get(f"/proposals/{pid}").get_data(as_text=True)
    response = client.post(
        f"/proposals/{pid}/transitions/start_screening",
        data={"csrf_token": csrf(html), "reason": "", "version": "1"},
    )
    assert response.status_code == 302
    assert state_of(eva, pid) == "screening"


def test_a_step_that_needs_a_reason_says_so_and_changes_nothing(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "review")
    client = app.test_client()
    login(client, "sec")
    html = client.get(f"/proposals/{pid}").get_data(as_text=True)
    response = client.post(
        f"/proposals/{pid}/transitions/return_for_revision",
        data={"csrf_token": csrf(html), "reason": ""},
    )
    assert response.status_code == 422
    assert "Perustelu: tämä vaihe vaatii perustelun" in response.get_data(as_text=True)
    assert state_of(eva, pid) == "review"


@pytest.mark.parametrize(
    ("lang", "missing", "location"),
    [
        ("fi", "ei vastattu", "vaihtoehto 1 (Esitys)"),
        ("sv", "obesvarad", "alternativ 1 (Esitys)"),
        ("en", "not answered", "alternative 1 (Esitys)"),
    ],
)
def test_what_blocks_a_step_is_said_in_the_users_language(
    app: Flask, eva: Eva, lang: str, missing: str, location: str
) -> None:
    pid = proposal_in(eva, "assessment")
    # Two alternatives, one answer short of complete.
    documents.import_assessment(
        eva, as_("prep"), pid, document(eva, ScreeningOutcome.LIGHT, skip=1)
    )
    client = app.test_client()
    login(client, "prep")
    html = client.get("/").get_data(as_text=True)
    client.post("/language", data={"lang": lang, "next": "/", "csrf_token": csrf(html)})
    page = client.get(f"/proposals/{pid}").get_data(as_text=True)
    assert missing in page
    assert location in page
    # No English engine text leaks into the other languages.
    if lang != "en":
        assert "not answered" not in page


def test_signing_off_needs_the_presenters_password(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "reviewed")
    client = app.test_client()
    login(client, "pres")
    html = client.get(f"/proposals/{pid}").get_data(as_text=True)
    token = csrf(html)
    client.post(
        f"/proposals/{pid}/transitions/sign_off",
        data={"csrf_token": token, "password": "väärä-salasana-1"},
    )
    assert state_of(eva, pid) == "reviewed"
    client.post(
        f"/proposals/{pid}/transitions/sign_off", data={"csrf_token": token, "password": PASSWORD}
    )
    assert state_of(eva, pid) == "signed_off"


def test_another_organisations_or_a_hidden_confidential_proposal_is_404(
    app: Flask, eva: Eva
) -> None:
    public = new_proposal(eva)
    secret = new_proposal(eva, publicity=Publicity.CONFIDENTIAL, ground="JulkL 24 § 1 mom. 25 k")
    outsider = app.test_client()
    login(outsider, "outsider")
    assert outsider.get(f"/proposals/{public}").status_code == 404
    narrow = app.test_client()
    login(narrow, "sec_tek")
    assert narrow.get(f"/proposals/{secret}").status_code == 404
    assert narrow.get(f"/proposals/{public}").status_code == 200


def test_the_auditor_sees_the_history_with_the_chain_verified(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "decided")
    client = app.test_client()
    login(client, "aud")
    html, address = "", f"/proposals/{pid}/history"
    while address:  # every page of the history, along its next page links
        page = client.get(address).get_data(as_text=True)
        assert "tapahtumaa on varmennettu" in page
        html += page
        following = re.findall(r'<a href="([^"]+)" rel="next">', page)
        address = unescape(following[0]) if following else ""
    assert "Työnkulun vaihe" in html
    assert "Esittelijä hyväksynyt" in html  # a state, by its title


def test_an_auditor_has_no_actions_to_take(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "review")
    client = app.test_client()
    login(client, "aud")
    html = client.get(f"/proposals/{pid}").get_data(as_text=True)
    assert '<form method="post" action="/proposals/' not in html
    assert "Rooleillasi ei ole tässä tilassa tehtävää vaihetta" in html  # none offered at all
