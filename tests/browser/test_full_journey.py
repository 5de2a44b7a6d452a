"""A proposal's whole life through the UI in a real browser, as the demo users: the preparer
creates it, screens it (light), adds the alternatives, fills every required question of the
impact matrix and submits it; the secretary schedules it and passes the review; the presenter
signs it off; the secretary places it on the agenda and records the decision; the auditor reads
its history. The journey is made in Finnish, then Swedish, then English: every text it looks
for is the translation the user reads. axe-core checks every page the journey visits."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.browser.conftest import require_browser

require_browser()  # before Playwright is imported: skips (or fails) without a browser

from playwright.sync_api import Locator, Page, expect  # noqa: E402

from eva_engine.config import default_workflows_dir  # noqa: E402
from eva_engine.services.people import accounts, users  # noqa: E402
from eva_engine.vocabulary import Language, ScreeningOutcome  # noqa: E402
from eva_engine.workflow.loader import load_catalogue  # noqa: E402
from tests.browser.conftest import (  # noqa: E402
    OPERATOR,
    PASSWORD,
    WALK_LANGUAGES,
    LiveServer,
    check_accessibility,
    log_in,
    log_out,
)

BODY = "HYVLTK"
PRESENTER = "esittelija"
ALTERNATIVES = (0, 1)  # 0 is the status quo, 1 the chosen one
CATALOGS = Path(__file__).resolve().parents[2] / "eva_engine" / "translations"


@cache
def catalog(language: str) -> dict[str, str]:
    path = CATALOGS / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        return {
            m.id: m.string
            for m in read_po(source)
            if isinstance(m.id, str) and isinstance(m.string, str) and m.string
        }


class Words:
    """What the user reads in one language: the UI's messages and the workflow's titles."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.workflow = load_catalogue(default_workflows_dir()).bundle("eva-standard").workflow

    def __call__(self, msgid: str) -> str:
        return catalog(self.language).get(msgid, msgid)

    def state(self, state_id: str) -> str:
        return str(getattr(self.workflow.state(state_id).title, self.language))

    def step(self, trigger: str) -> str:
        transition = next(t for t in self.workflow.transitions if t.trigger == trigger)
        return str(getattr(transition.title, self.language))


def use_language(page: Page, language: str) -> None:
    """Switch with the header's language form (remembered for the user)."""
    page.locator("#lang").select_option(language)
    page.locator("form.language button").click()
    expect(page.locator("html")).to_have_attribute("lang", language)


def required_light_questions() -> dict[str, list[str]]:
    """The questions a light assessment must answer, by impact area (in checklist order)."""
    bundle = load_catalogue(default_workflows_dir()).bundle("eva-standard")
    by_area: dict[str, list[str]] = defaultdict(list)
    for checklist in bundle.checklists:
        for area, _, question in checklist.questions():
            if question.required_for(ScreeningOutcome.LIGHT):
                by_area[area.id].append(question.id)
    return dict(by_area)


def unique_case_number() -> str:
    """A case number in the demo organisation's format that no other run has used."""
    return f"{time.time_ns() // 1000 % 10**9}/05.00.00/2026"


def action(page: Page, proposal_id: int, trigger: str) -> Locator:
    """The form of one action on the proposal page."""
    return page.locator(f"form[action='/proposals/{proposal_id}/transitions/{trigger}']")


def fire(page: Page, t: Words, proposal_id: int, trigger: str, reason: str = "") -> None:
    """Take an action on the proposal page and land back on it, checking the page."""
    form = action(page, proposal_id, trigger)
    if reason:
        form.get_by_label(t("Reason or comment")).fill(reason)
    form.get_by_role("button", name=t.step(trigger), exact=True).click()
    expect(page).to_have_url(re.compile(rf"/proposals/{proposal_id}$"))
    expect(page.locator(".notice.success")).to_have_text(t("Done."))
    check_accessibility(page)


def agenda_row(page: Page, case_number: str) -> Locator:
    return page.locator("main table tbody tr").filter(has_text=case_number)


