"""Role-aware pages: the menu offers only what the user can do, by the rules the services
check; a proposal the user cannot edit (their role, or its state) shows its assessment as
read-only summary lists; the proposal page offers only the steps the user's roles allow and
shows where it stands in its workflow, by the definition's own states."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from eva_engine.services.assessment import documents
from eva_engine.services.people import accounts
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import ScreeningOutcome
from tests.builders import OPERATOR, as_, document, proposal_in
from tests.test_web import PASSWORD, app, login

__all__ = ["app"]

MENU = {
    "New proposal": "/proposals/new",
    "Audit history": "/audit/",
    "Administration": "/admin/",
    "Meetings": "/meetings/",
}
# Controls that take input, outside the header (the language choice is everyone's).
CONTROL = re.compile(r"<(?:select|textarea)\b|<input\b(?![^>]*type=\"hidden\")")
ASSESSMENT_PAGES = ("screening", "alternatives", "areas/", "follow-up")


def assessed(eva: Eva) -> int:
    """A proposal in assessment with its alternatives and answers (an editable state)."""
    pid = proposal_in(eva, "assessment")
    documents.import_assessment(eva, as_("prep"), pid, document(eva, ScreeningOutcome.LIGHT))
    return pid


def client_for(app: Flask, username: str) -> FlaskClient:
    if username in ("admin", "expert", "tek"):  # the app fixture sets the others' passwords
        accounts.set_password(app.extensions["eva"], OPERATOR, username, PASSWORD)
    client = app.test_client()
    login(client, username)
    return client


def menu_of(html: str) -> set[str]:
    nav = html.split('<nav aria-label="Päävalikko"', 1)[-1].split("</nav>", 1)[0]
    return {path for path in MENU.values() if f'href="{path}"' in nav}


def main_of(html: str) -> str:
    return html.split('<main id="main"', 1)[1]


def test_the_menu_offers_each_role_only_the_pages_its_rules_allow(app: Flask) -> None:
    offered = {
        user: menu_of(client_for(app, user).get("/").get_data(as_text=True))
        for user in ("prep", "sec", "aud", "admin", "pres", "tek", "expert")
    }
    assert offered["prep"] == {"/proposals/new"}
    assert offered["sec"] == {"/meetings/"}
    assert offered["aud"] == {"/audit/"}
    assert offered["admin"] == {"/audit/", "/admin/"}
    assert offered["pres"] == set()
    assert offered["tek"] == {"/proposals/new"}  # a preparer of one body
    assert offered["expert"] == set()  # edits assessments, creates none


def test_every_menu_item_of_every_role_opens_its_page(app: Flask) -> None:
    for user in ("prep", "sec", "aud", "admin", "pres", "sec_tek", "director", "tek", "expert"):
        client = client_for(app, user)
        html = client.get("/").get_data(as_text=True)
        nav = html.split("<nav", 1)[1].split("</nav>", 1)[0]
        for path in re.findall(r'href="(/[^"]*)"', nav):
            assert client.get(path).status_code == 200, (user, path)


def test_an_auditor_reads_the_assessment_as_summary_lists_without_a_control(
    eva: Eva, app: Flask
) -> None:
    pid = assessed(eva)
    assert proposal_queries.show(eva, OPERATOR, pid).can.edit_assessment  # editable state
    auditor = client_for(app, "aud")
    for page in ASSESSMENT_PAGES:
        response = auditor.get(f"/proposals/{pid}/{page}")
        assert response.status_code == 200, page
        main = main_of(response.get_data(as_text=True))
        assert CONTROL.findall(main) == [], page
        assert 'class="read-only"' in main, page
    area = main_of(auditor.get(f"/proposals/{pid}/areas/").get_data(as_text=True))
    assert 'class="summary-list"' in area


def test_the_preparer_edits_in_an_editable_state_and_reads_once_it_is_decided(
    eva: Eva, app: Flask
) -> None:
    preparer = client_for(app, "prep")
    editable = assessed(eva)
    for page in ASSESSMENT_PAGES:
        main = main_of(preparer.get(f"/proposals/{editable}/{page}").get_data(as_text=True))
        assert CONTROL.findall(main), page
    closed = proposal_in(eva, "closed")
    assert proposal_queries.show(eva, OPERATOR, closed).final
    for page in ASSESSMENT_PAGES:
        main = main_of(preparer.get(f"/proposals/{closed}/{page}").get_data(as_text=True))
        assert CONTROL.findall(main) == [], page


def test_the_proposal_page_offers_only_the_steps_the_roles_allow(eva: Eva, app: Flask) -> None:
    pid = proposal_in(eva, "review")
    titles = {a.trigger: a.title_fi for a in proposal_queries.show(eva, OPERATOR, pid).actions}
    auditor = main_of(client_for(app, "aud").get(f"/proposals/{pid}").get_data(as_text=True))
    assert not [title for title in titles.values() if title in auditor]
    assert "Rooleillasi ei ole tässä tilassa tehtävää vaihetta" in auditor
    secretary = main_of(client_for(app, "sec").get(f"/proposals/{pid}").get_data(as_text=True))
    assert "<form" in secretary
    assert "ei mahdollinen roolissasi" not in secretary


def test_the_proposal_page_shows_the_workflow_steps_with_the_current_one_marked(
    eva: Eva, app: Flask
) -> None:
    pid = proposal_in(eva, "review")
    view = proposal_queries.show(eva, OPERATOR, pid)
    html = client_for(app, "prep").get(f"/proposals/{pid}").get_data(as_text=True)
    steps = html.split('<ol class="steps"', 1)[1].split("</ol>", 1)[0]
    for step in view.steps:
        assert step.title_fi in steps
    current = re.search(r'<li class="current" aria-current="step">\s*([^<]+)<', steps)
    assert current is not None
    assert current.group(1).strip() == view.state_title_fi
    assert [s.status for s in view.steps].count("current") == 1
