"""Administration pages: users, grants and workflow versions, for administrators only."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eva_engine.errors import PermissionDenied
from eva_engine.services.people import accounts, users
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Role
from tests.builders import OPERATOR, as_
from tests.test_web import PASSWORD, app, csrf, login

__all__ = ["app"]


def test_the_administrator_sees_users_and_workflow_versions_and_grants_a_role(
    app: Flask, eva: Eva
) -> None:
    accounts.set_password(eva, OPERATOR, "admin", PASSWORD)
    client = app.test_client()
    login(client, "admin")
    html = client.get("/admin/").get_data(as_text=True)
    assert "eva-standard" in html
    assert "prep2" in html
    client.post(
        "/admin/grants",
        data={
            "csrf_token": csrf(html),
            "username": "prep2",
            "organisation": "testila",
            "role": "auditor",
        },
    )
    grants = {
        (g.role.value, g.body)
        for u in users.list_users(eva, OPERATOR)
        if u.username == "prep2"
        for g in u.grants
    }
    assert ("auditor", None) in grants
    bad = client.post(
        "/admin/grants",
        data={
            "csrf_token": csrf(html),
            "username": "prep2",
            "organisation": "testila",
            "role": "king",
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Roolia ei annettu" in bad


def test_nobody_else_sees_the_administration(app: Flask, eva: Eva) -> None:
    with pytest.raises(PermissionDenied):
        users.list_users(eva, as_("prep"))
    client = app.test_client()
    login(client, "sec")
    assert client.get("/admin/").status_code == 403


def admin_client(app: Flask, eva: Eva) -> tuple[FlaskClient, str]:
    accounts.set_password(eva, OPERATOR, "admin", PASSWORD)
    client = app.test_client()
    login(client, "admin")
    return client, client.get("/admin/").get_data(as_text=True)


def test_another_organisations_people_stay_out_of_view(app: Flask, eva: Eva) -> None:
    _, html = admin_client(app, eva)
    assert "prep2" in html
    assert "outsider" not in html  # holds roles only in muualla


def test_a_user_at_home_elsewhere_is_neither_shown_nor_managed_even_with_a_role_here(
    app: Flask, eva: Eva
) -> None:
    # A grant in testila for muualla's user is the operator's; testila's administrator does
    # not manage that account (its home is muualla).
    users.grant_role(
        eva,
        OPERATOR,
        users.GrantRole(username="outsider", organisation="testila", role=Role.EXPERT),
    )
    client, html = admin_client(app, eva)
    assert "outsider" not in html
    token = csrf(html)
    for url, data in [
        ("/admin/users/outsider/active", {"active": "0"}),
        ("/admin/grants/revoke", {"username": "outsider", "role": "expert"}),
    ]:
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 404
    refused = client.post(
        "/admin/grants",
        data={"csrf_token": token, "username": "outsider", "role": "auditor"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Organisaatiossasi ei ole käyttäjää outsider." in refused
    outsider = next(u for u in users.list_users(eva, OPERATOR) if u.username == "outsider")
    assert outsider.active
    held = {(g.role.value, g.organisation) for g in outsider.grants}
    assert ("expert", "testila") in held
    assert ("auditor", "testila") not in held


def test_the_administrator_creates_a_user_who_can_then_log_in(app: Flask, eva: Eva) -> None:
    client, _ = admin_client(app, eva)
    page = client.get("/admin/users/new").get_data(as_text=True)
    response = client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf(page),
            "username": "uusi.valmistelija",
            "full_name": "Uusi Valmistelija",
            "email": "uusi@testila.example",
            "language": "sv",
            "password": "vahva-salasana-2027",
        },
    )
    assert response.status_code == 302
    assert "uusi.valmistelija" in client.get("/admin/").get_data(as_text=True)
    assert accounts.authenticate(eva, "uusi.valmistelija", "vahva-salasana-2027") is not None
    created = next(u for u in users.list_users(eva, OPERATOR) if u.username == "uusi.valmistelija")
    assert (created.language.value, created.grants, created.organisation) == ("sv", [], "testila")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "Iso Kirjain"}, "username", "username"),
        ({"username": "prep"}, "username", "Käyttäjätunnus on jo käytössä"),
        ({"password": "lyhyt"}, "password", "password"),
        ({"email": "ei-osoite"}, "email", "email"),
        ({"full_name": ""}, "full_name", "full_name"),
    ],
)
def test_a_bad_user_form_shows_its_errors_and_saves_nothing(
    app: Flask, eva: Eva, data: dict[str, str], field: str, message: str
) -> None:
    client, _ = admin_client(app, eva)
    page = client.get("/admin/users/new").get_data(as_text=True)
    before = len(users.list_users(eva, OPERATOR))
    form = {
        "csrf_token": csrf(page),
        "username": "kelvollinen",
        "full_name": "Kelvollinen",
        "language": "fi",
        "password": "vahva-salasana-2027",
    } | data
    response = client.post("/admin/users/new", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'href="#{field}"' in html  # the error summary links to the field
    assert f'id="{field}-error"' in html
    assert len(users.list_users(eva, OPERATOR)) == before


def test_disabling_a_user_ends_their_session_and_enabling_restores_access(
    app: Flask, eva: Eva
) -> None:
    client, html = admin_client(app, eva)
    accounts.set_password(eva, OPERATOR, "prep2", PASSWORD)
    victim = app.test_client()
    login(victim, "prep2")
    assert victim.get("/").status_code == 200
    client.post("/admin/users/prep2/active", data={"csrf_token": csrf(html), "active": "0"})
    assert victim.get("/").status_code == 302  # back to the login page
    client.post("/admin/users/prep2/active", data={"csrf_token": csrf(html), "active": "1"})
    login(victim, "prep2")
    assert victim.get("/").status_code == 200


def test_the_administrator_revokes_a_role(app: Flask, eva: Eva) -> None:
    client, html = admin_client(app, eva)
    client.post(
        "/admin/grants/revoke",
        data={"csrf_token": csrf(html), "username": "prep2", "role": "preparer", "body": ""},
    )
    grants = [g for u in users.list_users(eva, OPERATOR) if u.username == "prep2" for g in u.grants]
    assert grants == []


def test_the_administrator_creates_a_body_and_a_meeting(app: Flask, eva: Eva) -> None:
    client, _ = admin_client(app, eva)
    page = client.get("/admin/bodies/new").get_data(as_text=True)
    response = client.post(
        "/admin/bodies/new",
        data={
            "csrf_token": csrf(page),
            "code": "sivltk",
            "name_fi": "Sivistyslautakunta",
            "name_sv": "Bildningsnämnden",
            "kind": "committee",
        },
    )
    assert response.status_code == 302
    duplicate = client.post(
        "/admin/bodies/new",
        data={"csrf_token": csrf(page), "code": "SIVLTK", "name_fi": "Toinen", "kind": "committee"},
    )
    assert duplicate.status_code == 422
    page = client.get("/admin/meetings/new").get_data(as_text=True)
    assert "SIVLTK" in page
    bad = client.post(
        "/admin/meetings/new",
        data={"csrf_token": csrf(page), "body": "SIVLTK", "date": "31.2.2027", "time": "16:00"},
    )
    assert bad.status_code == 422
    assert 'id="date-error"' in bad.get_data(as_text=True)
    good = client.post(
        "/admin/meetings/new",
        data={
            "csrf_token": csrf(page),
            "body": "SIVLTK",
            "date": "13.6.2027",
            "time": "16.00",
            "location": "Valtuustosali",
        },
    )
    assert good.status_code == 302
    overview = client.get("/admin/").get_data(as_text=True)
    assert "Sivistyslautakunta" in overview
    assert "Valtuustosali" in overview


def test_publishing_from_the_page_reports_nothing_new(app: Flask, eva: Eva) -> None:
    client, html = admin_client(app, eva)
    page = client.post(
        "/admin/workflows/publish", data={"csrf_token": csrf(html)}, follow_redirects=True
    ).get_data(as_text=True)
    assert "on jo julkaistu" in page


def test_admin_actions_need_the_administrator_role(app: Flask, eva: Eva) -> None:
    client = app.test_client()
    login(client, "sec")
    token = csrf(client.get("/").get_data(as_text=True))
    for url in ("/admin/users/new", "/admin/bodies/new", "/admin/meetings/new"):
        assert client.get(url).status_code == 403
    for url in ("/admin/users/prep2/active", "/admin/grants/revoke", "/admin/workflows/publish"):
        assert client.post(url, data={"csrf_token": token, "active": "0"}).status_code == 403
