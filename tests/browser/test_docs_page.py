"""The API documentation page works offline: /docs loads nothing from another origin."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from browser_harness import herbtrace_ok, new_page, server_environ, serving
from playwright.sync_api import Browser, Route


def test_docs_render_with_no_request_leaving_the_origin(browser: Browser, tmp_path: Path) -> None:
    """Headless Chromium opens /docs of a real `herbtrace serve` with every other origin
    refused: Swagger UI renders the API's operations, with no error and no request out."""
    environ = server_environ(f"sqlite:///{tmp_path / 'docs.db'}", "docs.test.herbtrace/log")
    outside: list[str] = []
    herbtrace_ok(["init"], tmp_path, environ)
    with serving(tmp_path, environ) as server:
        origin = urlsplit(server.base_url).netloc

        def only_origin(route: Route) -> None:
            url = route.request.url
            if urlsplit(url).netloc == origin or url.startswith("data:"):
                route.continue_()
            else:
                outside.append(url)
                route.abort()

        wrapped = new_page(browser)
        page = wrapped.page
        try:
            page.route("**/*", only_origin)
            page.goto(server.url("/docs"))
            page.wait_for_selector(".opblock", timeout=30_000)
            title = page.inner_text(".info .title")
            operations = page.locator(".opblock").count()
        finally:
            page.context.close()
    assert "herbtrace" in title
    assert operations >= 20
    assert outside == []
    assert wrapped.errors == []
