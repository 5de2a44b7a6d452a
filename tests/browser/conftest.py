"""Browser end-to-end tests: a real Chromium (Debian's, driven by Playwright) against the app
served on 127.0.0.1 by the test session itself, on a SQLite file loaded with the demo data.

Without /usr/bin/chromium (or the browser EVA_CHROMIUM names) or the ``playwright`` and
``axe-playwright-python`` packages the folder is skipped, unless EVA_REQUIRE_BROWSER=1 makes that
a failure. Each test module calls ``require_browser()`` before it imports Playwright, so a
machine without them skips cleanly instead of failing to collect.

``check_accessibility(page)`` runs axe-core (the copy bundled in ``axe-playwright-python``) in
the page against the WCAG 2.1 A and AA rules and fails on any violation."""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from eva_engine import demo
from eva_engine.config import Settings, default_workflows_dir
from eva_engine.db.engine import make_engine
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import Caller, Eva
from web import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, ViewportSize

CHROMIUM = Path(os.environ.get("EVA_CHROMIUM", "/usr/bin/chromium"))  # Debian's package
# The languages the long walks (the full journey, every role on a phone) go through: Finnish
# in `make test`, all three in .ci/run (EVA_BROWSER_LANGUAGES=fi,sv,en). The other browser
# tests use each language whatever this says.
WALK_LANGUAGES = tuple(
    lang.strip()
    for lang in os.environ.get("EVA_BROWSER_LANGUAGES", "fi").split(",")
    if lang.strip()
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000  # every wait (locator, expect, navigation) gives up after this (a loaded CI)
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ORG = demo.ORG
PASSWORD = demo.DEMO_PASSWORD
OPERATOR = Caller(None, "browser-tests")


def browser_problem() -> str | None:
    """None when the browser tests can run here, else what is missing."""
    missing = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    for package, pip_name in (
        ("playwright", "playwright"),
        ("axe_playwright_python", "axe-playwright-python"),
    ):
        if importlib.util.find_spec(package) is None:
            missing.append(f"the {pip_name} package (pip install -e '.[browser]')")
    if not missing:
        return None
    return "browser tests need " + " and ".join(missing)


def require_browser() -> None:
    """Skip the calling test module (fail it with EVA_REQUIRE_BROWSER=1) without a browser."""
    problem = browser_problem()
    if problem is None:
        return
    if os.environ.get("EVA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{problem} (EVA_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(problem, allow_module_level=True)


# --- the server -------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log on stderr."""


@dataclass(frozen=True)
class LiveServer:
    """The app on 127.0.0.1, and the engine on the same database for setting up and checking."""

    url: str
    eva: Eva

    def proposals_in(self, state: str) -> list[int]:
        page = proposal_queries.list_proposals(self.eva, OPERATOR, ORG, state=state, limit=100)
        return [item.id for item in page.items]

    def state_of(self, proposal_id: int) -> str:
        return proposal_queries.show(self.eva, OPERATOR, proposal_id).state

    def presenter_of(self, proposal_id: int) -> str:
        return proposal_queries.show(self.eva, OPERATOR, proposal_id).presenter


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A migrated SQLite file with the demo data, served single-threaded on a free port."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'eva.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    eva = Eva(Database(engine), default_workflows_dir())
    demo.load_demo_data(eva)
    # The app gets its own engine, so its SQLite connections are made in the server thread.
    settings = Settings.from_env({"EVA_DATABASE_URL": url, "EVA_ENV": "test"})
    app = create_app(settings)
    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, app, threaded=False, request_handler=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="eva-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", eva=eva)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.extensions["eva"].database.dispose()
        engine.dispose()


# --- the browser ------------------------------------------------------------------------------


@cache
def _axe_source() -> str:
    return files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional dependency

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium for the whole session."""
    from playwright.sync_api import expect  # noqa: PLC0415 - optional dependency

    expect.set_options(timeout=TIMEOUT_MS)
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=30_000
    )
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh context (no cookies) per test, as a Finnish browser with a 1280x900 window."""
    context = browser.new_context(viewport=VIEWPORT, locale="fi-FI")
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    context.add_init_script(script=_axe_source())  # compiled once, not sent on every check
    page = context.new_page()
    yield page
    context.close()


# --- accessibility ----------------------------------------------------------------------------


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of the WCAG 2.1 A and AA rules on the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    results: dict[str, Any] = page.evaluate("options => axe.run(document, options)", options)
    violations: list[dict[str, Any]] = results["violations"]
    return violations


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{v['helpUrl']}]")
        lines.extend(
            f"    at {', '.join(str(t) for t in node['target'])}: {node['html'][:200]}"
            for node in v["nodes"]
        )
    return "\n".join(lines)


def check_accessibility(page: Page) -> None:
    """Assert that axe-core finds no WCAG 2.1 A/AA violation on the page."""
    page.wait_for_load_state("load")
    violations = axe_violations(page)
    assert not violations, (
        f"{len(violations)} accessibility violation(s) on {page.url}:\n"
        + describe_violations(violations)
    )


# --- steps shared by the tests ----------------------------------------------------------------


def log_in(page: Page, server: LiveServer, username: str, password: str = PASSWORD) -> None:
    """Log in through the login form and land on My work (checking both pages)."""
    from playwright.sync_api import expect  # noqa: PLC0415 - optional dependency

    page.goto(f"{server.url}/login")
    check_accessibility(page)
    page.fill("#username", username)
    page.fill("#password", password)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{server.url}/")
    # In the user's own language (the journey switches it and puts it back afterwards).
    expect(page.locator("h1")).to_have_text(re.compile("^(Omat tehtävät|Mina uppgifter|My work)$"))
    check_accessibility(page)


def log_out(page: Page, server: LiveServer) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415 - optional dependency

    menu = page.locator("header details.user-menu")  # the user menu: opened without script
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    page.locator("header nav form button").click()
    expect(page).to_have_url(f"{server.url}/login")
    check_accessibility(page)
