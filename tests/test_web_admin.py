"""Administration pages: users, grants and workflow versions, for administrators only."""

from __future__ import annotations

import pytest
from flask import Flask

from eva_engine.errors import PermissionDenied
from eva_engine.services import accounts, users
from eva_engine.services.runtime import Eva
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
