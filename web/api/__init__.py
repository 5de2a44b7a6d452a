"""The JSON API at /api/v1 (docs/api.md): token authentication, problem details, ETags,
idempotent POSTs and an OpenAPI 3.1 document generated from the same route table.

The API never reads or writes the browser's session cookie (it would make the API open to
cross-site requests), and it is exempt from CSRF because it only takes bearer tokens."""

from __future__ import annotations

import json

from flask import Flask, Request, Response, current_app, render_template, request
from flask.sessions import SecureCookieSession, SessionInterface, SessionMixin
from flask_wtf import CSRFProtect
from werkzeug.exceptions import HTTPException

from eva_engine.errors import N_, Text
from web.api import attachments as attachments
from web.api import comments as comments
from web.api import endpoints as endpoints
from web.api import exports as exports
from web.api import follow_up as follow_up
from web.api import installation as installation
from web.api import organisation as organisation
from web.api import people as people
from web.api.framework import bp
from web.api.openapi import document, reference
from web.api.problems import DOCS, problem_response

PREFIX = "/api/"


class _ApiWithoutCookies(SessionInterface):
    """The app's session interface, except that API requests get an empty session that is
    never saved: a browser's session cookie authenticates nothing in the API."""

    def __init__(self, inner: SessionInterface) -> None:
        self.inner = inner

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if request.path.startswith(PREFIX):
            return SecureCookieSession()
        return self.inner.open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if request.path.startswith(PREFIX):
            return
        self.inner.save_session(app, session, response)


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI 3.1 document (no token needed)."""
    response = Response(
        json.dumps(document(), ensure_ascii=False, indent=1), mimetype="application/json"
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/docs")
def docs() -> str:
    """The API reference, rendered on the server (no scripts)."""
    return render_template("api_docs.html", ref=reference())


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], endpoint="not_found")
def not_found(rest: str) -> Response:
    """Any other path below /api/v1: a problem, not the HTML page of the UI; a known path
    with another method is 405."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PUT", "DELETE"):
        try:
            endpoint, _ = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != "api.not_found":
            allowed.append(method)
    if allowed:
        return problem_response(
            405,
            "method_not_allowed",
            Text(N_("Use %(methods)s."), {"methods": ", ".join(allowed)}),
            headers={"Allow": ", ".join(allowed)},
        )
    return problem_response(
        404,
        "not_found",
        Text(
            N_("There is no such resource: /api/v1/%(path)s. See %(docs)s."),
            {"path": rest[:200], "docs": DOCS},
        ),
    )


def init_app(app: Flask) -> None:
    """Register the API: blueprint, CSRF exemption, and no session cookie for /api/."""
    app.register_blueprint(bp)
    csrf = app.extensions.get("csrf")
    if isinstance(csrf, CSRFProtect):
        csrf.exempt(bp)
    app.session_interface = _ApiWithoutCookies(app.session_interface)
