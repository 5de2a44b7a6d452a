"""Every route of the UI, for every kind of visitor: the one it is for, a wrong role, another
organisation's user, and someone whose grant does not cover a confidential proposal. Another
organisation's (or a hidden confidential) record is 404, never 403. A meta-test fails when a
route is added without a line here (or in the test module named for it). Every route of the
administration, and every route that changes something, is also tried on another
organisation's records (``CROSS``), with a meta-test of its own."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eva_engine.services.attachments import commands as attachment_commands
from eva_engine.services.history import trail
from eva_engine.services.people import accounts
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Publicity
from tests.builders import OPERATOR, Foreign, build_foreign, meeting_id, proposal_in
from tests.comment_support import foreign_comment
from tests.follow_up_support import foreign_follow_up
from tests.test_cross_organisation import changed, snapshot
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
    # Nothing sent: nothing written, back to the page (a text is written in test_proposal_texts).
    Route("proposals.save_texts", "POST", proposal("/texts"), "prep", ok=(302,)),
    Route("editor.create", "GET", fixed("/proposals/new"), "prep", per_proposal=False),
    Route("editor.record_screening", "GET", proposal("/screening"), "prep"),
    Route("editor.alternatives", "GET", proposal("/alternatives"), "prep"),
    Route("editor.area", "GET", proposal("/areas/"), "prep"),
    Route("editor.follow_up", "GET", proposal("/follow-up"), "prep"),
    Route("follow_ups.index", "GET", proposal("/follow-ups"), "prep"),
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
    Route(
        "meetings.move_item",
        "POST",
        lambda t, _secret: f"/meetings/{t.meeting}/items/{t.public}/move",
        "sec",
        refused="prep",
        data={"direction": "up"},
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
    Route("admin.single_sign_on", "GET", fixed("/admin/sso"), "admin", "sec", per_proposal=False),
    # a valid setting (local passwords stay on): saved, back to the page
    Route(
        "admin.single_sign_on",
        "POST",
        fixed("/admin/sso"),
        "admin",
        "sec",
        data={
            "issuer": "https://tunnistus.testila.example",
            "client_id": "eva",
            "match_claim": "email",
            "provision": "no",
            "local_passwords": "yes",
        },
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
    Route(
        "reports.index",
        "GET",
        fixed("/reports/?period=2026&version=internal"),
        "aud",
        refused="prep",
        per_proposal=False,
    ),
    Route(
        "reports.download",
        "GET",
        fixed("/reports/report.csv?period=2026&version=internal"),
        "aud",
        refused="prep",
        per_proposal=False,
    ),
    Route("auth.password", "GET", fixed("/password"), "prep", per_proposal=False),
    Route("static", "GET", fixed("/static/eva.css"), "prep", per_proposal=False),
]

# Routes whose access rules are tested in the module named (its tests call the address).
ELSEWHERE = {
    "proposals.upload_attachment": "test_attachments.py",
    "proposals.download_attachment": "test_attachments.py",
    "proposals.remove_attachment": "test_attachments.py",
    "proposals.confirm_removal": "test_attachments.py",
    "api.upload_attachment": "test_attachments.py",
    "api.list_attachments": "test_attachments.py",
    "api.download_attachment": "test_attachments.py",
    "api.remove_attachment": "test_attachments.py",
    "api.get_sso": "test_sso_settings.py",  # single sign-on's settings, page and API together
    "api.put_sso": "test_sso_settings.py",
    "auth.login": "test_web.py",
    "auth.logout": "test_web.py",
    "auth.oidc_": "test_oidc.py",  # single sign-on, against the real provider
    "language.switch": "test_web.py",
    "healthz": "test_web_app.py",
    "tokens.": "test_api_*.py",
    "outbox.": "test_outbox*.py",
    "exchange.": "test_exchange*.py",
    "api.": "test_api_*.py",
    "follow_ups.": "test_web_follow_up.py",
    "comments.": "test_review_comments.py",
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
        counted.append(trail.verify(eva).verified)

    assert visit(app, route.refused, route, route.url(target, False), target, count) == 403
    assert trail.verify(eva).verified == counted[0]  # no event: nothing was changed


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


# Another organisation's records as targets: every route of the administration (users,
# grants, tokens, the outbox) and every other route that changes something, tried by testila's
# people on muualla's records. None succeeds and nothing changes; a record is 404 where the
# route names it (a form that names a user or a proposal in its fields answers with a message).
@dataclass(frozen=True)
class Cross:
    endpoint: str
    method: str
    url: Callable[[Foreign], str]
    user: str
    data: Callable[[Foreign], dict[str, str]] = lambda _f: {}
    status: int = 404


def _on(address: str) -> Callable[[Foreign], str]:
    return lambda f: address.format(**vars(f))


def _text(_f: Foreign) -> dict[str, str]:
    return {"text": "x"}


CROSS = [
    Cross(
        "admin.set_active",
        "POST",
        _on("/admin/users/outsider/active"),
        "admin",
        lambda _f: {"active": "0"},
    ),
    Cross(
        "admin.set_active",
        "POST",
        _on("/admin/users/muu_admin/active"),
        "admin",
        lambda _f: {"active": "1"},
    ),
    Cross(
        "admin.revoke",
        "POST",
        _on("/admin/grants/revoke"),
        "admin",
        lambda _f: {"username": "outsider", "role": "preparer"},
    ),
    Cross(
        "admin.grant",
        "POST",
        _on("/admin/grants"),
        "admin",
        lambda _f: {"username": "outsider", "role": "expert"},
        status=302,  # the form answers "The role was not granted: there is no user ..."
    ),
    Cross(
        "tokens.revoke",
        "POST",
        _on("/account/tokens/revoke"),
        "admin",
        lambda f: {"token_id": str(f.token)},
    ),
    Cross("outbox.retry", "POST", _on("/admin/outbox/{message}/retry"), "admin"),
    Cross("meetings.agenda", "GET", _on("/meetings/{meeting}"), "sec"),
    Cross("meetings.summaries", "GET", _on("/meetings/{meeting}/summaries"), "sec"),
    Cross(
        "meetings.add_item",
        "POST",
        _on("/meetings/{meeting}/items"),
        "sec",
        lambda f: {"proposal_id": str(f.proposal)},
    ),
    Cross(
        "meetings.move_item",
        "POST",
        _on("/meetings/{meeting}/items/{proposal}/move"),
        "sec",
        lambda _f: {"direction": "up"},
    ),
    Cross(
        "proposals.fire",
        "POST",
        _on("/proposals/{proposal}/transitions/start_screening"),
        "prep",
        lambda _f: {"reason": ""},
    ),
    Cross(
        "proposals.fire",
        "POST",
        _on("/proposals/{proposal}/transitions/sign_off"),
        "pres",
        lambda _f: {"reason": "", "password": PASSWORD},
    ),
    Cross(
        "proposals.upload_attachment",
        "POST",
        _on("/proposals/{proposal}/attachments"),
        "prep",
    ),
    Cross(
        "proposals.remove_attachment",
        "POST",
        _on("/proposals/attachments/{attachment}/remove"),
        "prep",
    ),
    Cross(
        "proposals.confirm_removal",
        "GET",
        _on("/proposals/attachments/{attachment}/remove"),
        "prep",
    ),
    Cross(
        "proposals.save_texts",
        "POST",
        _on("/proposals/{proposal}/texts"),
        "prep",
        lambda _f: {"grounds_fi": "Toisen kunnan perustelut."},
    ),
    Cross(
        "editor.record_screening",
        "POST",
        _on("/proposals/{proposal}/screening"),
        "prep",
        lambda _f: {"outcome": "light"},
    ),
    Cross("editor.alternatives", "POST", _on("/proposals/{proposal}/alternatives"), "prep"),
    Cross("editor.area", "POST", _on("/proposals/{proposal}/areas/children"), "prep"),
    Cross(
        "editor.follow_up",
        "POST",
        _on("/proposals/{proposal}/follow-up"),
        "prep",
        lambda _f: {"action": "summary", "summary": "Yhteenveto."},
    ),
    Cross(
        "follow_ups.record",
        "POST",
        _on("/proposals/{proposal}/follow-ups/{follow_up}/result"),
        "admin",
        lambda f: {f"result-{f.follow_up}-value": "1", f"result-{f.follow_up}-outcome": "better"},
    ),
    Cross(
        "follow_ups.waive",
        "POST",
        _on("/proposals/{proposal}/follow-ups/{follow_up}/waive"),
        "prep",
        lambda f: {f"waive-{f.follow_up}-reason": "x"},
    ),
    Cross("comments.add", "POST", _on("/proposals/{proposal}/comments"), "sec", _text),
    Cross(
        "comments.reply",
        "POST",
        _on("/proposals/{proposal}/comments/{comment}/reply"),
        "prep",
        _text,
    ),
    Cross(
        "comments.resolve", "POST", _on("/proposals/{proposal}/comments/{comment}/resolve"), "sec"
    ),
]

# Routes of the administration, or that change something, with no target of another
# organisation: what they act on is the user's own, or the organisation they administer.
CROSS_NO_TARGET = {
    "admin.index": "shows the administered organisation",
    "admin.new_user": "creates a user at home in the administered organisation",
    "admin.new_body": "creates a body of the administered organisation",
    "admin.new_meeting": "offers only the administered organisation's bodies",
    "admin.publish": "definitions are shared by every organisation",
    "admin.single_sign_on": "the administered organisation's own single sign-on",
    "audit.verify": "records the check in the auditor's organisation",
    "auth.login": "the user's own session",
    "auth.logout": "the user's own session",
    "auth.password": "the user's own password",
    "language.switch": "the user's own language",
    "editor.create": "creates a proposal in the user's organisation",
    "outbox.index": "lists the administered organisations' messages",
    "tokens.index": "lists the user's own tokens",
    "tokens.create": "makes a token of the user themself",
}


@pytest.fixture
def foreign(eva: Eva) -> Foreign:
    for username in ("admin", "prep", "sec", "pres"):
        accounts.set_password(eva, OPERATOR, username, PASSWORD)
    found = build_foreign(eva)
    attached = attachment_commands.add_attachment(
        eva,
        OPERATOR,
        attachment_commands.AddAttachment(
            proposal_id=found.proposal, file_name="liite.txt", content=b"muualla\n"
        ),
    )
    found = replace(found, follow_up=foreign_follow_up(eva, found), attachment=attached.id)
    return replace(found, comment=foreign_comment(eva, found))


@pytest.mark.parametrize("case", CROSS, ids=lambda c: f"{c.method} {c.endpoint} as {c.user}")
def test_another_organisations_records_are_never_reached_and_nothing_changes(
    app: Flask, eva: Eva, foreign: Foreign, case: Cross
) -> None:
    client: FlaskClient = app.test_client()
    login(client, case.user)
    token = csrf(client.get("/").get_data(as_text=True))
    before = snapshot(eva)
    if case.method == "GET":
        response = client.get(case.url(foreign))
    else:
        response = client.post(case.url(foreign), data={"csrf_token": token, **case.data(foreign)})
    assert response.status_code == case.status
    assert changed(before, snapshot(eva)) == []
    if case.status == 302:
        page = client.get(response.location).get_data(as_text=True)
        assert "Organisaatiossasi ei ole käyttäjää outsider." in page


def test_every_administration_and_changing_route_has_a_cross_organisation_case(
    app: Flask,
) -> None:
    wanted = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if not rule.endpoint.startswith(("api.", "exchange.", "static"))
        and (
            rule.endpoint.split(".")[0] in ("admin", "tokens", "outbox")
            or "POST" in (rule.methods or ())
        )
    }
    covered = {c.endpoint for c in CROSS} | set(CROSS_NO_TARGET)
    assert sorted(wanted - covered) == []


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
