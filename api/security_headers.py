"""Security headers on every response, and the API docs served from this origin only.

Every answer carries `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
`X-Frame-Options: DENY` (for browsers without CSP level 2) and a Content-Security-Policy:

* HTML pages get PAGE_POLICY: scripts, styles, images and requests from this origin only,
  no inline script or style, no plugins, no framing (`frame-ancestors 'none'`);
* everything else (JSON, SVG, text) gets DATA_POLICY, which lets a document load nothing
  and be framed by no one, should a browser ever render it.

A route may set its own Content-Security-Policy; it is kept. The OpenAPI pages work
offline, every file from this origin: /docs is Swagger UI and /redoc is ReDoc, both as
published on npm (`swagger-ui-dist`, `redoc`) and vendored with their licences in
api/static/vendor/ (its README gives versions, checksums and how to update them), each
started by a script of ours. ReDoc styles its page with <style> elements it injects, so
/redoc's policy adds a nonce, fresh on every answer, to PAGE_POLICY's `style-src` and hands
it to ReDoc (its `nonce` option): still no inline script and no `unsafe-inline` (a few
cosmetic styles ReDoc injects before it starts are refused). Its search, which runs in a
worker made from a blob: URL, is turned off rather than allowing workers.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import Public

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""The policy of HTML pages: this origin's files only, nothing inline, no framing."""

DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"
"""The policy of every other answer: a document that may load nothing, framed by no one."""

COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)

VENDOR_DIR = Path(__file__).parent / "static" / "vendor"
"""Swagger UI's and ReDoc's files as npm ships them, with their licences (served under
/static/vendor by the app's /static mount)."""


def redoc_policy(nonce: str) -> str:
    """The policy of /redoc: PAGE_POLICY with the answer's nonce allowed in `style-src`."""
    return PAGE_POLICY.replace("style-src 'self';", f"style-src 'self' 'nonce-{nonce}';")


_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>herbtrace API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/docs/start.js"></script>
</body>
</html>
"""

_REDOC_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>herbtrace API (ReDoc)</title>
<meta name="style-nonce" content="{nonce}">
<link rel="icon" href="data:,">
</head>
<body>
<div id="redoc"></div>
<script src="/static/vendor/redoc/redoc.standalone.js"></script>
<script src="/static/docs/redoc.js"></script>
</body>
</html>
"""


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                html = any(
                    name.lower() == b"content-type" and value.lower().startswith(b"text/html")
                    for name, value in headers
                )
                headers.extend(h for h in COMMON if h[0] not in names)
                if b"content-security-policy" not in names:
                    policy = PAGE_POLICY if html else DATA_POLICY
                    headers.append((b"content-security-policy", policy.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security(app: FastAPI) -> None:
    """Add the headers to every response, and serve /docs (Swagger UI) and /redoc (ReDoc)
    from this origin."""
    app.add_middleware(SecurityHeaders)

    @app.get("/docs", include_in_schema=False, dependencies=[Public])
    def docs_page() -> HTMLResponse:
        """Swagger UI on this API's OpenAPI document, every file from this origin."""
        return HTMLResponse(_DOCS_PAGE)

    @app.get("/redoc", include_in_schema=False, dependencies=[Public])
    def redoc_page() -> HTMLResponse:
        """ReDoc on this API's OpenAPI document, every file from this origin."""
        nonce = secrets.token_urlsafe(18)
        page = _REDOC_PAGE.replace("{nonce}", nonce)
        return HTMLResponse(page, headers={"Content-Security-Policy": redoc_policy(nonce)})
