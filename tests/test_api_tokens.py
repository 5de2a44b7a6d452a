"""API tokens: made and revoked on the web page and with ``eva tokens``, shown once, stored as
SHA-256 only, with an expiry and scopes; every refusal is a 401 or 403 problem; the browser's
session cookie opens nothing in the API; changes through a token are in the audit history with
the token's id."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from eva_engine.models import ApiToken, utcnow
from eva_engine.services.people import accounts, tokens, users
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import Role, TokenScope
from tests.api_support import NEW_PROPOSAL, Api, api_app, api_as, make_token, problem
from tests.builders import OPERATOR, new_proposal
from tests.exchange_support import run, run_json
from tests.test_web import PASSWORD, csrf, login

__all__ = ["api_app", "api_as"]  # fixtures


def stored(eva: Eva, token_id: int) -> ApiToken:
    with eva.uow() as uow:
        token = uow.session.get(ApiToken, token_id)
        assert token is not None
        return token


def test_a_token_is_stored_only_as_its_hash(eva: Eva, world: Any) -> None:
    created = tokens.create_token(
        eva,
        Caller("prep", "tests"),
        tokens.CreateToken(name="sync", scopes=[TokenScope.READ], expires_days=10),
    )
    assert re.fullmatch(r"eva_[A-Za-z0-9_-]{43}", created.token)
    row = stored(eva, created.details.id)
    assert row.token_hash == hashlib.sha256(created.token.encode()).hexdigest()
    assert row.prefix == created.token[:12]
    assert created.token not in json.dumps(tokens.list_tokens(eva, Caller("prep")), default=str)
    with eva.uow() as uow:
        home = uow.repos.organisation_by_code("testila")  # a token is in its user's home chain
        assert home is not None
        events = uow.repos.events(organisation_id=home.id, action="api_token.create")
        assert events
        assert created.token not in (events[-1].after or "")
        assert row.token_hash not in (events[-1].after or "")
    assert 9 <= (row.expires_at - utcnow()).days <= 10


def test_the_api_acts_as_the_tokens_user(api_app: Flask, eva: Eva) -> None:
    token = make_token(eva, "prep")
    response: Any = Api(api_app.test_client(), token).post("/proposals", NEW_PROPOSAL)
    assert response.status_code == 201
    history: Any = Api(api_app.test_client(), token).get(
        f"/proposals/{response.json['id']}/history"
    )
    token_id = tokens.list_tokens(eva, Caller("prep"))[0].id
    created = [e for e in history.json["items"] if e["action"] == "proposal.create"]
    assert created[0]["actor"] == "prep"
    assert created[0]["client"] == f"api:token:{token_id}"


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Basic cHJlcDpwdw==", "Bearer eva_unknown", "Bearer not-an-eva-token"],
)
def test_no_or_a_wrong_token_is_401(api_app: Flask, world: Any, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = api_app.test_client().get("/api/v1/organisations", headers=headers)
    body = problem(response, 401)
    assert body["code"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_401(api_app: Flask, eva: Eva, monkeypatch: pytest.MonkeyPatch) -> None:
    api = Api(api_app.test_client(), make_token(eva, "prep", days=1))
    assert api.get("/organisations").status_code == 200
    later = utcnow() + timedelta(days=1, minutes=1)
    monkeypatch.setattr(tokens, "utcnow", lambda: later)
    assert "expired" in problem(api.get("/organisations"), 401)["detail"]


def test_a_revoked_token_and_a_disabled_user_are_401(api_app: Flask, eva: Eva) -> None:
    api = Api(api_app.test_client(), make_token(eva, "prep"))
    token_id = tokens.list_tokens(eva, Caller("prep"))[0].id
    tokens.revoke_token(eva, Caller("prep"), token_id)
    assert "revoked" in problem(api.get("/organisations"), 401)["detail"]
    sec = Api(api_app.test_client(), make_token(eva, "sec"))
    accounts.set_active(eva, OPERATOR, "sec", active=False)
    assert "disabled" in problem(sec.get("/organisations"), 401)["detail"]


def test_a_token_without_the_scope_is_403(api_as: Any, eva: Eva) -> None:
    reader = api_as("prep", (TokenScope.READ,))
    assert reader.get("/organisations").status_code == 200
    body = problem(reader.post("/proposals", NEW_PROPOSAL), 403)
    assert body["code"] == "insufficient_scope"
    writer = api_as("prep", (TokenScope.WRITE,))
    assert problem(writer.get("/organisations"), 403)["code"] == "insufficient_scope"
    assert writer.post("/proposals", NEW_PROPOSAL).status_code == 201


def test_the_tokens_roles_are_the_users_roles(api_as: Any, eva: Eva) -> None:
    pid = new_proposal(eva)
    users.revoke_role(
        eva, OPERATOR, users.GrantRole(username="prep", organisation="testila", role=Role.PREPARER)
    )
    problem(api_as("prep").get(f"/proposals/{pid}"), 404)


def test_tokens_are_private_to_their_user(eva: Eva, world: Any) -> None:
    created = tokens.create_token(
        eva, Caller("prep"), tokens.CreateToken(name="x", scopes=[TokenScope.READ])
    )
    with pytest.raises(Exception, match="no API token"):
        tokens.revoke_token(eva, Caller("sec"), created.details.id)
    assert tokens.list_tokens(eva, Caller("sec")) == []
    with pytest.raises(Exception, match="named person"):
        tokens.create_token(eva, OPERATOR, tokens.CreateToken(name="x", scopes=[TokenScope.READ]))


# the command line ------------------------------------------------------------------------------
def test_the_cli_creates_lists_and_revokes_tokens(api_app: Flask, eva: Eva) -> None:
    made = run(
        eva,
        "tokens",
        "create",
        "--as",
        "prep",
        "--name",
        "Dynasty",
        "--scope",
        "read",
        "--scope",
        "write",
        "--expires-days",
        "30",
    )
    token = made.output.strip().splitlines()[-1]
    assert token.startswith("eva_")
    assert "not shown again" in made.output
    listed = run(eva, "tokens", "list", "--as", "prep").output
    assert "Dynasty" in listed
    assert "active" in listed
    assert token not in listed
    assert token[:12] in listed
    api = Api(api_app.test_client(), token)
    assert api.get("/organisations").status_code == 200
    data = run_json(eva, "tokens", "list", "--as", "prep")
    assert data[0]["scopes"] == ["read", "write"]
    assert "token_hash" not in data[0]
    run(eva, "tokens", "revoke", str(data[0]["id"]), "--as", "prep")
    assert "revoked" in run(eva, "tokens", "list", "--as", "prep").output
    problem(api.get("/organisations"), 401)
    run(eva, "tokens", "revoke", str(data[0]["id"]), "--as", "sec", code=3)
    run(eva, "tokens", "create", "--as", "prep", "--name", "x", "--expires-days", "999", code=2)
    run(eva, "tokens", "create", "--as", "nobody", "--name", "x", code=3)


# the web page ----------------------------------------------------------------------------------
def test_the_web_page_makes_shows_once_and_revokes_a_token(api_app: Flask, eva: Eva) -> None:
    accounts.set_password(eva, OPERATOR, "prep", PASSWORD)
    client = api_app.test_client()
    login(client, "prep")
    page = client.get("/account/tokens/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "API-avaimet" in html
    assert 'for="name"' in html
    made = client.post(
        "/account/tokens/",
        data={
            "name": "Raportointi",
            "scopes": ["read"],
            "expires_days": "30",
            "csrf_token": csrf(html),
        },
    )
    assert made.status_code == 200
    shown = made.get_data(as_text=True)
    token = re.search(r'value="(eva_[^"]+)"', shown)
    assert token is not None
    assert made.headers["Cache-Control"] == "no-store"
    again = client.get("/account/tokens/").get_data(as_text=True)
    assert token.group(1) not in again
    assert "Raportointi" in again
    assert token.group(1)[:12] in again
    api = Api(api_app.test_client(), token.group(1))
    assert api.get("/organisations").status_code == 200
    assert problem(api.post("/proposals", NEW_PROPOSAL), 403)["code"] == "insufficient_scope"
    token_id = tokens.list_tokens(eva, Caller("prep"))[0].id
    revoked = client.post(
        "/account/tokens/revoke", data={"token_id": str(token_id), "csrf_token": csrf(again)}
    )
    assert revoked.status_code == 302
    problem(api.get("/organisations"), 401)


def test_the_web_page_names_what_is_wrong(api_app: Flask, eva: Eva) -> None:
    accounts.set_password(eva, OPERATOR, "prep", PASSWORD)
    client = api_app.test_client()
    login(client, "prep")
    html = client.get("/account/tokens/").get_data(as_text=True)
    bad = client.post(
        "/account/tokens/",
        data={"name": "", "expires_days": "1000", "csrf_token": csrf(html)},
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'href="#name"' in text
    assert 'href="#expires_days"' in text
    assert 'href="#scopes"' in text
    assert tokens.list_tokens(eva, Caller("prep")) == []
    no_csrf = client.post(
        "/account/tokens/", data={"name": "x", "scopes": ["read"], "expires_days": "5"}
    )
    assert no_csrf.status_code == 400
    assert client.get("/account/tokens/").status_code == 200
    anonymous = api_app.test_client().get("/account/tokens/")
    assert anonymous.status_code == 302


def test_the_browser_session_opens_nothing_in_the_api(api_app: Flask, eva: Eva) -> None:
    accounts.set_password(eva, OPERATOR, "prep", PASSWORD)
    client = api_app.test_client()
    login(client, "prep")
    assert client.get("/account/tokens/").status_code == 200  # logged in
    response = client.get("/api/v1/organisations")
    assert problem(response, 401)["code"] == "unauthenticated"
    assert "Set-Cookie" not in response.headers
    posted = client.post("/api/v1/proposals", json=NEW_PROPOSAL)
    problem(posted, 401)  # no CSRF token asked for, and no session either


def test_with_a_token_the_api_needs_no_csrf_token(api_as: Any, eva: Eva) -> None:
    response = api_as("prep").post("/proposals", NEW_PROPOSAL)
    assert response.status_code == 201
    assert "Set-Cookie" not in response.headers


def test_last_use_is_recorded(api_app: Flask, eva: Eva) -> None:
    token = make_token(eva, "prep")
    assert tokens.list_tokens(eva, Caller("prep"))[0].last_used_at is None
    Api(api_app.test_client(), token).get("/organisations")
    assert tokens.list_tokens(eva, Caller("prep"))[0].last_used_at is not None
    with eva.uow() as uow:
        rows = uow.session.scalars(select(ApiToken)).all()
        assert all(len(r.token_hash) == 64 for r in rows)
