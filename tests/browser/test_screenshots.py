"""Writes the screenshots in docs/screenshots/ (1280x900 PNG) of the main pages, as the demo
users see them: run ``pytest tests/browser -m screenshots`` to refresh them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import require_browser

require_browser()  # before Playwright is imported: skips (or fails) without a browser

from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.conftest import LiveServer, check_accessibility, log_in, log_out  # noqa: E402

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def shoot(page: Page, name: str) -> Path:
    check_accessibility(page)
    target = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=target, full_page=False, animations="disabled", caret="hide")
    return target


@pytest.mark.screenshots
def test_screenshots_of_the_main_pages_are_written_to_docs_screenshots(
    page: Page, live_server: LiveServer
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    proposal_id = live_server.proposals_in("reviewed")[0]
    proposal = f"{live_server.url}/proposals/{proposal_id}"
    written = []

    page.goto(f"{live_server.url}/login")
    expect(page.locator("h1")).to_have_text("Kirjaudu sisään")
    written.append(shoot(page, "login"))

    log_in(page, live_server, "valmistelija")
    written.append(shoot(page, "my-work"))

    page.goto(proposal)
    expect(page.locator("ul.actions")).to_be_visible()
    written.append(shoot(page, "proposal"))
    log_out(page, live_server)

    log_in(page, live_server, "tarkastaja")
    page.goto(f"{proposal}/history")
    expect(page.locator(".notice.success")).to_be_visible()
    written.append(shoot(page, "history"))

    # The auditor reads an impact area as a summary list, and the summary as a page.
    page.goto(f"{proposal}/areas/")
    expect(page.locator("main .read-only")).to_be_visible()
    written.append(shoot(page, "area-read-only"))
    page.goto(f"{proposal}/summary")
    expect(page.locator("main article.eva-summary")).to_be_visible()
    written.append(shoot(page, "summary"))

    # On a phone: the menu wraps, the user menu opens without script.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(proposal)
    page.locator("details.user-menu summary").click()
    written.append(shoot(page, "phone"))

    page.set_viewport_size({"width": 1280, "height": 900})
    log_out(page, live_server)

    # The secretary's agenda: the ready proposals to pick from, the items in order, who holds
    # each incomplete one.
    log_in(page, live_server, "sihteeri")
    page.locator("header nav").get_by_role("link", name="Kokoukset", exact=True).click()
    page.locator("main table tbody tr").filter(has_text="HYVLTK –").get_by_role("link").last.click()
    expect(page.locator("h1")).to_contain_text("Esityslista: HYVLTK")
    written.append(shoot(page, "agenda"))
    log_out(page, live_server)

    # The administrator's single sign-on settings.
    log_in(page, live_server, "paakayttaja")
    page.goto(f"{live_server.url}/admin/sso")
    expect(page.locator("h1")).to_be_visible()
    written.append(shoot(page, "admin-sso"))

    for path in written:
        assert path.read_bytes().startswith(PNG_SIGNATURE), path
        assert path.stat().st_size > 10_000, f"{path} looks blank"
