"""Browser test harness: a seeded herbtrace server process and headless Chromium via Playwright.

The tests skip only when `chromium` is absent and HERBTRACE_REQUIRE_BROWSER is unset; with
it set (as `deploy/dev/run test` does) a missing browser is an error. Screenshots go to
`test-artifacts/browser/` at the repository root (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_harness import (
    CHROMIUM_ARGS,
    FAST_PUBLIC,
    LOG_ORIGIN,
    SEEDED_EVENTS,
    BrowserPage,
    LiveServer,
    chromium_executable,
    herbtrace_ok,
    new_page,
    server_environ,
    serving,
)
from playwright.sync_api import Browser, Playwright, sync_playwright


@pytest.fixture(name="live_server", scope="session")
def _live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`herbtrace seed` then `herbtrace serve` as real processes on a fresh SQLite file."""
    home = tmp_path_factory.mktemp("browser-server")
    environ = server_environ(f"sqlite:///{home / 'herbtrace.db'}", LOG_ORIGIN, **FAST_PUBLIC)
    herbtrace_ok(["seed", "--events", str(SEEDED_EVENTS)], home, environ)
    with serving(home, environ) as server:
        yield server


@pytest.fixture(name="playwright", scope="session")
def _playwright() -> Iterator[Playwright]:
    """Playwright's driver, for the whole session."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(name="browser", scope="session")
def _browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium, launched once per session."""
    browser = playwright.chromium.launch(
        executable_path=chromium_executable(), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(name="browser_page")
def _browser_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserPage]:
    """A page in its own context (zh-CN), screenshotted as `<test name>.end.png` at teardown."""
    wrapped = new_page(browser, locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        yield wrapped
        wrapped.screenshot(f"{request.node.name}.end")
    finally:
        wrapped.page.context.close()
