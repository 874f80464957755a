"""The shopper's home page: type the code printed on the box, and learn what herbtrace checks.

`GET /` is the page (zh-CN, or English with `?lang=en`); its form sends `GET /lookup` the
GTIN, lot and serial as printed (or a pasted Digital Link or GS1 element string such as
`(01)09520123000110(10)HS260000000(21)RS00000000001`), which answers 303 to the product's
Digital Link page, or the form again with what to fix (400). Neither page runs a script.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.consumer_page import (
    FORM_PAGE_POLICY,
    Lang,
    Translator,
    lang_query,
    pick_lang,
    render_template,
)
from api.deps import Public
from traceability.digital_link import DigitalLink, normalise_gtin
from traceability.errors import InvalidInput

router = APIRouter(tags=["shopper"], dependencies=[Public])

LangParam = Annotated[
    str | None, Query(description="zh-CN (the default) or en; anything else gives zh-CN")
]
Typed = Annotated[str, Query(max_length=200)]

_ELEMENT_STRING = re.compile(r"\((\d{2,4})\)([^()]+)")
"""One `(AI)value` of a GS1 element string as printed under a barcode."""


@dataclass(frozen=True)
class TypedCode:
    """What the shopper typed, as typed (shown again in the form)."""

    gtin: str = ""
    lot: str = ""
    serial: str = ""
    code: str = ""


class CodeProblem(Exception):
    """What the shopper typed names no valid code; `key` is the message saying what to fix."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _squeeze(value: str) -> str:
    """The value without the spaces people type between groups of characters."""
    return re.sub(r"\s+", "", value)


def _from_code(code: str) -> DigitalLink:
    """The link in a pasted Digital Link URI or GS1 element string."""
    if "/01/" in code:
        try:
            return DigitalLink.parse(code if "://" in code else "https://" + code.lstrip("/"))
        except InvalidInput as exc:
            raise CodeProblem("form.problem.code") from exc
    values = dict(_ELEMENT_STRING.findall(code))
    if "01" not in values or "10" not in values:
        raise CodeProblem("form.problem.code")
    try:
        return DigitalLink(values["01"], lot=values["10"], serial=values.get("21"))
    except InvalidInput as exc:
        raise CodeProblem("form.problem.code") from exc


def typed_link(typed: TypedCode) -> DigitalLink:
    """The Digital Link of what was typed; CodeProblem saying which field to fix."""
    if typed.code.strip():
        return _from_code(typed.code.strip())
    gtin, lot, serial = _squeeze(typed.gtin), typed.lot.strip(), typed.serial.strip()
    if not gtin or not lot:
        raise CodeProblem("form.problem.missing")
    try:
        normalise_gtin(gtin)
    except InvalidInput as exc:
        raise CodeProblem("form.problem.gtin") from exc
    try:
        return DigitalLink(gtin, lot=lot, serial=serial or None)
    except InvalidInput as exc:
        raise CodeProblem("form.problem.chars") from exc


def link_path(link: DigitalLink) -> str:
    """The resolver's path of `link`: /01/{gtin}/10/{lot}[/21/{serial}]."""
    uri = link.uri("host")
    return uri[len("https://host") :]


def _home(lang: Lang, typed: TypedCode, problem: str | None, status: int) -> HTMLResponse:
    other: Lang = "zh-CN" if lang == "en" else "en"
    page = render_template(
        "home.html",
        lang,
        typed=typed,
        problem=problem,
        home_query=lang_query(lang),
        switch_url="/" + lang_query(other),
    )
    headers = {"Content-Security-Policy": FORM_PAGE_POLICY, "Cache-Control": "no-cache"}
    return HTMLResponse(page, status_code=status, headers=headers)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def read_home(lang: LangParam = None) -> HTMLResponse:
    """The home page: a form for the code on the box, and what herbtrace checks."""
    return await run_in_threadpool(_home, pick_lang(lang), TypedCode(), None, 200)


@router.get("/lookup", response_class=HTMLResponse, include_in_schema=False)
async def look_up_code(
    gtin: Typed = "",
    lot: Typed = "",
    serial: Typed = "",
    code: Typed = "",
    lang: LangParam = None,
) -> Response:
    """Send the shopper to the page of the code they typed, or back to the form saying why not."""
    chosen = pick_lang(lang)
    typed = TypedCode(gtin=gtin, lot=lot, serial=serial, code=code)
    try:
        link = typed_link(typed)
    except CodeProblem as problem:
        text = Translator(chosen)(problem.key)
        return await run_in_threadpool(_home, chosen, typed, text, 400)
    return RedirectResponse(link_path(link) + lang_query(chosen), status_code=303)
