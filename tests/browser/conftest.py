"""Browser test harness: a seeded herbtrace server process and headless Chromium via Playwright.

The tests skip only when `chromium` is absent and HERBTRACE_REQUIRE_BROWSER is unset; with
it set (as `deploy/dev/run test` does) a missing browser is an error. Screenshots go to
`test-artifacts/browser/` at the repository root (git-ignored).
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_harness import (
    CHROMIUM_ARGS,
    LOG_ORIGIN,
    SEEDED_EVENTS,
    BrowserPage,
    LiveServer,
    chromium_executable,
    free_port,
    wait_until_serving,
)
from playwright.sync_api import Browser, Playwright, sync_playwright
from support import run_herbtrace


@pytest.fixture(name="live_server", scope="session")
def _live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`herbtrace seed` then `herbtrace serve` as real processes on a fresh SQLite file."""
    home = tmp_path_factory.mktemp("browser-server")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
    environ |= {
        "HERBTRACE_DATABASE_URL": f"sqlite:///{home / 'herbtrace.db'}",
        "HERBTRACE_LOG_ORIGIN": LOG_ORIGIN,
        "HERBTRACE_PUBLIC_RATE": "10000",  # many pages load quickly from one address
        "HERBTRACE_PUBLIC_BURST": "100000",
    }
    seeded = run_herbtrace(["seed", "--events", str(SEEDED_EVENTS)], home, environ)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    port = free_port()
    log = home / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "herbtrace"), "serve", "--port", str(port)],
            cwd=home,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, base_url + "/healthz", log)
        with urllib.request.urlopen(base_url + "/v1/log/key", timeout=30) as response:  # noqa: S310
            log_key = response.read().decode("ascii")
        yield LiveServer(base_url, log_key, environ)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    wrapped = BrowserPage(page, errors)
    try:
        yield wrapped
        wrapped.screenshot(f"{request.node.name}.end")
    finally:
        context.close()
