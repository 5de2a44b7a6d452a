"""An organisation's single sign-on settings on the administration's page and through the API
(issue 13, part 5): the command of ``eva sso set`` behind both (one rule for every channel), its
administrators only and of that organisation only, every problem at once next to its field in
the reader's language, the client secret never stored nor shown (only whether the server's
environment has it), and local passwords never switched off while no administrator of the
organisation could log in with single sign-on (no lock-out of the last administrator)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from eva_engine.errors import InvalidInput, NotFound
from eva_engine.models import AuditEvent
from eva_engine.services.people import accounts, sso
from eva_engine.services.runtime import Eva
from tests.api_support import Api, api_app, make_token, problem
from tests.builders import OPERATOR, ORG, OTHER_ORG, as_, build_foreign
from tests.conftest import World
from tests.test_cross_organisation import changed, snapshot
from tests.test_web import PASSWORD, csrf, login

__all__ = ["api_app"]

ISSUER = "https://tunnistus.testila.example"
SECRET = "ei-koskaan-sivulla-2f9c"  # noqa: S105 - a test value that must never be shown
GOOD = {
    "issuer": ISSUER,
    "client_id": "eva-testila",
    "match_claim": "email",
    "provision": "no",
    "local_passwords": "yes",
}


@pytest.fixture
def app(api_app: Flask, eva: Eva, world: World, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.delenv(sso.secret_variable(ORG), raising=False)
    for username in ("admin", "sec"):
        accounts.set_password(eva, OPERATOR, username, PASSWORD)
    return api_app


def _admin(app: Flask, username: str = "admin") -> tuple[FlaskClient, str]:
    client = app.test_client()
    login(client, username)
    return client, csrf(client.get("/").get_data(as_text=True))


def _post(client: FlaskClient, token: str, **fields: str) -> tuple[int, str]:
    response = client.post("/admin/sso", data={"csrf_token": token, **GOOD, **fields})
    if response.status_code == 302:
        return 302, client.get(response.location).get_data(as_text=True)
    return response.status_code, response.get_data(as_text=True)


def _bind(eva: Eva, username: str, issuer: str = ISSUER) -> None:
    """The user logs in once with single sign-on of ``issuer`` (matched by username)."""
    sso.set_provider(
        eva,
        OPERATOR,
        sso.SetProvider(issuer=issuer, client_id="eva-testila", match_claim="sub"),
        ORG,
    )
    sso.sign_in(eva, ORG, {"iss": issuer, "sub": username})


# the page ------------------------------------------------------------------------------------
def test_the_page_shows_the_settings_and_only_whether_the_secret_is_set(
    app: Flask, eva: Eva, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = _admin(app)
    page = client.get("/admin/sso").get_data(as_text=True)
    assert "Ei käytössä: organisaation henkilöstö kirjautuu salasanoilla." in page
    assert "EVA_SSO_TESTILA_CLIENT_SECRET" in page
    assert "Ei asetettu" in page
    assert "http://localhost/login/oidc/testila/callback" in page  # to register at the provider
    assert 'href="/admin/sso"' in client.get("/admin/").get_data(as_text=True)
    sso.set_provider(
        eva, OPERATOR, sso.SetProvider(issuer=ISSUER, client_id="eva-testila", provision=True), ORG
    )
    monkeypatch.setenv(sso.secret_variable(ORG), SECRET)
    page = client.get("/admin/sso").get_data(as_text=True)
    assert f"Käytössä: {ISSUER}" in page
    assert "Asetettu palvelimen ympäristömuuttujassa EVA_SSO_TESTILA_CLIENT_SECRET." in page
    assert SECRET not in page
    assert f'value="{ISSUER}"' in page  # the form starts from the settings as they are
    assert re.search(r'<input checked id="provision-0"[^>]*value="yes"', page)


def test_an_administrator_saves_the_settings_with_the_command_of_eva_sso_set(
    app: Flask, eva: Eva
) -> None:
    client, token = _admin(app)
    status, page = _post(client, token, match_claim="sub", provision="yes")
    assert status == 302
    assert "Kertakirjautumisen asetukset tallennettiin." in page
    view = sso.show_provider(eva, OPERATOR, ORG)
    assert (view.issuer, view.client_id, view.match_claim) == (ISSUER, "eva-testila", "sub")
    assert (view.provision, view.local_passwords) == (True, True)
    with eva.reading() as uow:  # the change is in the history, by the administrator
        events = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "identity_provider")
        ).all()
        assert [(e.actor_name, e.client) for e in events] == [("admin", "web")]


def test_every_problem_is_shown_at_once_next_to_its_field_in_the_readers_language(
    app: Flask, eva: Eva
) -> None:
    client, token = _admin(app)
    before = snapshot(eva)
    status, page = _post(
        client, token, issuer="ftp://ei kelpaa", client_id="", match_claim="nimi", provision="ehkä"
    )
    assert status == 422
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    for anchor in ("#issuer", "#client_id", "#match_claim-0", "#provision-0"):
        assert f'href="{anchor}"' in summary, anchor
    assert "Anna tunnistuspalvelun osoite" in page  # the issuer's hint, never its pattern
    assert "https?" not in page
    assert "\\S" not in page
    assert "Täytä tämä kenttä" in page
    assert 'id="issuer-error"' in page
    assert 'aria-describedby="match_claim-error"' in page
    assert changed(before, snapshot(eva)) == []
    client.post("/language", data={"csrf_token": token, "lang": "sv"})
    status, page = _post(client, token, issuer="x", client_id="")
    assert status == 422
    assert "Fyll i detta fält" in page


@pytest.mark.postgres  # who may still log in is one EXISTS over identities, users and grants
def test_local_passwords_stay_on_while_no_administrator_has_signed_on(app: Flask, eva: Eva) -> None:
    """The last administrator is never locked out: switching local passwords off is refused,
    with what to do, until an active administrator of the organisation has an identity of this
    provider bound; a disabled one, or an identity of another provider, does not count."""
    client, token = _admin(app)
    before = snapshot(eva)
    status, page = _post(client, token, local_passwords="no")
    assert status == 422
    assert "Paikallisia salasanoja ei voi vielä poistaa käytöstä" in page
    assert 'href="#local_passwords-0"' in page
    assert changed(before, snapshot(eva)) == []
    off = sso.SetProvider(issuer=ISSUER, client_id="eva-testila", local_passwords=False)
    for who in (OPERATOR, as_("admin")):  # the same rule whoever asks, on every channel
        with pytest.raises(InvalidInput) as refused:
            sso.set_provider(eva, who, off, ORG)
        assert [p.location for p in refused.value.problems] == ["local_passwords"]
    _bind(eva, "admin", issuer="https://toinen.testila.example")  # another provider's
    _bind(eva, "sec")  # not an administrator
    with pytest.raises(InvalidInput):
        sso.set_provider(eva, OPERATOR, off, ORG)
    _bind(eva, "admin")
    accounts.set_active(eva, OPERATOR, "admin", False)
    with pytest.raises(InvalidInput):  # a disabled administrator logs in no more
        sso.set_provider(eva, OPERATOR, off, ORG)
    accounts.set_active(eva, OPERATOR, "admin", True)
    client, token = _admin(app)
    status, page = _post(client, token, local_passwords="no")
    assert status == 302, page
    assert sso.show_provider(eva, OPERATOR, ORG).local_passwords is False


def test_only_an_administrator_of_that_organisation_sees_or_changes_it(
    app: Flask, eva: Eva
) -> None:
    build_foreign(eva)
    accounts.set_password(eva, OPERATOR, "muu_admin", PASSWORD)
    sso.set_provider(
        eva,
        OPERATOR,
        sso.SetProvider(issuer="https://idp.muualla.example", client_id="m"),
        OTHER_ORG,
    )
    client, token = _admin(app, "sec")  # testila's secretary: not an administrator
    assert client.get("/admin/sso").status_code == 403
    assert client.post("/admin/sso", data={"csrf_token": token, **GOOD}).status_code == 403
    # muualla's administrator changes muualla's, never testila's, and sees only their own
    client, token = _admin(app, "muu_admin")
    page = client.get("/admin/sso").get_data(as_text=True)
    assert "https://idp.muualla.example" in page
    assert "testila" not in page.split("<main", 1)[1]
    assert (
        _post(client, token, issuer="https://idp.muualla.example", client_id="muu-uusi")[0] == 302
    )
    assert sso.show_provider(eva, OPERATOR, OTHER_ORG).client_id == "muu-uusi"
    with pytest.raises(NotFound):
        sso.show_provider(eva, OPERATOR, ORG)  # testila still has none
    # testila's administrator reaches muualla's neither through the service nor the API
    with pytest.raises(NotFound):
        sso.show_provider(eva, as_("admin"), OTHER_ORG)
    with pytest.raises(NotFound):
        sso.set_provider(
            eva, as_("admin"), sso.SetProvider(issuer=ISSUER, client_id="x"), OTHER_ORG
        )
    api = Api(app.test_client(), make_token(eva, "admin"))
    before = snapshot(eva)
    problem(api.get(f"/organisations/{OTHER_ORG}/sso"), 404)
    body = {"issuer": ISSUER, "client_id": "x"}
    problem(api.put(f"/organisations/{OTHER_ORG}/sso", body=body), 404)
    assert changed(before, snapshot(eva)) == []
    assert sso.show_provider(eva, OPERATOR, OTHER_ORG).issuer == "https://idp.muualla.example"


# the API -------------------------------------------------------------------------------------
def test_the_api_reads_and_sets_the_settings_with_the_same_command(
    app: Flask, eva: Eva, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = Api(app.test_client(), make_token(eva, "admin"))
    address = f"/organisations/{ORG}/sso"
    missing = problem(api.get(address), 404)
    assert "testila has no single sign-on configured" in missing["detail"]
    body = {"issuer": ISSUER, "client_id": "eva-testila", "match_claim": "sub"}
    response = api.put(address, body=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    made = response.get_json()
    assert made["secret_configured"] is False
    assert made["secret_variable"] == sso.secret_variable(ORG)  # EVA_SSO_TESTILA_CLIENT_SECRET
    assert (made["match_claim"], made["provision"], made["local_passwords"]) == ("sub", False, True)
    monkeypatch.setenv(sso.secret_variable(ORG), SECRET)
    shown = api.get(address)
    assert shown.get_json()["secret_configured"] is True
    assert SECRET not in shown.get_data(as_text=True)
    assert "client_secret" not in shown.get_json()
    # every problem at once, located, in the asker's language; a secret is no field here
    bad = problem(
        api.put(
            address,
            body={"issuer": "ei osoite", "client_id": "", "client_secret": "x"},
            headers={"Accept-Language": "fi"},
        ),
        422,
    )
    where = {e["location"] for e in bad["errors"]}
    assert {"issuer", "client_id", "client_secret"} <= where
    assert any("Anna tunnistuspalvelun osoite" in e["detail"] for e in bad["errors"])
    # local passwords stay on while no administrator signs on with this provider
    locked = problem(api.put(address, body={**body, "local_passwords": False}), 422)
    assert [e["location"] for e in locked["errors"]] == ["local_passwords"]
    assert "no administrator of the organisation has logged in" in locked["errors"][0]["detail"]
    _bind(eva, "admin")
    assert api.put(address, body={**body, "local_passwords": False}).status_code == 200
    # a user without the administrator's role: forbidden
    problem(Api(app.test_client(), make_token(eva, "sec")).get(address), 403)


def test_the_document_links_the_settings_for_a_client(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    path = doc["paths"]["/api/v1/organisations/{organisation}/sso"]
    assert path["get"]["operationId"] == "get_sso"
    assert path["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert "PutSso" in path["get"]["responses"]["200"]["links"]
    assert "GetSso" in path["put"]["responses"]["200"]["links"]
    organisations = doc["paths"]["/api/v1/organisations"]["get"]["responses"]["200"]["links"]
    assert organisations["GetSso"]["operationId"] == "get_sso"
