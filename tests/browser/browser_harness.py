"""Helpers of the browser tests: the live server, a page with its errors, screenshots."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from support import run_herbtrace

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
LOG_ORIGIN = "browser.test.herbtrace/log"
SEEDED_EVENTS = 60
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Flags for a closed network: without the background-networking ones Chromium's own
connections are refused and slow every launch. Playwright adds --headless and a fresh
--user-data-dir itself."""
FAST_PUBLIC = {"HERBTRACE_PUBLIC_RATE": "10000", "HERBTRACE_PUBLIC_BURST": "100000"}
"""Public rate limits high enough for many pages loading quickly from one address."""


def chromium_executable() -> str:
    """Return the path of Debian's `chromium`; skip, or fail under HERBTRACE_REQUIRE_BROWSER."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.environ.get("HERBTRACE_REQUIRE_BROWSER"):
        pytest.fail("HERBTRACE_REQUIRE_BROWSER is set but `chromium` is not installed")
    pytest.skip("`chromium` is not installed (apt-get install chromium); browser tests skipped")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A running `herbtrace serve` process on a seeded SQLite database."""

    base_url: str
    log_key: str
    environ: dict[str, str] = field(repr=False)

    def url(self, path: str) -> str:
        """Return the absolute URL of `path` on this server."""
        return self.base_url + path

    def get_json(self, path: str) -> Any:
        """GET `path` and return its JSON body (raising on a non-2xx status)."""
        with urllib.request.urlopen(self.url(path), timeout=30) as response:  # noqa: S310 - http
            return json.load(response)

    def get_text(self, path: str) -> str:
        """GET `path` and return its text body (raising on a non-2xx status)."""
        with urllib.request.urlopen(self.url(path), timeout=30) as response:  # noqa: S310 - http
            return str(response.read().decode("utf-8"))


def wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll `url` until it answers; fail with the server's log if it exits or takes too long."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"herbtrace serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - local http
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    pytest.fail(f"herbtrace serve did not answer within 60 s:\n{log.read_text()}")


@dataclass
class BrowserPage:
    """A fresh page plus the JavaScript errors and console errors it reported."""

    page: Page
    errors: list[str]

    def screenshot(self, name: str) -> Path:
        """Save a full-page screenshot as test-artifacts/browser/<name>.png and return its path."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def server_environ(database_url: str, log_origin: str, **extra: str) -> dict[str, str]:
    """This process's environment without any HERBTRACE_* variable, then the database URL,
    the log origin and `extra`."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
    return environ | {
        "HERBTRACE_DATABASE_URL": database_url,
        "HERBTRACE_LOG_ORIGIN": log_origin,
        **extra,
    }


def herbtrace_ok(args: list[str], home: Path, environ: dict[str, str]) -> str:
    """Run `herbtrace <args>` in `home`; fail with its output unless it exits 0; its stdout."""
    done = run_herbtrace(args, home, environ)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@contextmanager
def serving(home: Path, environ: dict[str, str]) -> Iterator[LiveServer]:
    """`herbtrace serve` on a free port as a real process in `home` (its output in
    `home/server.log`), with its log key fetched; terminated (killed after 20 s) on exit."""
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


def new_page(browser: Browser, *, console_errors: bool = True, **options: Any) -> BrowserPage:
    """A page in a new browser context made with `options`, collecting its page errors (as
    `page error: …`) and, if `console_errors`, its console errors. Close `page.context`."""
    page = browser.new_context(**options).new_page()
    wrapped = BrowserPage(page, [])
    page.on("pageerror", lambda exc: wrapped.errors.append(f"page error: {exc}"))
    if console_errors:
        page.on("console", lambda m: wrapped.errors.append(m.text) if m.type == "error" else None)
    return wrapped
