"""Pages that do not grow: every UI page and every API GET route runs as many SQL statements on
a small municipality as on the same municipality grown (more proposals in several states, more
tasks for the same users, more agenda items, more history events, more users and grants, more
tokens and outbox messages). Counted with the engine's ``before_cursor_execute`` event, the
routes asked as the users they are for (the tables of test_transactions_per_request). A
meta-test fails when a GET route has no case here."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from html import unescape

import pytest
from flask import Flask
from sqlalchemy import insert, select

from eva_engine.config import Settings, default_workflows_dir
from eva_engine.db.engine import make_engine
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.models import Assignment, Proposal, User
from eva_engine.services import paging
from eva_engine.services.attachments import commands as attachment_commands
from eva_engine.services.comments import commands as comment_commands
from eva_engine.services.people import accounts, sso, tokens, users
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import assignments, transitions
from eva_engine.vocabulary import (
    AssignmentState,
    CommentTarget,
    Publicity,
    Role,
    ScreeningOutcome,
    TokenScope,
)
from tests import test_transactions_per_request as tx
from tests import test_web_routes as ui
from tests.api_support import make_token
from tests.builders import (
    OPERATOR,
    ORG,
    as_,
    build_foreign,
    build_world,
    meeting_id,
    proposal_in,
    required_questions,
)
from tests.conftest import FreshDatabase, publish_workflows
from tests.test_follow_up import decided
from tests.test_web import PASSWORD, login
from web import create_app
from web.api.framework import ROUTES as API_ROUTES

# One worker builds the small and the grown site once (pytest-xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("page_statements")

SMALL, GROWN = 2, 10
# The states the grown proposals are walked to: each opens tasks of its own (the preparer's,
# the review and agenda queues, the outcome to record) and the scheduled ones are agenda items.
STATES = ("draft", "screening", "assessment", "review", "signed_off", "on_agenda", "decided")


def grow(eva: Eva, size: int) -> None:
    """``size`` of everything that may make a page grow, on top of the small municipality."""
    for i in range(size):
        username = f"kasvu{i}"
        for name, roles in (
            (username, ((Role.PREPARER, None), (Role.EXPERT, "HYVLTK"))),
            (f"lisa{i}", ((Role.PRESENTER, "HYVLTK"),)),
        ):
            users.create_user(
                eva, OPERATOR, users.CreateUser(username=name, full_name=name.title()), ORG
            )
            for role, body in roles:
                users.grant_role(
                    eva,
                    OPERATOR,
                    users.GrantRole(username=name, organisation=ORG, role=role, body=body),
                )
        for state in STATES:
            proposal_in(eva, state, preparer="prep")
        proposal_in(eva, "review", preparer=username)
        tokens.create_token(
            eva, as_("prep"), tokens.CreateToken(name=f"kasvu-{i}", scopes=[TokenScope.READ])
        )


def lengthen_history(eva: Eva, proposal_id: int, size: int) -> None:
    """``size`` rounds of returning the proposal for revision, submitting it again and handing
    its review to another expert (so that its history names more people too)."""
    for i in range(size):
        transitions.fire(eva, as_("sec"), proposal_id, "return_for_revision", reason="Tarkenna.")
        transitions.fire(eva, as_("prep"), proposal_id, "submit_for_review")
        review = next(
            a
            for a in assignments.proposal_assignments(eva, OPERATOR, proposal_id)
            if a.state == AssignmentState.OPEN and a.kind == "review"
        )
        assignments.reassign(
            eva,
            as_("sec"),
            assignments.Reassign(assignment_id=review.id, assignee=f"kasvu{i}", reason="Vaihto."),
        )


def grow_comments(eva: Eva, proposal_id: int, size: int) -> None:
    """``size`` review comments on the proposal (its page and its preparer's My work), each
    answered, about the whole assessment, an area and a question in turn, and some resolved."""
    area, question = required_questions(eva, ScreeningOutcome.LIGHT)[0]
    targets = [
        (CommentTarget.ASSESSMENT, None),
        (CommentTarget.AREA, area),
        (CommentTarget.QUESTION, question),
    ]
    for i in range(size):
        kind, key = targets[i % 3]
        made = comment_commands.add_comment(
            eva,
            as_("sec" if i % 2 else f"kasvu{i}"),
            comment_commands.AddComment(
                proposal_id=proposal_id, target_kind=kind, target_key=key, text=f"Kommentti {i}"
            ),
        )
        comment_commands.reply(
            eva, as_("prep"), comment_commands.ReplyToComment(comment_id=made.id, text="Vastaus")
        )
        if i % 4 == 0:
            comment_commands.resolve(
                eva, as_("prep"), comment_commands.ResolveComment(comment_id=made.id)
            )


@dataclass
class Counted:
    site: tx.Site

    def statements(self, request: Callable[[], object]) -> int:
        measured = self.site.counter.measure(request)
        return sum(len(t.statements) for t in measured.transactions)


def _site(fresh_databases: FreshDatabase, size: int) -> Iterator[tx.Site]:
    engine = make_engine(fresh_databases.new_url())
    upgrade(engine)
    store = fresh_databases.tmp / f"attachments-{size}"
    eva = Eva(Database(engine), default_workflows_dir(), store)
    publish_workflows(eva)
    build_world(eva)
    draft = proposal_in(eva, "draft")
    foreign = build_foreign(eva)
    # testila signs on with its provider: the API's and the page's settings read it
    sso.set_provider(
        eva,
        OPERATOR,
        sso.SetProvider(issuer="https://tunnistus.testila.example", client_id="eva"),
        ORG,
    )
    for username in (*ui.USERS, "pres", "muu_admin", "expert"):
        accounts.set_password(eva, OPERATOR, username, PASSWORD)
    target = ui.Target(
        public=proposal_in(eva, "review"),
        confidential=proposal_in(
            eva, "review", publicity=Publicity.CONFIDENTIAL, ground="JulkL 24 § 1 mom. 25 k"
        ),
        meeting=meeting_id(eva, "HYVLTK"),
    )
    for i in range(size):  # a proposal's attachments grow (after the targets: the
        # audit page's first events stay the same); the last one is downloaded
        attached = attachment_commands.add_attachment(
            eva,
            OPERATOR,
            attachment_commands.AddAttachment(
                proposal_id=draft, file_name=f"liite{i}.txt", content=f"liite {i}\n".encode()
            ),
        )
    foreign = replace(foreign, attachment=attached.id)
    grow(eva, size)
    lengthen_history(eva, target.public, size)
    grow_comments(eva, target.public, size)
    for _ in range(size):  # decided proposals whose follow-ups wait for the preparer
        decided(eva)
    settings = Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"})
    app: Flask = create_app(settings, engine=eva, TESTING=True)
    counter = tx.Counter()
    counter.install(engine)
    yield tx.Site(app, eva, counter, target, foreign, engine.dialect.name)
    engine.dispose()


@pytest.fixture(scope="module")
def small(fresh_databases: FreshDatabase) -> Iterator[Counted]:
    for site in _site(fresh_databases, SMALL):
        yield Counted(site)


@pytest.fixture(scope="module")
def grown(fresh_databases: FreshDatabase) -> Iterator[Counted]:
    for site in _site(fresh_databases, GROWN):
        yield Counted(site)


def _fixed(address: str) -> Callable[[tx.Site], str]:
    return lambda _s: address


# The UI's GET pages, each for the user it is for; My work also for the users whose tasks wait
# in role queues (a secretary, an expert) and the proposal list for a secretary.
UI_PAGES = [
    *(p for p in tx.PAGES if p.method == "GET"),
    *(
        tx.Page(endpoint, "GET", _fixed(address), user)
        for endpoint, address, user in (
            ("work.index", "/", "sec"),
            ("work.index", "/", "expert"),
            ("work.index", "/?state=review&kind=review", "sec"),
            ("work.index", "/?overdue=yes", "prep"),
            ("proposals.index", "/proposals/", "sec"),
            ("proposals.index", "/proposals/?state=review", "prep"),
            ("proposals.index", "/proposals/?q=2026", "sec"),  # a search: hits grow too
            ("proposals.index", "/proposals/?q=2026+HYVLTK&state=review", "prep"),
        )
    ),
    # single sign-on's two addresses, for an organisation without a provider (refused at once)
    tx.Page("auth.oidc_login", "GET", _fixed(f"/login/oidc/{ORG}"), None),
    tx.Page("auth.oidc_callback", "GET", _fixed(f"/login/oidc/{ORG}/callback?state=x"), None),
    # the agenda with its picker searched and on its next page (the candidates of the body)
    tx.Page("meetings.agenda", "GET", lambda s: f"/meetings/{s.target.meeting}?q=testi", "sec"),
    tx.Page(
        "meetings.agenda",
        "GET",
        lambda s: f"/meetings/{s.target.meeting}?after={paging.cursor('agenda-candidates', 1, '')}",
        "sec",
    ),
]


def _page_id(page: tx.Page) -> str:
    return f"{page.endpoint} {page.user}"


@pytest.mark.parametrize("page", UI_PAGES, ids=_page_id)
def test_a_ui_page_runs_as_many_statements_on_grown_data(
    small: Counted, grown: Counted, page: tx.Page
) -> None:
    counts = [tx_count(world, page) for world in (small, grown)]
    assert counts[0] == counts[1], f"{page.endpoint} ({page.user}): {counts[0]} -> {counts[1]}"


def tx_count(world: Counted, page: tx.Page) -> int:
    return sum(len(t.statements) for t in tx._ui_request(world.site, page).transactions)


API_GETS = [r for r in API_ROUTES if r.method == "GET"]
QUERIES = {
    "list_proposals": f"?organisation={ORG}",
    "organisation_report": "?period=2026&format=csv&public=true",
}


def api_count(world: Counted, route: object, path: str) -> int:
    site = world.site
    user = tx.API_USERS.get(getattr(route, "endpoint", ""), "prep")
    headers = {"Authorization": f"Bearer {make_token(site.eva, user)}"}
    client = site.app.test_client()
    client.get("/api/v1/organisations", headers=headers)  # the token's first use is noted

    def request() -> None:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.get_data(as_text=True))

    return world.statements(request)


@pytest.mark.parametrize("route", API_GETS, ids=lambda r: r.endpoint)
def test_an_api_route_runs_as_many_statements_on_grown_data(
    small: Counted, grown: Counted, route: object
) -> None:
    rule = getattr(route, "rule", "")
    query = QUERIES.get(getattr(route, "endpoint", ""), "")
    counts = [api_count(w, route, tx._api_path(w.site, rule) + query) for w in (small, grown)]
    assert counts[0] == counts[1], f"{rule}: {counts[0]} -> {counts[1]}"


def test_every_get_route_has_a_case_here(small: Counted) -> None:
    pages = {p.endpoint for p in UI_PAGES}
    api = {f"api.{r.endpoint}" for r in API_GETS}
    public = {*tx.PUBLIC_API, "/api/v1/<path:rest>"}
    wanted = {
        rule.endpoint
        for rule in small.site.app.url_map.iter_rules()
        if "GET" in (rule.methods or set()) and rule.rule not in public
    }
    assert sorted(wanted - pages - api) == []
    assert all(re.match(r"^[a-z_]+$", r.endpoint) for r in API_GETS)


# The long lists come a page at a time, and their next page links reach every row once.
def _links(html: str) -> list[str]:
    """The addresses of the next page links in the page's navigation landmark of pages."""
    navs = re.findall(r'<nav aria-label="([^"]+)">(.*?)</nav>', html, re.S)
    assert all(label.strip() for label, _ in navs)  # every landmark is named
    found = [re.findall(r'<a href="([^"]+)" rel="next">', body) for _, body in navs]
    return [unescape(a) for links in found for a in links]


def _walk(site: tx.Site, user: str, address: str, row: str) -> list[list[str]]:
    """The rows (matches of ``row``) of every page, from ``address`` along its next links."""
    client = site.app.test_client()
    login(client, user)
    pages = []
    while address:
        response = client.get(address)
        assert response.status_code == 200, address
        html = response.get_data(as_text=True)
        pages.append(re.findall(row, html))
        following = _links(html)
        assert len(following) <= 1
        address = following[0] if following else ""
    return pages


@pytest.mark.parametrize(
    ("user", "address", "row"),
    [
        ("prep", "/", r'<td><a href="/proposals/(\d+)">'),
        ("prep", "/proposals/", r'<td><a href="/proposals/(\d+)">'),
        ("admin", "/admin/outbox/", r"<td>#(\d+)<br>"),
        ("admin", "/admin/", r"<tr><td>([^<]+)</td><td>[^<]*</td>\n\s*<td>"),
    ],
    ids=["my work", "proposals", "outbox", "users"],
)
def test_a_long_list_comes_a_page_at_a_time_and_its_next_links_reach_every_row_once(
    grown: Counted, user: str, address: str, row: str
) -> None:
    pages = _walk(grown.site, user, address, row)
    rows = [r for page in pages for r in page]
    assert len(pages) > 1
    assert all(0 < len(page) <= paging.PAGE_SIZE for page in pages)
    if address != "/":  # a proposal may have several tasks waiting (a queue and a named one)
        assert len(rows) == len(set(rows))


def test_my_work_in_the_api_pages_through_every_task_overdue_first(grown: Counted) -> None:
    site = grown.site
    client = site.app.test_client()
    headers = {"Authorization": f"Bearer {make_token(site.eva, 'sec')}"}
    first = client.get("/api/v1/assignments/mine", headers=headers).get_json()
    seen, page = [], first
    while True:
        seen += page["items"]
        if page["next_cursor"] is None:
            break
        address = f"/api/v1/assignments/mine?after={page['next_cursor']}"
        page = client.get(address, headers=headers).get_json()
    ids = [item["assignment_id"] for item in seen]
    assert len(ids) == len(set(ids)) == first["total"] > paging.PAGE_SIZE
    dues = [item["due"] or "9999-12-31" for item in seen]
    assert dues == sorted(dues)
    assert sum(item["overdue"] for item in seen) == first["overdue"]


def test_a_cursor_this_list_did_not_give_is_refused_with_what_to_do(grown: Counted) -> None:
    site = grown.site
    client = site.app.test_client()
    headers = {"Authorization": f"Bearer {make_token(site.eva, 'prep')}", "Accept-Language": "en"}
    forged = paging.cursor("proposals-after", 1)
    response = client.get(f"/api/v1/assignments/mine?after={forged}", headers=headers)
    assert response.status_code == 422
    assert "next page link" in response.get_data(as_text=True)
    login(client, "prep")
    page = client.get(f"/?after={forged}").get_data(as_text=True)
    assert "avaa luettelo sen ensimmäiseltä sivulta" in page


# A preparer holding many tasks, and a history of many events: still a page, in as many
# statements as a few.
FEW_TASKS, MANY_TASKS = 20, 400


def _give_tasks(site: tx.Site, username: str, proposal_id: int, count: int) -> None:
    """``count`` more open tasks for the user on the proposal, written straight to the table
    (a walk per task would take minutes; the page only reads them)."""
    with site.eva.database.engine.begin() as connection:
        user_id = connection.execute(select(User.id).where(User.username == username)).scalar_one()
        org_id = connection.execute(
            select(Proposal.organisation_id).where(Proposal.id == proposal_id)
        ).scalar_one()
        connection.execute(
            insert(Assignment),
            [
                {
                    "organisation_id": org_id,
                    "proposal_id": proposal_id,
                    "kind": "prepare",
                    "assignee_id": user_id,
                    "roles": [],
                    "due": date(2026, 1, 1) + timedelta(days=i % 90),
                    "state": AssignmentState.OPEN,
                }
                for i in range(count)
            ],
        )


def test_my_work_of_a_preparer_with_many_tasks_runs_as_many_statements_as_with_few(
    small: Counted,
) -> None:
    site = small.site
    users.create_user(
        site.eva, OPERATOR, users.CreateUser(username="monta", full_name="Monta Tehtävää"), ORG
    )
    users.grant_role(
        site.eva,
        OPERATOR,
        users.GrantRole(username="monta", organisation=ORG, role=Role.PREPARER, body=None),
    )
    accounts.set_password(site.eva, OPERATOR, "monta", PASSWORD)
    pid = proposal_in(site.eva, "draft", preparer="monta")
    pages = [
        tx.Page("work.index", "GET", _fixed(address), "monta")
        for address in ("/", "/?overdue=yes", "/?state=draft&kind=prepare")
    ]
    _give_tasks(site, "monta", pid, FEW_TASKS)
    few = [tx_count(small, page) for page in pages]
    _give_tasks(site, "monta", pid, MANY_TASKS - FEW_TASKS)
    many = [tx_count(small, page) for page in pages]
    assert few == many, f"My work at {FEW_TASKS} and {MANY_TASKS} tasks: {few} -> {many}"
    pages_of_work = _walk(site, "monta", "/", r'<td><a href="/proposals/(\d+)">')
    assert sum(len(page) for page in pages_of_work) == MANY_TASKS + 1  # and its own draft
    assert all(len(page) <= paging.PAGE_SIZE for page in pages_of_work)


def test_a_long_history_comes_a_page_at_a_time_in_as_many_statements(
    small: Counted, grown: Counted
) -> None:
    pid = grown.site.target.public
    address = f"/proposals/{pid}/history"
    pages = _walk(grown.site, "aud", address, r"· #(\d+)</p>")
    seqs = [int(s) for page in pages for s in page]
    assert len(pages) > 1
    assert all(0 < len(page) <= paging.PAGE_SIZE for page in pages)
    assert seqs == sorted(set(seqs))
    with grown.site.eva.reading() as uow:
        assert seqs == [e.seq for e in uow.repos.history(pid)]
    # the first page costs the same on few events and on many, a later one no more
    second = _links(_page_html(grown.site, "aud", address))[0]
    few = f"/proposals/{small.site.target.public}/history"
    counts = [
        tx_count(world, tx.Page("proposals.timeline", "GET", _fixed(at), "aud"))
        for world, at in ((small, few), (grown, address), (grown, second))
    ]
    # a later page names fewer kinds of record perhaps (one query each), never more statements
    assert counts[0] == counts[1] >= counts[2], counts


def test_the_api_history_pages_through_every_event(grown: Counted) -> None:
    site = grown.site
    pid = site.target.public
    client = site.app.test_client()
    headers = {"Authorization": f"Bearer {make_token(site.eva, 'aud')}"}
    page = client.get(f"/api/v1/proposals/{pid}/history", headers=headers).get_json()
    seen, pages = [], 0
    while True:
        pages += 1
        assert len(page["items"]) <= paging.PAGE_SIZE
        seen += [e["seq"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
        address = f"/api/v1/proposals/{pid}/history?after={page['next_cursor']}"
        page = client.get(address, headers=headers).get_json()
    assert pages > 1
    with site.eva.reading() as uow:
        assert seen == [e.seq for e in uow.repos.history(pid)]


def _page_html(site: tx.Site, user: str, address: str) -> str:
    client = site.app.test_client()
    login(client, user)
    return client.get(address).get_data(as_text=True)
