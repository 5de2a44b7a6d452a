"""Every route of the UI, for every kind of visitor: the one it is for, a wrong role, another
organisation's user, and someone whose grant does not cover a confidential proposal. Another
organisation's (or a hidden confidential) record is 404, never 403. A meta-test fails when a
route is added without a line here (or in the test module named for it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eva_engine.services import accounts, history
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Publicity
from tests.builders import OPERATOR, meeting_id, proposal_in
from tests.test_web import PASSWORD, app, csrf, login

__all__ = ["app"]


@dataclass(frozen=True)
class Target:
    """The records a route is tried on."""

    public: int  # a public proposal in HYVLTK, in review
    confidential: int  # a confidential proposal in HYVLTK, in review
    meeting: int  # HYVLTK's meeting


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    url: Callable[[Target, bool], str]  # (records, confidential?) -> address
    allowed: str  # a user it is for
    refused: str | None = None  # a user whose role does not allow it (403)
    data: dict[str, str] = field(default_factory=dict)
    per_proposal: bool = True  # other organisation and confidential checks apply
    ok: tuple[int, ...] = (200,)


def proposal(suffix: str = "") -> Callable[[Target, bool], str]:
    return lambda t, secret: f"/proposals/{t.confidential if secret else t.public}{suffix}"


def meeting(suffix: str = "") -> Callable[[Target, bool], str]:
    return lambda t, _secret: f"/meetings/{t.meeting}{suffix}"


def fixed(address: str) -> Callable[[Target, bool], str]:
    return lambda _t, _secret: address


ROUTES = [
    Route("work.index", "GET", fixed("/"), "prep", per_proposal=False),
    Route("proposals.index", "GET", fixed("/proposals/"), "prep", per_proposal=False),
    Route("proposals.show", "GET", proposal(), "prep"),
    Route("proposals.timeline", "GET", proposal("/history"), "aud"),
    Route(
        "proposals.fire",
        "POST",
        proposal("/transitions/pass_review"),
        "sec",
        refused="aud",
        data={"reason": ""},
        ok=(302,),
    ),
    Route("editor.create", "GET", fixed("/proposals/new"), "prep", per_proposal=False),
    Route("editor.record_screening", "GET", proposal("/screening"), "prep"),
    Route("editor.alternatives", "GET", proposal("/alternatives"), "prep"),
    Route("editor.area", "GET", proposal("/areas/"), "prep"),
    Route("editor.follow_up", "GET", proposal("/follow-up"), "prep"),
    Route("meetings.index", "GET", fixed("/meetings/"), "sec", per_proposal=False),
    Route("meetings.agenda", "GET", meeting(), "sec", per_proposal=False),
    Route("meetings.summaries", "GET", meeting("/summaries"), "sec", per_proposal=False),
    Route(
        "meetings.add_item",
        "POST",
        meeting("/items"),
        "sec",
        refused="prep",
        data={"proposal_id": "{public}"},
        per_proposal=False,
        ok=(302,),
    ),
    Route("audit.events", "GET", fixed("/audit/"), "aud", refused="prep", per_proposal=False),
    Route(
        "audit.verify",
        "POST",
        fixed("/audit/verify"),
        "aud",
        refused="prep",
        per_proposal=False,
        ok=(302,),
    ),
    Route("admin.index", "GET", fixed("/admin/"), "admin", refused="sec", per_proposal=False),
    Route("admin.new_user", "GET", fixed("/admin/users/new"), "admin", "sec", per_proposal=False),
    Route("admin.new_body", "GET", fixed("/admin/bodies/new"), "admin", "sec", per_proposal=False),
    Route(
        "admin.new_meeting",
        "GET",
        fixed("/admin/meetings/new"),
        "admin",
        "sec",
        per_proposal=False,
    ),
    Route(
        "admin.grant",
        "POST",
        fixed("/admin/grants"),
        "admin",
        "sec",
        data={"username": "prep2", "role": "expert"},
        per_proposal=False,
        ok=(302,),
    ),
    Route(
        "admin.revoke",
        "POST",
        fixed("/admin/grants/revoke"),
        "admin",
        "sec",
        data={"username": "prep2", "role": "preparer"},
        per_proposal=False,
        ok=(302,),
    ),
    Route(
        "admin.set_active",
        "POST",
        fixed("/admin/users/prep2/active"),
        "admin",
        "sec",
        data={"active": "1"},
        per_proposal=False,
        ok=(302,),
    ),
    Route(
        "admin.publish",
        "POST",
        fixed("/admin/workflows/publish"),
        "admin",
        "sec",
        per_proposal=False,
        ok=(302,),
    ),
    Route("auth.password", "GET", fixed("/password"), "prep", per_proposal=False),
    Route("static", "GET", fixed("/static/eva.css"), "prep", per_proposal=False),
]

# Routes whose access rules are tested in the module named (its tests call the address).
ELSEWHERE = {
    "auth.login": "test_web.py",
    "auth.logout": "test_web.py",
    "language.switch": "test_web.py",
    "healthz": "test_web_app.py",
    "tokens.": "test_api_*.py",
    "outbox.": "test_outbox*.py",
    "exchange.": "test_exchange*.py",
    "api.": "test_api_*.py",
}

USERS = ("prep", "sec", "aud", "admin", "tek", "outsider", "prep2")


@pytest.fixture
def target(eva: Eva) -> Target:
    for username in USERS:
        accounts.set_password(eva, OPERATOR, username, PASSWORD)
    return Target(
        public=proposal_in(eva, "review"),
        confidential=proposal_in(
            eva, "review", publicity=Publicity.CONFIDENTIAL, ground="JulkL 24 § 1 mom. 25 k"
        ),
        meeting=meeting_id(eva, "HYVLTK"),
    )


def visit(
    app: Flask,
    username: str,
    route: Route,
    address: str,
    target: Target,
    before: Callable[[], object] = lambda: None,
) -> int:
    """The status of one request by ``username`` (logged in first; ``before`` runs just
    ahead of the request itself)."""
    client: FlaskClient = app.test_client()
    login(client, username)
    token = csrf(client.get("/").get_data(as_text=True))
    before()
    data = {k: v.format(public=target.public) for k, v in route.data.items()}
    if route.method == "GET":
        response = client.get(address)
    else:
        response = client.post(address, data={"csrf_token": token, **data})
    response.close()  # a static file is streamed: close it
    return response.status_code


def ids(route: Route) -> str:
    return f"{route.method} {route.endpoint}"


@pytest.mark.parametrize("route", ROUTES, ids=ids)
def test_the_route_serves_the_user_it_is_for(app: Flask, target: Target, route: Route) -> None:
    assert visit(app, route.allowed, route, route.url(target, False), target) in route.ok


@pytest.mark.parametrize("route", [r for r in ROUTES if r.refused], ids=ids)
def test_a_wrong_role_is_refused_and_nothing_changes(
    app: Flask, eva: Eva, target: Target, route: Route
) -> None:
    assert route.refused is not None
    counted: list[int] = []

    def count() -> None:
        counted.append(history.verify(eva).verified)

    assert visit(app, route.refused, route, route.url(target, False), target, count) == 403
    assert history.verify(eva).verified == counted[0]  # no event: nothing was changed


@pytest.mark.parametrize("route", [r for r in ROUTES if r.per_proposal], ids=ids)
def test_another_organisations_user_gets_not_found(
    app: Flask, target: Target, route: Route
) -> None:
    assert visit(app, "outsider", route, route.url(target, False), target) == 404


@pytest.mark.parametrize("route", [r for r in ROUTES if r.per_proposal], ids=ids)
def test_a_confidential_proposal_is_not_found_outside_the_grant_that_covers_it(
    app: Flask, target: Target, route: Route
) -> None:
    # tek prepares in TEKLTK only: HYVLTK's confidential proposals do not exist for them.
    assert visit(app, "tek", route, route.url(target, True), target) == 404
    assert visit(app, route.allowed, route, route.url(target, True), target) in route.ok


def test_every_route_is_covered_here_or_in_the_module_named_for_it(app: Flask) -> None:
    here = {r.endpoint for r in ROUTES}
    tests = Path(__file__).parent
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in here:
            continue
        owner = next((m for p, m in ELSEWHERE.items() if rule.endpoint.startswith(p)), None)
        if owner is None:
            missing.append(rule.endpoint)
            continue
        modules = sorted(tests.glob(owner))
        address = re.sub(r"<[^>]+>", "", rule.rule).rstrip("/").split("/")[-1] or rule.rule
        if not any(address in m.read_text(encoding="utf-8") for m in modules):
            missing.append(f"{rule.endpoint} (not in {owner})")
    assert missing == []
