"""The handheld page: scan a batch, record an event signed in the browser, queue it offline."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(tags=["pages"])

PAGE = Path(__file__).parents[1] / "static" / "handheld" / "index.html"


@router.get("/handheld", response_class=FileResponse, include_in_schema=False)
def handheld() -> FileResponse:
    """The handheld page (its scripts are under /static/handheld/); `?batch=ID` opens a batch."""
    return FileResponse(PAGE, media_type="text/html; charset=utf-8")
