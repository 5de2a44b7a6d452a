"""The entry point owns the unit of work: every route of the UI and of the API, asked by the
user it is for, opens one transaction per request; a GET or HEAD never a writing one (SQLite:
no ``BEGIN IMMEDIATE``) except the one short write the law makes of some reads (a disclosure
of a non-public proposal, the auditor's read events: only audit events), or a token's
``last_used_at`` noted at most once per ``tokens.TOUCH_INTERVAL``; no request opens more than
one writing transaction. Counted with the engine's own events on a real database (not the
tests' one shared connection). A meta-test fails when a route has no line here."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event

from eva_engine.config import Settings, default_workflows_dir
from eva_engine.db.engine import READ_ONLY, make_engine
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.services.attachments import commands as attachment_commands
from eva_engine.services.people import accounts
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Publicity
from tests import test_web_routes as ui
from tests.api_support import make_token
from tests.builders import OPERATOR, Foreign, build_foreign, build_world, meeting_id, proposal_in
from tests.conftest import FreshDatabase, publish_workflows
from tests.test_web import PASSWORD, csrf, login
from web import create_app
from web.api.framework import ROUTES as API_ROUTES

# PostgreSQL too: what begins, locks and commits differs
# One worker builds the module's site once (pytest-xdist --dist loadgroup).
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("transactions_per_request")]

# Writes a reading request may make in a short transaction of its own (see the module doc).
SHORT_WRITES = re.compile(r"^\s*(INSERT INTO|UPDATE) \"?(audit_events|audit_chain_head|api_tokens)")
THROTTLE = "rate_limit_counters"  # the throttle's storage: its counting has transactions of its own


@dataclass
class Tx:
    writing: bool
    statements: list[str] = field(default_factory=list)

    @property
    def throttle(self) -> bool:
        return bool(self.statements) and all(THROTTLE in s for s in self.statements)

    @property
    def short_write(self) -> bool:
        writes = [s for s in self.statements if s.lstrip().startswith(("INSERT", "UPDATE"))]
        return all(SHORT_WRITES.match(s) for s in writes)


@dataclass
class Counter:
    """Every transaction begun on the engine while counting, with its statements."""

    backend: str = "sqlite"
    on: bool = False
    transactions: list[Tx] = field(default_factory=list)
    immediate: int = 0
    _open: dict[int, Tx] = field(default_factory=dict)

    def install(self, engine: Engine) -> None:
        self.backend = engine.dialect.name
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "before_cursor_execute", self._statement)

    def _begin(self, conn: Any) -> None:
        if self.on:
            tx = Tx(writing=not conn.get_execution_options().get(READ_ONLY))
            self._open[id(conn)] = tx
            self.transactions.append(tx)

    def _statement(self, conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if not self.on:
            return
        if statement.strip().upper() == "BEGIN IMMEDIATE":
            self.immediate += 1
        elif (tx := self._open.get(id(conn))) is not None:
            tx.statements.append(statement)

    def measure(self, request: Callable[[], object]) -> Counter:
        self.transactions, self.immediate, self._open = [], 0, {}
        self.on = True
        try:
            request()
        finally:
            self.on = False
        return self

    @property
    def ours(self) -> list[Tx]:
        return [t for t in self.transactions if not t.throttle]


@dataclass
class Site:
    app: Flask
    eva: Eva
    counter: Counter
    target: ui.Target
    foreign: Foreign
    backend: str


@pytest.fixture(scope="module")
def site(
    fresh_databases: FreshDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    engine = make_engine(fresh_databases.new_url())
    upgrade(engine)
    eva = Eva(Database(engine), default_workflows_dir(), tmp_path_factory.mktemp("attachments"))
    publish_workflows(eva)
    build_world(eva)
    # ``attachment``: one of testila's own (a draft's), which its preparer reads and removes.
    attached = attachment_commands.add_attachment(
        eva,
        OPERATOR,
        attachment_commands.AddAttachment(
            proposal_id=proposal_in(eva, "draft"), file_name="liite.txt", content=b"liite\n"
        ),
    )
    foreign = replace(build_foreign(eva), attachment=attached.id)
    for username in (*ui.USERS, "pres", "muu_admin"):
        accounts.set_password(eva, OPERATOR, username, PASSWORD)
    target = ui.Target(
        public=proposal_in(eva, "review"),
        confidential=proposal_in(
            eva, "review", publicity=Publicity.CONFIDENTIAL, ground="JulkL 24 § 1 mom. 25 k"
        ),
        meeting=meeting_id(eva, "HYVLTK"),
    )
    settings = Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"})
    app = create_app(settings, engine=eva, TESTING=True)
    counter = Counter()
    counter.install(engine)
    yield Site(app, eva, counter, target, foreign, engine.dialect.name)
    engine.dispose()


# The UI: test_web_routes' table (every route for the user it is for), and the routes it leaves
# to other modules, with a user and realistic records each.
@dataclass(frozen=True)
class Page:
    endpoint: str
    method: str
    url: Callable[[Site], str]
    user: str | None  # None: not logged in
    data: Callable[[Site], dict[str, str]] = lambda _s: {}


def _ui(route: ui.Route, secret: bool = False) -> Page:
    return Page(
        route.endpoint,
        route.method,
        lambda s: route.url(s.target, secret),
        route.allowed,
        lambda s: {k: v.format(public=s.target.public) for k, v in route.data.items()},
    )


def _on_public(suffix: str) -> Callable[[Site], str]:
    return lambda s: f"/proposals/{s.target.public}{suffix}"


PAGES = [
    *(_ui(r) for r in ui.ROUTES),
    # a confidential proposal: its reads are disclosures (TiHL 17 §), logged
    _ui(next(r for r in ui.ROUTES if r.endpoint == "proposals.show"), secret=True),
    _ui(next(r for r in ui.ROUTES if r.endpoint == "proposals.timeline"), secret=True),
    # the forms' POSTs (the same addresses as the pages above)
    Page(
        "auth.password",
        "POST",
        lambda _s: "/password",
        "prep",
        lambda _s: {"current_password": "not-it", "new_password": "a-new-password-123"},
    ),
    Page(
        "editor.create",
        "POST",
        lambda _s: "/proposals/new",
        "prep",
        lambda _s: {"case_number": "77/00.00.00/2026", "title_fi": "Laskettu", "body": "HYVLTK"},
    ),
    *(
        Page(endpoint, "POST", _on_public(suffix), "prep", d)
        for endpoint, suffix, d in (
            ("editor.record_screening", "/screening", lambda _s: {"outcome": "light"}),
            ("editor.alternatives", "/alternatives", lambda _s: {}),
            ("editor.area", "/areas/children", lambda _s: {}),
            ("editor.follow_up", "/follow-up", lambda _s: {"action": "summary", "summary": "Y."}),
            ("proposals.save_texts", "/texts", lambda _s: {"grounds_fi": "Laskettu."}),
        )
    ),
    Page("proposals.upload_attachment", "POST", _on_public("/attachments"), "prep"),
    Page(
        "proposals.download_attachment",
        "GET",
        lambda s: f"/proposals/attachments/{s.foreign.attachment or 1}",
        "prep",
    ),
    Page(
        "proposals.confirm_removal",
        "GET",
        lambda s: f"/proposals/attachments/{s.foreign.attachment or 1}/remove",
        "prep",
    ),
    Page(
        "proposals.remove_attachment",
        "POST",
        lambda s: f"/proposals/attachments/{s.foreign.attachment or 1}/remove",
        "prep",
    ),
    Page(
        "admin.new_user",
        "POST",
        lambda _s: "/admin/users/new",
        "admin",
        lambda _s: {"username": "laskettu", "full_name": "Laskettu Käyttäjä"},
    ),
    Page(
        "admin.new_body",
        "POST",
        lambda _s: "/admin/bodies/new",
        "admin",
        lambda _s: {"code": "LASK", "name_fi": "Laskentajaosto", "kind": "subcommittee"},
    ),
    Page("admin.new_meeting", "POST", lambda _s: "/admin/meetings/new", "admin"),
    Page("auth.login", "GET", lambda _s: "/login", None),
    Page(
        "auth.login",
        "POST",
        lambda _s: "/login",
        None,
        lambda _s: {"username": "prep", "password": PASSWORD, "next": ""},
    ),
    Page("auth.logout", "POST", lambda _s: "/logout", "prep2"),
    # single sign-on: to the provider (none configured here: back to the login) and its answer
    Page("auth.oidc_login", "GET", lambda _s: "/login/oidc/testila", None),
    Page("auth.oidc_callback", "GET", lambda _s: "/login/oidc/testila/callback?state=x", None),
    # a follow-up's forms (the public proposal has none: refused, still in one transaction)
    Page("follow_ups.record", "POST", _on_public("/follow-ups/1/result"), "prep"),
    Page(
        "follow_ups.waive",
        "POST",
        _on_public("/follow-ups/1/waive"),
        "prep",
        lambda _s: {"waive-1-reason": "Ei mitattavissa."},
    ),
    # review comments: a reviewer comments, the preparer replies and resolves (comment 1 is
    # the public proposal's where the comment was made first; else refused, still one unit)
    Page("comments.add", "POST", _on_public("/comments"), "sec", lambda _s: {"text": "Tarkenna."}),
    Page(
        "comments.reply",
        "POST",
        _on_public("/comments/1/reply"),
        "prep",
        lambda _s: {"text": "Tarkennettu."},
    ),
    Page("comments.resolve", "POST", _on_public("/comments/1/resolve"), "prep"),
    Page("language.switch", "POST", lambda _s: "/language", "prep", lambda _s: {"language": "sv"}),
    Page("healthz", "GET", lambda _s: "/healthz", None),
    Page("tokens.index", "GET", lambda _s: "/account/tokens/", "prep"),
    Page(
        "tokens.create",
        "POST",
        lambda _s: "/account/tokens/",
        "prep",
        lambda _s: {"name": "laskuri", "scopes": "read", "expires_days": "30"},
    ),
    Page(
        "tokens.revoke",
        "POST",
        lambda _s: "/account/tokens/revoke",
        "outsider",
        lambda s: {"token_id": str(s.foreign.token)},
    ),
    Page("outbox.index", "GET", lambda _s: "/admin/outbox/", "admin"),
    Page(
        "outbox.retry",
        "POST",
        lambda s: f"/admin/outbox/{s.foreign.message}/retry",
        "muu_admin",
    ),
    *(
        Page(f"exchange.{name}", "GET", _on_public(f"/{file}"), "prep")
        for name, file in (
            ("summary_page", "summary"),
            ("summary_html", "summary.html"),
            ("summary_text", "summary.txt"),
            ("assessment_json", "assessment.json"),
        )
    ),
]


def _ui_request(site: Site, page: Page) -> Counter:
    client: FlaskClient = site.app.test_client()
    token = csrf(client.get("/login").get_data(as_text=True))
    if page.user is not None:
        login(client, page.user)
        token = csrf(client.get("/").get_data(as_text=True))
    address, data = page.url(site), {"csrf_token": token, **page.data(site)}

    def request() -> None:
        response = client.open(address, method=page.method, data=data)
        response.close()
        assert response.status_code < 500, (page.endpoint, response.status_code)

    return site.counter.measure(request)


def _check(method: str, counted: Counter, law_writes: bool, *, unit: bool = True) -> None:
    ours = counted.ours
    writing = [t for t in ours if t.writing]
    assert len(writing) <= 1, "more than one writing transaction in one request"
    if method in ("GET", "HEAD"):
        reads = [t for t in ours if not t.writing]
        assert len(reads) <= 1, "a reading request read more than one snapshot"
        if writing:
            assert law_writes, "a reading request wrote"
            assert writing[0].short_write, writing[0].statements
    # The throttle reads its windows in the request's own transaction and counts (writes) only
    # failures, in transactions of their own: a proper request opens none for it. The login
    # has no request unit (see NO_UNIT): it reads its two windows (account, address) alone.
    throttle = [t for t in counted.transactions if t.throttle]
    assert all(not t.writing for t in throttle), "the throttle counted a proper request"
    if unit:
        assert not throttle, "the throttle opened a transaction of its own inside a request"
    else:
        assert len(throttle) <= 2
    if counted.backend == "sqlite":  # every writing transaction, and only those, locks
        assert counted.immediate == len([t for t in counted.transactions if t.writing])


# The law makes these reads into writes: a confidential proposal's disclosure, the auditor's
# reading of the whole history; an export of a non-public proposal.
# The internal report is a disclosure (its opening and its export are recorded).
LAW_READS = {
    "proposals.show",
    "proposals.timeline",
    "audit.events",
    "reports.index",
    "reports.download",
}
# Routes that open no request unit of work (web.errors): the login, whose throttle counts in
# transactions of its own.
NO_UNIT = {"auth.login"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: f"{p.method} {p.endpoint} {p.user}")
def test_a_ui_request_opens_one_transaction_and_a_read_never_writes(site: Site, page: Page) -> None:
    counted = _ui_request(site, page)
    _check(page.method, counted, page.endpoint in LAW_READS, unit=page.endpoint not in NO_UNIT)
    if page.endpoint in ("static", "healthz"):
        assert counted.transactions == []


def test_a_static_file_opens_no_transaction(site: Site) -> None:
    page = next(p for p in PAGES if p.endpoint == "static")
    assert _ui_request(site, page).transactions == []


def test_every_ui_route_has_a_line_here(site: Site) -> None:
    covered = {(p.endpoint, p.method) for p in PAGES}
    wanted = {
        (rule.endpoint, method)
        for rule in site.app.url_map.iter_rules()
        if not rule.endpoint.startswith("api.")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert sorted(wanted - covered) == []


# The API: every route of the route table (and the public document), with a token of a user
# who may use it, realistic records and, for a POST, If-Match and Idempotency-Key.
API_USERS = {
    "meeting_agenda": "sec",
    "get_meeting": "sec",
    "list_candidates": "sec",
    "move_agenda_item": "sec",
    "schedule": "sec",
    "reassign": "outsider",
    "list_users": "admin",
    "list_workflows": "admin",
    "get_sso": "admin",
    "put_sso": "admin",
    "last_audit_check": "aud",
}


def _api_path(site: Site, rule: str) -> str:
    values = {
        "organisation": "testila",
        "meeting_id": str(site.target.meeting),
        "proposal_id": str(site.target.public),
        "trigger": "pass_review",
        "assignment_id": str(site.foreign.assignment),
        "follow_up_id": str(site.foreign.follow_up or 1),
        "attachment_id": str(site.foreign.attachment or 1),
        "comment_id": str(site.foreign.comment or 1),
        "token_id": str(site.foreign.token),
        "username": "prep",
    }
    return "/api/v1" + re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], rule)


@pytest.mark.parametrize("route", API_ROUTES, ids=lambda r: f"{r.method} {r.endpoint}")
def test_an_api_request_opens_one_transaction_and_a_read_never_writes(
    site: Site, route: Any
) -> None:
    user = API_USERS.get(route.endpoint, "prep")
    token = make_token(site.eva, user)
    client = site.app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    path = _api_path(site, route.rule)
    client.get("/api/v1/organisations", headers=headers)  # the token's first use is noted
    if route.method != "GET":
        shown = client.get(f"/api/v1/proposals/{site.target.public}", headers=headers)
        headers |= {"Idempotency-Key": uuid.uuid4().hex}
        if "ETag" in shown.headers:
            headers["If-Match"] = shown.headers["ETag"]

    def request() -> None:
        response = client.open(path, method=route.method, json={}, headers=headers)
        assert response.status_code < 500, (route.endpoint, response.get_data(as_text=True))

    counted = site.counter.measure(request)
    _check(route.method, counted, route.endpoint in ("get_proposal", "proposal_history"))


def test_every_api_route_has_a_line_here(site: Site) -> None:
    table = {f"api.{r.endpoint}" for r in API_ROUTES}
    addresses = {*PUBLIC_API, "/api/v1/<path:rest>"}
    public = {r.endpoint for r in site.app.url_map.iter_rules() if r.rule in addresses}
    registered = {
        r.endpoint for r in site.app.url_map.iter_rules() if r.endpoint.startswith("api.")
    }
    assert len(public) == len(addresses)
    assert sorted(registered - table - public) == []


PUBLIC_API = ("/api/v1/openapi.json", "/api/v1/docs")


@pytest.mark.parametrize("address", [*PUBLIC_API, "/api/v1/no-such-thing"])
def test_the_public_api_documents_open_at_most_one_read(site: Site, address: str) -> None:
    client = site.app.test_client()
    counted = site.counter.measure(lambda: client.get(address).close())
    _check("GET", counted, law_writes=False)
