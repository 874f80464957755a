"""The handheld page: scan a batch, record an event signed in the browser, queue it offline.

Besides the page, this serves what its forms are built from: the event JSON Schema the
server validates with (schemas/json, exported from the wire models) and the herb catalogue's
names, so the forms label herbs and quality items in Chinese without signing in.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel

from api.deps import SettingsDep
from schemas.export import SCHEMA_DIR
from traceability.catalogue.lookup import load_catalogue

router = APIRouter(tags=["pages"])

PAGE = Path(__file__).parents[1] / "static" / "handheld" / "index.html"
EVENT_SCHEMA = SCHEMA_DIR / "event-body.schema.json"


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
    return FileResponse(PAGE, media_type="text/html; charset=utf-8")


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
