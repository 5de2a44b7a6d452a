"""A proposal's whole life through the UI in a real browser, as the demo users: the preparer
creates it, screens it (light), adds the alternatives, fills every required question of the
impact matrix and submits it; the secretary schedules it and passes the review; the presenter
signs it off; the secretary places it on the agenda and records the decision; the auditor reads
its history. axe-core checks every page the journey visits."""

from __future__ import annotations

import re
import time
from collections import defaultdict

from tests.browser.conftest import require_browser

require_browser()  # before Playwright is imported: skips (or fails) without a browser

from playwright.sync_api import Locator, Page, expect  # noqa: E402

from eva_engine.config import default_workflows_dir  # noqa: E402
from eva_engine.vocabulary import ScreeningOutcome  # noqa: E402
from eva_engine.workflow.loader import load_catalogue  # noqa: E402
from tests.browser.conftest import (  # noqa: E402
    PASSWORD,
    LiveServer,
    check_accessibility,
    log_in,
    log_out,
)

BODY = "HYVLTK"
PRESENTER = "esittelija"
ALTERNATIVES = (0, 1)  # 0 is the status quo, 1 the chosen one


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


def fire(page: Page, proposal_id: int, trigger: str, button: str, reason: str = "") -> None:
    """Take an action on the proposal page and land back on it, checking the page."""
    form = action(page, proposal_id, trigger)
    if reason:
        form.get_by_label("Perustelu tai kommentti").fill(reason)
    form.get_by_role("button", name=button, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/proposals/{proposal_id}$"))
    expect(page.locator(".notice.success")).to_have_text("Tehty.")
    check_accessibility(page)


def agenda_row(page: Page, case_number: str) -> Locator:
    return page.locator("main table tbody tr").filter(has_text=case_number)


def open_hyvltk_agenda(page: Page) -> None:
    """From the Meetings page to the welfare committee's agenda, checking both pages."""
    page.locator("header nav").get_by_role("link", name="Kokoukset", exact=True).click()
    expect(page.locator("h1")).to_have_text("Kokoukset")
    check_accessibility(page)
    page.locator("main table tbody tr").filter(has_text=f"{BODY} –").get_by_role("link").click()
    expect(page.locator("h1")).to_contain_text(f"Esityslista: {BODY}")
    check_accessibility(page)


def test_a_proposal_is_prepared_reviewed_signed_off_decided_and_audited_in_the_browser(
    page: Page, live_server: LiveServer
) -> None:
    required = required_light_questions()
    assert required, "the light depth requires no question: nothing to fill in"
    case_number = unique_case_number()
    title = f"Nuorisotilan aukioloajat {case_number}"

    # 1. The preparer creates the proposal.
    log_in(page, live_server, "valmistelija")
    page.locator("header nav").get_by_role("link", name="Uusi päätösehdotus", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/proposals/new")
    expect(page.locator("h1")).to_have_text("Uusi päätösehdotus")
    check_accessibility(page)
    page.locator("#case_number").fill(case_number)
    page.locator("#title_fi").fill(title)
    page.locator("#title_sv").fill(f"Ungdomslokalens öppettider {case_number}")
    page.locator("#body").select_option(BODY)
    page.locator("#presenter").select_option(PRESENTER)
    page.locator("input[name=publicity][value=public]").check()
    page.get_by_role("button", name="Luo", exact=True).click()
    expect(page).to_have_url(re.compile(r"/proposals/\d+$"))
    expect(page.locator(".notice.success")).to_have_text("Päätösehdotus luotiin.")
    expect(page.locator("h1")).to_have_text(title)
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(case_number)
    expect(facts).to_contain_text("Luonnos")
    check_accessibility(page)
    proposal_id = int(page.url.rsplit("/", 1)[1])
    proposal = f"{live_server.url}/proposals/{proposal_id}"

    # ... starts the screening and records a light one with one criterion.
    fire(page, proposal_id, "start_screening", "Aloita tarveharkinta")
    expect(facts).to_contain_text("Tarveharkinta")
    page.locator("ul.links").get_by_role("link", name="Tarveharkinta", exact=True).click()
    expect(page).to_have_url(f"{proposal}/screening")
    check_accessibility(page)
    page.locator("input[name=outcome][value=light]").check()
    criterion = page.locator("#criteria input[type=checkbox]").first
    criterion.check()
    page.locator("#reason").fill("Muutos koskee nuoria ja heidän vapaa-aikaansa.")
    page.get_by_role("button", name="Tallenna", exact=True).click()
    expect(page).to_have_url(proposal)
    expect(page.locator(".notice.success")).to_be_visible()
    check_accessibility(page)

    fire(page, proposal_id, "begin_assessment", "Aloita arviointi")
    expect(facts).to_contain_text("Arviointi")

    # ... adds the status quo and the chosen alternative.
    page.locator("ul.links").get_by_role("link", name="Vaihtoehdot", exact=True).click()
    expect(page).to_have_url(f"{proposal}/alternatives")
    check_accessibility(page)
    page.locator("#title-0").fill("Aukioloajat pysyvät ennallaan")
    page.locator("#description-0").fill("Nuorisotila on auki arkisin klo 14–20.")
    page.locator("#title-1").fill("Nuorisotila auki myös lauantaisin")
    page.locator("#description-1").fill("Lauantaisin klo 12–18, ohjaajana kaksi nuoriso-ohjaajaa.")
    page.locator("#chosen-1").check()
    page.get_by_role("button", name="Tallenna", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/proposals/{proposal_id}/areas/$"))
    expect(page.locator(".notice.success")).to_have_text("Vaihtoehdot tallennettiin.")
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
        page.get_by_role("button", name="Tallenna tämä vaikutusalue", exact=True).click()
        expect(page).to_have_url(f"{proposal}/areas/{area_id}")
        expect(page.locator(".notice.success")).to_have_text("Tallennettu.")
        cells = len(questions) * len(ALTERNATIVES)
        expect(nav.locator(f"li:has(a[href$='/areas/{area_id}']) .progress")).to_have_text(
            f"{cells}/{cells} – valmis"
        )
        check_accessibility(page)

    # The area navigation shows every required area as done.
    progress = nav.locator(".progress")
    expect(progress).to_have_count(len(required))
    for text in progress.all_inner_texts():
        assert text.endswith("– valmis"), f"an area is not done: {text!r}"

    # ... and submits the proposal for review.
    page.get_by_role("link", name="Takaisin päätösehdotukseen").click()
    expect(page).to_have_url(proposal)
    completeness = page.locator("main table tbody tr")
    expect(completeness).to_have_count(len(required))
    expect(completeness.filter(has_text="Puuttuu")).to_have_count(0)
    check_accessibility(page)
    fire(page, proposal_id, "submit_for_review", "Lähetä tarkastettavaksi")
    expect(facts).to_contain_text("Tarkastettavana")
    log_out(page, live_server)

    # 2. The secretary schedules it for the committee's meeting: incomplete, not signed off yet.
    log_in(page, live_server, "sihteeri")
    open_hyvltk_agenda(page)
    agenda = page.url
    page.locator("#proposal_id").fill(str(proposal_id))
    page.get_by_role("button", name="Lisää", exact=True).click()
    expect(page).to_have_url(agenda)
    expect(page.locator(".notice.success")).to_have_text("Päätösehdotus lisättiin esityslistalle.")
    row = agenda_row(page, case_number)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Tarkastettavana")
    assessment, held_by = row.locator("td").nth(3), row.locator("td").nth(4)
    expect(assessment.locator("strong")).to_have_text("Keskeneräinen")
    expect(assessment.locator("ul.missing li").first).to_contain_text("Tarkastettavana")
    expect(held_by).to_contain_text("sihteeri")  # the review queue, by role
    expect(held_by).to_contain_text("asiantuntija")
    check_accessibility(page)

    # ... and passes the review (she is not the preparer).
    row.get_by_role("link", name=title).click()
    expect(page).to_have_url(proposal)
    check_accessibility(page)
    fire(page, proposal_id, "pass_review", "Hyväksy tarkastus", "Arviointi on riittävä.")
    expect(facts).to_contain_text("Tarkastettu, odottaa hyväksyntää")
    log_out(page, live_server)

    # 3. The presenter signs it off, confirming with the password.
    log_in(page, live_server, PRESENTER)
    page.goto(proposal)
    check_accessibility(page)
    sign_off = action(page, proposal_id, "sign_off")
    sign_off.get_by_label("Salasanasi (hyväksynnän vahvistamiseksi)").fill(PASSWORD)
    sign_off.get_by_role("button", name="Hyväksy esittelijänä", exact=True).click()
    expect(page).to_have_url(proposal)
    expect(page.locator(".notice.success")).to_have_text("Tehty.")
    expect(facts).to_contain_text("Esittelijä hyväksynyt")
    check_accessibility(page)
    log_out(page, live_server)

    # 4. The secretary sees it complete, places it on the agenda and records the decision.
    log_in(page, live_server, "sihteeri")
    open_hyvltk_agenda(page)
    row = agenda_row(page, case_number)
    expect(row).to_contain_text("Esittelijä hyväksynyt")
    assessment, held_by = row.locator("td").nth(3), row.locator("td").nth(4)
    expect(assessment).to_have_text("Valmiina")
    expect(assessment.locator("ul.missing")).to_have_count(0)
    expect(held_by).to_contain_text("sihteeri")  # the agenda queue
    expect(held_by).not_to_contain_text("asiantuntija")
    row.get_by_role("link", name=title).click()
    expect(page).to_have_url(proposal)
    check_accessibility(page)
    fire(page, proposal_id, "place_on_agenda", "Vie esityslistalle")
    expect(facts).to_contain_text("Esityslistalla")
    fire(page, proposal_id, "approve", "Hyväksytty esityksen mukaisesti", "Hyväksyttiin.")
    expect(facts).to_contain_text("Päätetty")
    log_out(page, live_server)
    assert live_server.state_of(proposal_id) == "decided"

    # 5. The auditor reads the history: the chain verifies and every step is there.
    log_in(page, live_server, "tarkastaja")
    page.goto(proposal)
    check_accessibility(page)
    page.get_by_role("link", name="Historia", exact=True).click()
    expect(page).to_have_url(f"{proposal}/history")
    expect(page.locator(".notice.success[role=status]")).to_contain_text("on varmennettu")
    timeline = page.locator("ol.timeline")
    for text in ("valmistelija", "sihteeri", PRESENTER, "Arviointi on riittävä.", "Hyväksyttiin."):
        expect(timeline).to_contain_text(text)
    # Every state the proposal passed, by its title in Finnish (not its id).
    for state in (
        "Tarveharkinta",
        "Arviointi",
        "Tarkastettavana",
        "Tarkastettu, odottaa hyväksyntää",
        "Esittelijä hyväksynyt",
        "Esityslistalla",
        "Päätetty",
    ):
        expect(
            timeline.locator("table.diff td", has_text=re.compile(rf"^{re.escape(state)}$"))
        ).not_to_have_count(0)
    check_accessibility(page)
