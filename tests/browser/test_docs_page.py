"""The API documentation pages work offline: /docs and /redoc load nothing from another origin."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from browser_harness import LiveServer, herbtrace_ok, new_page, server_environ, serving
from playwright.sync_api import Browser, Route


@pytest.fixture(scope="module", name="docs_server")
def _docs_server(tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    home = tmp_path_factory.mktemp("docs")
    environ = server_environ(f"sqlite:///{home / 'docs.db'}", "docs.test.herbtrace/log")
    herbtrace_ok(["init"], home, environ)
    with serving(home, environ) as server:
        yield server  # type: ignore[misc]


STYLED_RULES = """() => [...document.querySelectorAll("style[data-styled]")]
  .reduce((n, s) => n + (s.sheet ? s.sheet.cssRules.length : 0), 0)"""
"""How many CSS rules ReDoc's styled components got into the page (0 if CSP refused them)."""


def _open_offline(
    browser: Browser, server: LiveServer, path: str, ready: str, *, console_errors: bool = True
) -> dict[str, object]:
    """Open `path` with every other origin refused; what rendered, what left, what failed
    (page errors, and console errors if `console_errors`)."""
    origin = urlsplit(server.base_url).netloc
    outside: list[str] = []

    def only_origin(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == origin or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    wrapped = new_page(browser, console_errors=console_errors)
    page = wrapped.page
    try:
        page.route("**/*", only_origin)
        page.goto(server.url(path))
        page.wait_for_selector(ready, timeout=30_000)
        return {
            "title": page.title(),
            "text": page.inner_text("body"),
            "operations": page.locator(ready).count(),
            "outside": outside,
            "errors": wrapped.errors,
            "styled": page.evaluate(STYLED_RULES),
        }
    finally:
        page.context.close()


def test_docs_render_with_no_request_leaving_the_origin(
    browser: Browser, docs_server: LiveServer
) -> None:
    """Headless Chromium opens /docs of a real `herbtrace serve` with every other origin
    refused: Swagger UI renders the API's operations, with no error and no request out."""
    seen = _open_offline(browser, docs_server, "/docs", ".opblock")
    assert "herbtrace" in str(seen["text"])
    assert int(str(seen["operations"])) >= 20
    assert seen["outside"] == []
    assert seen["errors"] == []


def test_redoc_renders_with_no_request_leaving_the_origin(
    browser: Browser, docs_server: LiveServer
) -> None:
    """/redoc renders the API's operations from the vendored ReDoc under its nonce policy,
    with no page error and no request to another origin."""
    # Console errors are not counted here: CSP refuses, and the console reports, the few
    # cosmetic styles ReDoc injects before it starts (and so before it has the nonce).
    ready = '[data-section-id^="operation/"]'
    seen = _open_offline(browser, docs_server, "/redoc", ready, console_errors=False)
    assert "herbtrace" in str(seen["title"])
    assert int(str(seen["operations"])) >= 20
    assert "/v1/events" in str(seen["text"])
    assert int(str(seen["styled"])) > 50  # its styles passed the policy by their nonce
    assert seen["outside"] == []
    assert seen["errors"] == []
