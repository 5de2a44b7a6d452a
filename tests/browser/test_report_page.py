"""The report page in a real browser: the auditor opens the year's internal report of the demo
municipality, sees its charts (each an image with a text alternative) and tables, and the
public version; axe-core checks both."""

from __future__ import annotations

from tests.browser.conftest import require_browser

require_browser()  # before Playwright is imported: skips (or fails) without a browser

from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.conftest import LiveServer, check_accessibility, log_in  # noqa: E402


def test_the_auditor_reads_the_years_report_with_charts_and_tables(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server, "tarkastaja")
    page.goto(f"{live_server.url}/reports/?period=2026&version=internal")
    expect(page.locator("h1")).to_contain_text("EVA-raportti (sisäinen)")
    charts = page.locator("main svg[role=img]")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 3
    for index in range(charts.count()):
        labelled = charts.nth(index).get_attribute("aria-labelledby") or ""
        assert all(page.locator(f"[id='{part}']").count() == 1 for part in labelled.split())
    expect(page.locator("#table-agenda caption")).to_have_text(
        "Arviointi valmis kokouksen alkaessa"
    )
    expect(page.locator("main a[download]")).to_have_count(4)
    check_accessibility(page)

    page.goto(f"{live_server.url}/reports/?period=2026&version=public")
    expect(page.locator("h1")).to_contain_text("EVA-raportti (julkinen)")
    check_accessibility(page)
