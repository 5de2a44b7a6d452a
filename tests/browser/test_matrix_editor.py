"""The impact matrix editor in a real browser: the alternatives side by side in a table per
question, a save button per question that keeps what was typed in another, a warning at an
incomplete answer, one question at a time, each question's help behind a disclosure, a
keyboard, a 390 px phone and no JavaScript."""

from __future__ import annotations

from tests.browser.conftest import require_browser

require_browser()  # before Playwright is imported: skips (or fails) without a browser

import pytest  # noqa: E402
from playwright.sync_api import Browser, Page, expect  # noqa: E402

from tests.browser.conftest import (  # noqa: E402
    PASSWORD,
    TIMEOUT_MS,
    LiveServer,
    check_accessibility,
    log_in,
)
from tests.browser.test_roles import assert_fits_the_phone  # noqa: E402
from tests.browser.test_screenshots import PNG_SIGNATURE, shoot  # noqa: E402

AREA = "living_environment"
FIRST = "living_environment.community_planning.residential_areas"
SECOND = "living_environment.community_planning.green_and_meeting_places"
THIRD = "living_environment.community_planning.health_hazards"


def _cell(question: str, position: int, field: str) -> str:
    return f"[id='{question}--{position}--{field}']"


def _editable(page: Page, server: LiveServer) -> str:
    """The address of the living environment area of a demo proposal being assessed, with
    its alternatives, as the preparer sees it."""
    for proposal_id in server.proposals_in("assessment"):
        address = f"{server.url}/proposals/{proposal_id}/areas/{AREA}"
        page.goto(address)
        if page.locator("table.matrix").count():
            return address
    pytest.skip("the demo data has no proposal in assessment with alternatives")


def test_the_preparer_saves_one_question_and_keeps_the_other_typed(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server, "valmistelija")
    address = _editable(page, live_server)
    table = page.locator(f"section.question:has([id='q-{FIRST}']) table.matrix")
    expect(table.locator("thead th[scope=col]").first).to_be_visible()
    assert table.locator("thead th[scope=col]").count() >= 1
    check_accessibility(page)

    # The keyboard moves along the row: from one alternative's direction to the next control.
    page.focus(_cell(FIRST, 0, "direction"))
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.id")
    assert focused.startswith(f"{FIRST}--"), focused

    page.select_option(_cell(FIRST, 0, "direction"), "positive")
    page.select_option(_cell(FIRST, 0, "magnitude"), "")
    page.fill(_cell(FIRST, 0, "justification"), "Viihtyisyys paranee.")
    page.select_option(_cell(THIRD, 0, "direction"), "negative")
    page.fill(_cell(THIRD, 0, "justification"), "Työmaan melu, ei vielä tallennettu.")
    page.locator(f"button[name=save][value='{FIRST}']").click()

    expect(page.locator(".notice.warning").first).to_be_visible()
    expect(page.locator(f"[id='{FIRST}--0--magnitude-warn']")).to_be_visible()
    expect(page.locator(_cell(THIRD, 0, "justification"))).to_have_value(
        "Työmaan melu, ei vielä tallennettu."
    )
    expect(page.locator("main .matrix-warnings")).to_be_visible()
    expect(page.locator("main a.first-missing")).to_have_text("Siirry ensimmäiseen puuttuvaan")
    check_accessibility(page)

    # Then the other question is saved with its own button, and nothing typed is lost.
    page.locator(f"button[name=save][value='{THIRD}']").click()
    page.goto(address)
    expect(page.locator(_cell(THIRD, 0, "justification"))).to_have_value(
        "Työmaan melu, ei vielä tallennettu."
    )
    expect(page.locator(_cell(FIRST, 0, "justification"))).to_have_value("Viihtyisyys paranee.")


def test_each_question_has_its_help_behind_a_disclosure_the_keyboard_opens(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server, "valmistelija")
    _editable(page, live_server)
    questions = page.locator("section.question")
    assert questions.count() >= 3
    assert page.locator("section.question details.question-help").count() == questions.count()
    help_text = page.locator(f"[id='help-{FIRST}']")
    summary = help_text.locator("summary")
    expect(summary).to_have_text("Ohje tähän kysymykseen")
    expect(help_text.locator("p")).to_be_hidden()
    summary.focus()
    page.keyboard.press("Enter")
    expect(help_text.locator("p")).to_be_visible()
    expect(help_text.locator("p")).to_contain_text("Tietoa saa")
    check_accessibility(page)


def test_on_a_phone_the_matrix_scrolls_in_its_own_box(page: Page, live_server: LiveServer) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, "valmistelija")
    address = _editable(page, live_server)
    assert_fits_the_phone(page)
    page.goto(f"{address}?question={SECOND}")
    expect(page.locator(f"[id='q-{SECOND}']")).to_be_visible()
    expect(page.locator(f"[id='q-{FIRST}']")).to_have_count(0)
    assert_fits_the_phone(page)
    check_accessibility(page)


def test_one_question_is_saved_without_javascript(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="fi-FI", java_script_enabled=False
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login")
        page.fill("#username", "valmistelija")
        page.fill("#password", PASSWORD)
        page.locator("main form button[type=submit]").click()
        address = _editable(page, live_server)
        page.goto(f"{address}?question={SECOND}")
        page.select_option(_cell(SECOND, 0, "direction"), "none")
        page.locator(f"button[name=save][value='{SECOND}']").click()
        expect(page.locator(".notice.success")).to_contain_text("Tallennettu")
        expect(page).to_have_url(f"{address}?question={SECOND}#q-{SECOND}")
        expect(page.locator(_cell(SECOND, 0, "direction"))).to_have_value("none")
        expect(page.locator("nav.question-pager a[rel=next]")).to_be_visible()
    finally:
        context.close()


@pytest.mark.screenshots
def test_a_screenshot_of_the_matrix_editor_is_written_to_docs_screenshots(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server, "valmistelija")
    _editable(page, live_server)
    page.locator(f"[id='q-{FIRST}']").scroll_into_view_if_needed()
    path = shoot(page, "area-matrix")
    assert path.read_bytes().startswith(PNG_SIGNATURE)
