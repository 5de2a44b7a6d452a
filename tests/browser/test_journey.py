"""A journey through the UI in a real browser, as the demo users: logging in (with the mouse
and with the keyboard only), My work, a review passed and signed off, the auditor's history,
the three languages and logging out. axe-core checks every page the journey visits."""

from __future__ import annotations

import re

from tests.browser.conftest import require_browser

require_browser()  # before Playwright is imported: skips (or fails) without a browser

from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.conftest import (  # noqa: E402
    PASSWORD,
    LiveServer,
    check_accessibility,
    log_in,
    log_out,
)

MAX_TABS = 10  # the login form is a few Tab presses away from the top of the page


def focused(page: Page) -> str:
    """The focused element, as ``tag#id.class``."""
    description: str = page.evaluate(
        """() => {
            const el = document.activeElement;
            if (!el || el === document.body) return "body";
            const id = el.id ? "#" + el.id : "";
            const cls = el.classList.length ? "." + [...el.classList].join(".") : "";
            return el.tagName.toLowerCase() + id + cls;
        }"""
    )
    return description


def test_the_login_page_is_finnish_and_accessible(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/login")
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    expect(page.locator("h1")).to_have_text("Kirjaudu sisään")
    expect(page.get_by_label("Käyttäjätunnus")).to_be_visible()
    check_accessibility(page)


def test_a_wrong_password_shows_an_error_summary_linked_to_the_password_field(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/login")
    check_accessibility(page)
    page.fill("#username", "valmistelija")
    page.fill("#password", "väärä-salasana")
    page.locator("main form button[type=submit]").click()

    summary = page.locator(".error-summary[role=alert]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()  # read first by a screen reader (autofocus, no script)
    expect(summary.locator("h2")).to_have_text("Korjaa nämä:")
    link = summary.locator("a[href='#password']")
    expect(link).to_contain_text("Väärä käyttäjätunnus tai salasana.")
    password = page.locator("#password")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_attribute("aria-describedby", "password-error")
    expect(page.locator("#password-error")).to_contain_text("Väärä käyttäjätunnus tai salasana.")
    check_accessibility(page)

    link.click()
    expect(password).to_be_focused()
    expect(page.locator("#username")).to_have_value("valmistelija")


def test_the_preparer_logs_in_and_sees_my_work(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server, "valmistelija")
    expect(page).to_have_title("Omat tehtävät – eva")
    expect(page.locator("header nav")).to_contain_text("Kirjaudu ulos (valmistelija)")
    tasks = page.locator("main table tbody tr")
    expect(tasks.first).to_be_visible()
    expect(page.locator("main table").first).to_contain_text("Valmistele arviointi")


def test_the_expert_passes_a_review_and_the_presenter_signs_it_off_for_the_auditor(
    page: Page, live_server: LiveServer
) -> None:
    proposal_id = next(
        pid
        for pid in live_server.proposals_in("review")
        if live_server.presenter_of(pid) == "esittelija"
    )
    proposal = f"{live_server.url}/proposals/{proposal_id}"

    # The expert passes the review with a comment.
    log_in(page, live_server, "koordinaattori")
    page.goto(proposal)
    expect(page.locator("dl.facts")).to_contain_text("Tarkastettavana")
    check_accessibility(page)
    review = page.locator(f"form[action='/proposals/{proposal_id}/transitions/pass_review']")
    review.get_by_label("Perustelu tai kommentti").fill("Vaikutukset on arvioitu kattavasti.")
    review.get_by_role("button", name="Hyväksy tarkastus").click()
    expect(page).to_have_url(proposal)
    expect(page.locator(".notice.success")).to_have_text("Tehty.")
    expect(page.locator("dl.facts")).to_contain_text("Tarkastettu, odottaa hyväksyntää")
    check_accessibility(page)
    assert live_server.state_of(proposal_id) == "reviewed"
    log_out(page, live_server)

    # The presenter signs it off, confirming with the password.
    log_in(page, live_server, "esittelija")
    page.goto(proposal)
    check_accessibility(page)
    sign_off = page.locator(f"form[action='/proposals/{proposal_id}/transitions/sign_off']")
    sign_off.get_by_label("Salasanasi (hyväksynnän vahvistamiseksi)").fill(PASSWORD)
    sign_off.get_by_role("button", name="Hyväksy esittelijänä").click()
    expect(page).to_have_url(proposal)
    expect(page.locator(".notice.success")).to_have_text("Tehty.")
    expect(page.locator("dl.facts")).to_contain_text("Esittelijä hyväksynyt")
    check_accessibility(page)
    assert live_server.state_of(proposal_id) == "signed_off"
    log_out(page, live_server)

    # The auditor follows the History link and sees the audit chain verified.
    log_in(page, live_server, "tarkastaja")
    page.goto(proposal)
    check_accessibility(page)
    page.get_by_role("link", name="Historia", exact=True).click()
    expect(page).to_have_url(f"{proposal}/history")
    expect(page.locator("h1")).to_have_text("Historia")
    expect(page.locator(".notice.success[role=status]")).to_contain_text("on varmennettu")
    # People by name, steps by their titles: the history is paged (25 events a page), so
    # the auditor follows the pager's next links through all of it.
    check_accessibility(page)
    seen = page.locator("ol.timeline").inner_text()
    next_page = page.locator("nav a[rel=next]")
    while next_page.count():
        href = next_page.first.get_attribute("href") or ""
        next_page.first.click()
        expect(page).to_have_url(re.compile(re.escape(href) + "$"))
        expect(page.locator("h1")).to_have_text("Historia")
        expect(page.locator(".notice.success[role=status]")).to_contain_text("on varmennettu")
        seen += page.locator("ol.timeline").inner_text()
    assert "Hanna Hyvinvointikoordinaattori" in seen
    assert "Eero Esittelijä" in seen
    assert "Hyväksy tarkastus" in seen
    assert "Vaikutukset on arvioitu kattavasti." in seen


def test_an_empty_review_comment_is_told_at_its_field_with_the_error_summary(
    page: Page, live_server: LiveServer
) -> None:
    proposal_id = live_server.proposals_in("review")[0]
    log_in(page, live_server, "koordinaattori")
    page.goto(f"{live_server.url}/proposals/{proposal_id}")
    form = page.locator("form.comment-form")
    form.get_by_role("button", name="Lisää kommentti").click()

    field = page.locator("#comment-new-assessment-all")
    summary = page.locator(".error-summary[role=alert]")
    expect(summary).to_be_focused()  # the page came back (422) with the summary first
    link = summary.locator("a[href='#comment-new-assessment-all']")
    expect(link).to_contain_text("Täytä tämä kenttä: se on pakollinen.")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", "comment-new-assessment-all-error")
    expect(page.locator("#comment-new-assessment-all-error")).to_contain_text("pakollinen")
    check_accessibility(page)
    link.click()
    expect(field).to_be_focused()


def test_the_language_switches_to_swedish_and_english_and_back(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server, "sihteeri")
    for lang, heading in (
        ("sv", "Mina uppgifter"),
        ("en", "My work"),
        ("fi", "Omat tehtävät"),  # and back: the choice is stored for the user
    ):
        page.select_option("#lang", lang)
        page.locator("form.language button[type=submit]").click()
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("h1")).to_have_text(heading)
        expect(page.locator("#lang")).to_have_value(lang)
        check_accessibility(page)


def test_the_skip_link_is_the_first_focusable_element_and_moves_focus_to_main(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/login")
    check_accessibility(page)
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Siirry sisältöön")
    expect(skip).to_be_in_viewport()  # shown when focused, not only to screen readers
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#username")).to_be_focused()  # the next stop is inside main


def test_the_login_form_can_be_completed_with_the_keyboard_only(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/login")
    check_accessibility(page)
    stops = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        stops.append(focused(page))
        if stops[-1] == "input#username":
            break
    assert stops[-1] == "input#username", f"Tab never reached the username field: {stops}"
    assert stops[0] == "a.skip", f"the skip link is not the first Tab stop: {stops}"

    page.keyboard.type("valmistelija")
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Omat tehtävät")
    check_accessibility(page)


def test_logging_out_ends_the_session(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server, "valmistelija")
    log_out(page, live_server)
    expect(page.locator(".notice.info")).to_have_text("Olet kirjautunut ulos.")

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login?next=%2F")
    expect(page.locator("h1")).to_have_text("Kirjaudu sisään")
    check_accessibility(page)
