"""A hostile page frames or sniffs herbtrace's pages, or a third-party script runs on its origin.

Every route of the app is requested (path parameters filled with samples) and every answer
must carry the security headers; every HTML answer a strict Content-Security-Policy (no
inline script or style, this origin only, no framing). A page added without them fails
here. Then headless Chromium opens /docs with every request off the origin refused, and
Swagger UI must still render the API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from consumer_support import BATCH_LINK, RED_GINSENG_GTIN, SOLD, seeded_settings
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from api.main import STATIC_DIR, create_app

SAMPLES = {
    "gtin": RED_GINSENG_GTIN,
    "lot": "HS260000000",
    "serial": "RS00000000001",
    "index": "0",
    "token_id": "1",
    "name": "nobody",
}
"""Values for path parameters; any other parameter gets `x`."""

HTML_PAGES = {"/docs", "/redoc", "/handheld", "/regulator", SOLD, BATCH_LINK}
"""Pages the app must serve as HTML (the walk below must find at least these)."""
WASM_PAGES = {"/handheld"}
"""Pages that may compile WebAssembly ('wasm-unsafe-eval'): the handheld's barcode decoder."""


@pytest.fixture(name="client")
def _client(tmp_path: Path) -> Iterator[TestClient]:
    """A client of the app on a SQLite database holding the demo stories (so consumer
    pages of real units exist)."""
    with TestClient(create_app(seeded_settings(tmp_path))) as client:
        yield client


def every_get_path(client: TestClient) -> list[str]:
    """Every GET route of the app with samples in its path, and every static HTML file."""
    paths = [f"/static/{p.relative_to(STATIC_DIR)}" for p in STATIC_DIR.rglob("*.html")]
    for context in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        if isinstance(context.original_route, APIRoute) and "GET" in (context.methods or ()):
            sample = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLES.get(m[1], "x"), context.path)
            paths.append(sample)
    return paths


def policy(header: str) -> dict[str, str]:
    """A Content-Security-Policy as {directive: sources}."""
    parts = (p.strip().split(None, 1) for p in header.split(";") if p.strip())
    return {p[0]: p[1] if len(p) > 1 else "" for p in parts}


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    """Every GET route (pages, JSON, images, static HTML) answers with nosniff, no referrer,
    no framing, and a CSP; every HTML page's CSP allows no inline script or style and only
    this origin's scripts."""
    paths = every_get_path(client)
    html = set()
    for path in paths:
        response = client.get(path, headers={"Accept": "text/html"})
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        assert headers["x-frame-options"] == "DENY", path
        csp = policy(headers["content-security-policy"])
        assert csp["frame-ancestors"] == "'none'", path
        if headers.get("content-type", "").startswith("text/html"):
            html.add(path)
            wasm = path in WASM_PAGES
            script_src = "'self' 'wasm-unsafe-eval'" if wasm else "'self'"
            assert csp["script-src"] == script_src, path
            nonce = re.search(r'name="style-nonce" content="([^"]+)"', response.text)
            if path == "/redoc":  # ReDoc's injected styles: by this answer's nonce only
                assert nonce is not None
                assert csp["style-src"] == f"'self' 'nonce-{nonce.group(1)}'", path
            else:
                assert csp["style-src"] == "'self'", path
            assert csp["default-src"] == "'none'", path
            assert csp["base-uri"] == "'none'", path
            unsafe = headers["content-security-policy"].replace("'wasm-unsafe-eval'", "")
            assert "unsafe" not in unsafe, path
            inline = r"<script(?![^>]*\b(src=|type=\"application/json\"))[^>]*>\s*[^<\s]"
            assert not re.search(inline, response.text), path
    assert html >= HTML_PAGES | {"/static/handheld/index.html"}, sorted(html)
    first, second = (client.get("/redoc").headers["content-security-policy"] for _ in "ab")
    assert first != second  # a fresh nonce on every answer
