"""The administrator's single sign-on page in a real browser: it passes axe-core as it opens and
with its errors shown, the error summary takes the focus and each of its links leads to its
field. Nothing is saved (the served demo database is shared by the browser tests)."""

from __future__ import annotations

from tests.browser.conftest import require_browser

require_browser()  # before Playwright is imported: skips (or fails) without a browser

from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.conftest import LiveServer, check_accessibility, log_in  # noqa: E402


def test_the_single_sign_on_page_is_accessible_with_its_errors_beside_their_fields(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server, "paakayttaja")
    page.goto(f"{live_server.url}/admin/")
    page.locator("main a[href='/admin/sso']").click()
    expect(page.locator("h1")).to_have_text("Kertakirjautuminen")
    check_accessibility(page)

    page.fill("#issuer", "ei osoite")
    page.fill("#client_id", "")
    page.locator("#local_passwords-1").check()  # off: refused while no administrator signs on
    page.locator("main form button[type=submit]").click()

    summary = page.locator(".error-summary[role=alert]")
    expect(summary).to_be_focused()
    for anchor in ("#issuer", "#client_id"):
        expect(summary.locator(f"a[href='{anchor}']")).to_be_visible()
    expect(page.locator("#issuer")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#issuer-error")).to_contain_text("Anna tunnistuspalvelun osoite")
    check_accessibility(page)
    summary.locator("a[href='#client_id']").click()
    expect(page.locator("#client_id")).to_be_focused()
