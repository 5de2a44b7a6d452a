"""Helpers for the API tests: the app on the test's database, tokens, a small client that
sends a token with every request (the Flask test client), and ``Script``: an outside
program's API client (httpx over WSGI) for the walks through the documented API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from eva_engine.config import Settings
from eva_engine.services.people import tokens
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import TokenScope
from tests.conftest import World
from web import create_app

BOTH = (TokenScope.READ, TokenScope.WRITE)


def make_token(
    eva: Eva, username: str, scopes: tuple[TokenScope, ...] = BOTH, days: int = 30
) -> str:
    created = tokens.create_token(
        eva,
        Caller(username, "tests"),
        tokens.CreateToken(name=f"{username} test", scopes=list(scopes), expires_days=days),
    )
    return created.token


class Api:
    """The Flask test client with a bearer token."""

    def __init__(self, client: FlaskClient, token: str | None) -> None:
        self.client = client
        self.token = token

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        # The tests read the English messages; without the header the API answers in Finnish.
        return {"Accept-Language": "en"} | out | (extra or {})

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.client.get(
            "/api/v1" + path, headers=self.headers(kw.pop("headers", None)), **kw
        )

    def post(self, path: str, body: Any = None, **kw: Any) -> TestResponse:
        return self.client.post(
            "/api/v1" + path, json=body, headers=self.headers(kw.pop("headers", None)), **kw
        )

    def put(self, path: str, body: Any = None, **kw: Any) -> TestResponse:
        return self.client.put(
            "/api/v1" + path, json=body, headers=self.headers(kw.pop("headers", None)), **kw
        )

    def delete(self, path: str, **kw: Any) -> TestResponse:
        return self.client.delete(
            "/api/v1" + path, headers=self.headers(kw.pop("headers", None)), **kw
        )


class Script:
    """A tiny API client as an outside program would write it: its token on every request,
    an ``Idempotency-Key`` on every POST, a step or a change with the proposal's ETag. Every
    answer must be a success. Without ``Accept-Language`` eva answers in Finnish."""

    def __init__(self, app: Any, token: str) -> None:
        self.http = httpx.Client(
            transport=httpx.WSGITransport(app=app),
            base_url="http://eva.invalid/api/v1",
            headers={"Authorization": f"Bearer {token}"},
        )

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> httpx.Response:
        if method == "POST":
            headers.setdefault("Idempotency-Key", str(uuid.uuid4()))
        response = self.http.request(method, path, json=body, headers=headers)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response

    def json(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        return self.call(method, path, body, **headers).json()

    def etag(self, pid: int) -> str:
        return self.call("GET", f"/proposals/{pid}").headers["ETag"]

    def step(self, pid: int, trigger: str, reason: str | None = None) -> str:
        """Take a workflow step on the proposal as read now; the state it leads to."""
        body = {"reason": reason} if reason else {}
        result = self.call(
            "POST", f"/proposals/{pid}/transitions/{trigger}", body, **{"If-Match": self.etag(pid)}
        )
        return str(result.json()["to_state"])

    def put(self, pid: int, path: str, body: Any) -> Any:
        """``PUT /proposals/{pid}{path}`` on the proposal as read now."""
        return self.json("PUT", f"/proposals/{pid}{path}", body, **{"If-Match": self.etag(pid)})

    def upload(self, pid: int, name: str, content: bytes, **fields: str) -> Any:
        response = self.http.post(
            f"/proposals/{pid}/attachments",
            files={"file": (name, content)},
            data=fields,
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 201, response.text
        return response.json()


def problem(response: TestResponse, status: int) -> dict[str, Any]:
    """The problem details of an error response, checked for its status and media type."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status
    return body


def locations(body: dict[str, Any]) -> set[str]:
    return {e["location"] for e in body["errors"]}


@pytest.fixture
def api_app(eva: Eva, world: World) -> Flask:
    settings = Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"})
    return create_app(settings, engine=eva, TESTING=True)


@pytest.fixture
def api_as(api_app: Flask, eva: Eva) -> Any:
    """``api_as("prep")``: a client with a read+write token of that user."""

    def make(username: str, scopes: tuple[TokenScope, ...] = BOTH) -> Api:
        return Api(api_app.test_client(), make_token(eva, username, scopes))

    return make


NEW_PROPOSAL: dict[str, Any] = {
    "organisation": "testila",
    "case_number": "88/05.00.00/2026",
    "title_fi": "Rajapinnan esitys",
    "body": "HYVLTK",
    "presenter": "pres",
}