def open_hyvltk_agenda(page: Page, t: Words) -> None:
    """From the Meetings page to the welfare committee's agenda, checking both pages."""
    page.locator("header nav").get_by_role("link", name=t("Meetings"), exact=True).click()
    expect(page.locator("h1")).to_have_text(t("Meetings"))
    check_accessibility(page)
    # The demo's two years of meetings come first; the one coming up is the last.
    meetings = page.locator("main table tbody tr").filter(has_text=f"{BODY} –")
    meetings.get_by_role("link").last.click()
    expect(page.locator("h1")).to_contain_text(f"{t('Agenda')}: {BODY}")
    check_accessibility(page)


@pytest.fixture
def language(request: pytest.FixtureRequest, live_server: LiveServer) -> Iterator[str]:
    """The journey's language; afterwards every demo user is back in Finnish."""
    yield str(request.param)
    for user in users.list_users(live_server.eva, OPERATOR):
        accounts.set_language(live_server.eva, user.id, Language.FI)


@pytest.mark.parametrize("language", WALK_LANGUAGES, indirect=True)
def test_a_proposal_is_prepared_reviewed_signed_off_decided_and_audited_in_the_browser(
    page: Page, live_server: LiveServer, language: str
) -> None:
    t = Words(language)
    required = required_light_questions()
    assert required, "the light depth requires no question: nothing to fill in"
    case_number = unique_case_number()
    title_fi = f"Nuorisotilan aukioloajat {case_number}"
    title_sv = f"Ungdomslokalens öppettider {case_number}"
    title = title_sv if language == "sv" else title_fi  # no English title: Finnish is shown

    def enter(username: str) -> None:
        log_in(page, live_server, username)
        use_language(page, language)
        check_accessibility(page)

    # 1. The preparer creates the proposal.
    enter("valmistelija")
    page.locator("header nav").get_by_role("link", name=t("New proposal"), exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/proposals/new")
    expect(page.locator("h1")).to_have_text(t("New proposal"))
    check_accessibility(page)
    page.locator("#case_number").fill(case_number)
    page.locator("#title_fi").fill(title_fi)
    page.locator("#title_sv").fill(title_sv)
    page.locator("#body").select_option(BODY)
    page.locator("#presenter").select_option(PRESENTER)
    page.locator("input[name=publicity][value=public]").check()
    page.get_by_role("button", name=t("Create"), exact=True).click()
    expect(page).to_have_url(re.compile(r"/proposals/\d+$"))
    expect(page.locator(".notice.success")).to_have_text(t("The proposal was created."))
    expect(page.locator("h1")).to_have_text(title)
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(case_number)
    expect(facts).to_contain_text(t.state("draft"))
    check_accessibility(page)
    proposal_id = int(page.url.rsplit("/", 1)[1])
    proposal = f"{live_server.url}/proposals/{proposal_id}"

    # ... starts the screening and records a light one with one criterion.
    fire(page, t, proposal_id, "start_screening")
    expect(facts).to_contain_text(t.state("screening"))
    page.locator("ul.links").get_by_role("link", name=t("Screening"), exact=True).click()
    expect(page).to_have_url(f"{proposal}/screening")
    check_accessibility(page)
    page.locator("input[name=outcome][value=light]").check()
    criterion = page.locator("#criteria input[type=checkbox]").first
    criterion.check()
    page.locator("#reason").fill("Muutos koskee nuoria ja heidän vapaa-aikaansa.")
    page.get_by_role("button", name=t("Save"), exact=True).click()
    expect(page).to_have_url(proposal)
    expect(page.locator(".notice.success")).to_be_visible()
    check_accessibility(page)

    fire(page, t, proposal_id, "begin_assessment")
    expect(facts).to_contain_text(t.state("assessment"))

    # ... adds the status quo and the chosen alternative.
    page.locator("ul.links").get_by_role("link", name=t("Alternatives"), exact=True).click()
    expect(page).to_have_url(f"{proposal}/alternatives")
    check_accessibility(page)
    page.locator("#title-0").fill("Aukioloajat pysyvät ennallaan")
    page.locator("#description-0").fill("Nuorisotila on auki arkisin klo 14–20.")
    page.locator("#title-1").fill("Nuorisotila auki myös lauantaisin")
    page.locator("#description-1").fill("Lauantaisin klo 12–18, ohjaajana kaksi nuoriso-ohjaajaa.")
    page.locator("#chosen-1").check()
    page.get_by_role("button", name=t("Save"), exact=True).click()
    expect(page).to_have_url(re.compile(rf"/proposals/{proposal_id}/areas/$"))
    expect(page.locator(".notice.success")).to_have_text(t("The alternatives were saved."))
    check_accessibility(page)

    # ... fills every required question of every area for both alternatives.
    nav = page.locator("nav.areas")
    for area_id, questions in required.items():
        # Always through the area's own link: the form of the first area, as shown at
        # /areas/ right after the alternatives are saved, posts back to /areas/, which
        # answers 405 Method Not Allowed (only /areas/<area_id> takes a POST).
        href = f"/proposals/{proposal_id}/areas/{area_id}"
        nav.locator(f"a[href='{href}']").click()
        expect(page).to_have_url(f"{live_server.url}{href}")
        expect(nav.locator("a[aria-current=page]")).to_have_attribute("href", href)
        check_accessibility(page)
        for question in questions:
            for position in ALTERNATIVES:
                cell = f"{question}--{position}--"
                page.locator(f"[id='{cell}direction']").select_option("positive")
                page.locator(f"[id='{cell}magnitude']").select_option("minor")
                page.locator(f"[id='{cell}justification']").fill(
                    f"Vaihtoehto {position} parantaa nuorten mahdollisuuksia."
                )
        page.get_by_role("button", name=t("Save this area"), exact=True).click()
        expect(page).to_have_url(f"{proposal}/areas/{area_id}")
        expect(page.locator(".notice.success")).to_have_text(t("Saved."))
        cells = len(questions) * len(ALTERNATIVES)
        expect(nav.locator(f"li:has(a[href$='/areas/{area_id}']) .progress")).to_have_text(
            f"{cells}/{cells} – {t('done')}"
        )
        check_accessibility(page)

    # The area navigation shows every required area as done.
    progress = nav.locator(".progress")
    expect(progress).to_have_count(len(required))
    for text in progress.all_inner_texts():
        assert text.endswith(f"– {t('done')}"), f"an area is not done: {text!r}"

    # ... and submits the proposal for review.
    page.get_by_role("link", name=t("Back to the proposal")).click()
    expect(page).to_have_url(proposal)
    completeness = page.locator("main table tbody tr")
    expect(completeness).to_have_count(len(required))
    expect(completeness.filter(has_text=t("Missing"))).to_have_count(0)
    check_accessibility(page)
    fire(page, t, proposal_id, "submit_for_review")
    expect(facts).to_contain_text(t.state("review"))
    log_out(page, live_server)

    # 2. The secretary schedules it for the committee's meeting: incomplete, not signed off yet.
    enter("sihteeri")
    open_hyvltk_agenda(page, t)
    agenda = page.url
    page.locator("#q").fill(case_number)  # the picker: proposals of the body, searched
    page.get_by_role("button", name=t("Search"), exact=True).click()
    check_accessibility(page)
    add = t("Add %(case_number)s to the agenda") % {"case_number": case_number}
    page.get_by_role("button", name=add, exact=True).click()
    expect(page).to_have_url(agenda)
    expect(page.locator(".notice.success")).to_have_text(t("The proposal was added to the agenda."))
    row = agenda_row(page, case_number)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(t.state("review"))
    assessment, held_by = row.locator("td").nth(3), row.locator("td").nth(4)
    expect(assessment.locator("strong")).to_have_text(t("Incomplete"))
    expect(assessment.locator("ul.missing li").first).to_contain_text(t.state("review"))
    expect(held_by).to_contain_text(t("secretary"))  # the review queue, by role
    expect(held_by).to_contain_text(t("expert"))
    check_accessibility(page)

    # ... and passes the review (she is not the preparer).
    row.get_by_role("link", name=title).click()
    expect(page).to_have_url(proposal)
    check_accessibility(page)
    fire(page, t, proposal_id, "pass_review", "Arviointi on riittävä.")
    expect(facts).to_contain_text(t.state("reviewed"))
    log_out(page, live_server)

    # 3. The presenter signs it off, confirming with the password.
    enter(PRESENTER)
    page.goto(proposal)
    check_accessibility(page)
    sign_off = action(page, proposal_id, "sign_off")
    sign_off.get_by_label(t("Your password (to confirm the sign-off)")).fill(PASSWORD)
    sign_off.get_by_role("button", name=t.step("sign_off"), exact=True).click()
    expect(page).to_have_url(proposal)
    expect(page.locator(".notice.success")).to_have_text(t("Done."))
    expect(facts).to_contain_text(t.state("signed_off"))
    check_accessibility(page)
    log_out(page, live_server)

    # 4. The secretary sees it complete, places it on the agenda and records the decision.
    enter("sihteeri")
    open_hyvltk_agenda(page, t)
    row = agenda_row(page, case_number)
    expect(row).to_contain_text(t.state("signed_off"))
    assessment, held_by = row.locator("td").nth(3), row.locator("td").nth(4)
    expect(assessment).to_have_text(t("Complete"))
    expect(assessment.locator("ul.missing")).to_have_count(0)
    expect(held_by).to_contain_text(t("secretary"))  # the agenda queue
    expect(held_by).not_to_contain_text(t("expert"))
    row.get_by_role("link", name=title).click()
    expect(page).to_have_url(proposal)
    check_accessibility(page)
    fire(page, t, proposal_id, "place_on_agenda")
    expect(facts).to_contain_text(t.state("on_agenda"))
    fire(page, t, proposal_id, "approve", "Hyväksyttiin.")
    expect(facts).to_contain_text(t.state("decided"))
    log_out(page, live_server)
    assert live_server.state_of(proposal_id) == "decided"

    # 5. The auditor reads the history: the chain verifies and every step is there.
    enter("tarkastaja")
    page.goto(proposal)
    check_accessibility(page)
    page.get_by_role("link", name=t("History"), exact=True).click()
    expect(page).to_have_url(f"{proposal}/history")
    expect(page.locator(".notice.success[role=status]")).to_be_visible()
    # The history is paged (25 events a page): the auditor follows the pager's next links
    # through all of it, each page verified and accessible.
    check_accessibility(page)
    seen, diff_cells = "", set[str]()
    while True:
        timeline = page.locator("ol.timeline")
        seen += timeline.inner_text()
        diff_cells.update(t_.strip() for t_ in timeline.locator("table.diff td").all_inner_texts())
        next_page = page.locator("nav a[rel=next]")
        if not next_page.count():
            break
        href = next_page.first.get_attribute("href") or ""
        next_page.first.click()
        expect(page).to_have_url(re.compile(re.escape(href) + "$"))
        expect(page.locator(".notice.success[role=status]")).to_be_visible()
        check_accessibility(page)
    people = ("Veera Valmistelija", "Siiri Sihteeri", "Eero Esittelijä")  # by name
    for text in (*people, "Arviointi on riittävä.", "Hyväksyttiin."):
        assert text in seen, f"{text!r} is not in the history"
    assert t("Workflow step") in seen
    # Every state the proposal passed, by its title in the user's language (not its id).
    for state in (
        "screening",
        "assessment",
        "review",
        "reviewed",
        "signed_off",
        "on_agenda",
        "decided",
    ):
        assert t.state(state) in diff_cells, f"{t.state(state)!r} is not in the history"
