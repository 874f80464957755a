"""Security headers on every response, and the API docs served from this origin only.

Every answer carries `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
`X-Frame-Options: DENY` (for browsers without CSP level 2) and a Content-Security-Policy:

* HTML pages get PAGE_POLICY: scripts, styles, images and requests from this origin only,
  no inline script or style, no plugins, no framing (`frame-ancestors 'none'`);
* everything else (JSON, SVG, text) gets DATA_POLICY, which lets a document load nothing
  and be framed by no one, should a browser ever render it.

A route may set its own, stricter Content-Security-Policy; it is kept. The OpenAPI page
(/docs) is Swagger UI from the `fastapi-offline` package's copy, served under
/static/swagger-ui with a start-up script of ours, so it works offline and no third-party
script runs on the API's origin. ReDoc is not served.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
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

SWAGGER_UI_DIR = Path(fastapi_offline.__file__).parent / "static"
"""Swagger UI's bundle and stylesheet, as the fastapi-offline package ships them."""

_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>herbtrace API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/docs/start.js"></script>
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
    """Add the headers to every response, and serve /docs with Swagger UI from this origin."""
    app.add_middleware(SecurityHeaders)
    app.mount("/static/swagger-ui", StaticFiles(directory=SWAGGER_UI_DIR), name="swagger-ui")

    @app.get("/docs", include_in_schema=False, dependencies=[Public])
    def docs_page() -> HTMLResponse:
        """Swagger UI on this API's OpenAPI document, every file from this origin."""
        return HTMLResponse(_DOCS_PAGE)
