"""The handheld page: scan a batch, record an event signed in the browser, queue it offline.

Besides the page, this serves what its forms are built from: the event JSON Schema the
server validates with (schemas/json, exported from the wire models) and the herb catalogue's
names, so the forms label herbs and quality items in Chinese without signing in; and the
service worker that keeps all of it for use with no signal (/handheld/sw.js, allowed to
control /handheld, with a policy that lets it fetch from this origin only).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel

from api.deps import SettingsDep
from api.security_headers import PAGE_POLICY
from schemas.export import SCHEMA_DIR
from traceability.catalogue.lookup import load_catalogue

router = APIRouter(tags=["pages"])

STATIC = Path(__file__).parents[1] / "static"
PAGE = STATIC / "handheld" / "index.html"
EVENT_SCHEMA = SCHEMA_DIR / "event-body.schema.json"
WORKER = Path(__file__).parents[1] / "templates" / "handheld-sw.js"
SCOPE = "/handheld"
WORKER_POLICY = "default-src 'none'; connect-src 'self'; frame-ancestors 'none'"
"""The worker's own policy: it loads nothing, and fetches (to keep the shell) from this
origin only."""
PAGE_POLICY_WITH_WASM = PAGE_POLICY.replace(
    "script-src 'self';", "script-src 'self' 'wasm-unsafe-eval';", 1
)
"""The page's policy: every other page's, plus compiling WebAssembly, which the vendored
barcode decoder (static/handheld/vendor/zxing-wasm) is. 'wasm-unsafe-eval' allows
WebAssembly compilation only; JavaScript eval stays forbidden, and scripts still come only
from this origin."""
OTHER_SHELL = ("/static/verify/bytes.js", "/static/verify/note.js")
"""Modules from outside static/handheld that the page imports."""


class HerbName(BaseModel):
    """A herb's Chinese name and pinyin."""

    zh: str
    pinyin: str


class ItemName(BaseModel):
    """A quality item's Chinese name and the unit its limits use."""

    zh: str
    unit: str


class CatalogueNames(BaseModel):
    """The names the handheld's forms and batch card show for catalogue codes."""

    herbs: dict[str, HerbName]
    items: dict[str, ItemName]


_NAMES: dict[Path | None, CatalogueNames] = {}
"""The names, per catalogue file (None: the packaged catalogue)."""


@router.get("/handheld", response_class=FileResponse, include_in_schema=False)
def handheld() -> FileResponse:
    """The handheld page (its scripts are under /static/handheld/); `?batch=ID` opens a batch."""
    return FileResponse(
        PAGE,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": PAGE_POLICY_WITH_WASM},
    )


@router.get(
    "/handheld/event-body.schema.json", response_class=FileResponse, include_in_schema=False
)
def event_schema() -> FileResponse:
    """The JSON Schema of event bodies, which the handheld's forms are built from."""
    return FileResponse(EVENT_SCHEMA, media_type="application/schema+json")


@router.get("/handheld/catalogue.json", include_in_schema=False)
def catalogue_names(settings: SettingsDep) -> CatalogueNames:
    """The Chinese names of the catalogue's herbs and quality items, by code."""
    key = settings.catalogue_path
    if key not in _NAMES:
        catalogue = load_catalogue(settings=settings)
        _NAMES[key] = CatalogueNames(
            herbs={c: HerbName(zh=h.zh, pinyin=h.pinyin) for c, h in catalogue.herbs.items()},
            items={c: ItemName(zh=i.zh, unit=i.unit) for c, i in catalogue.items.items()},
        )
    return _NAMES[key]


@cache
def worker_script() -> str:
    """The service worker: SHELL (the page, every file under static/handheld, the modules it
    imports, the schema and catalogue names) and VERSION (a hash of them) before its code."""
    files = sorted(p for p in (STATIC / "handheld").rglob("*") if p.is_file())
    shell = [
        SCOPE,
        f"{SCOPE}/event-body.schema.json",
        f"{SCOPE}/catalogue.json",
        *OTHER_SHELL,
        *(f"/static/{p.relative_to(STATIC).as_posix()}" for p in files),
    ]
    digest = hashlib.sha256()
    for path in [*files, *(STATIC / p.removeprefix("/static/") for p in OTHER_SHELL)]:
        digest.update(path.read_bytes())
    digest.update(EVENT_SCHEMA.read_bytes())
    code = WORKER.read_text(encoding="utf-8")
    digest.update(code.encode())
    shell_js = ", ".join(f'"{path}"' for path in shell)
    return f'const SHELL = [{shell_js}];\nconst VERSION = "{digest.hexdigest()[:16]}";\n\n{code}'


@router.get("/handheld/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The handheld's service worker, allowed to control /handheld (the page's own path)."""
    return Response(
        worker_script(),
        media_type="text/javascript; charset=utf-8",
        headers={
            "Service-Worker-Allowed": SCOPE,
            "Cache-Control": "no-cache",
            "Content-Security-Policy": WORKER_POLICY,
        },
    )
