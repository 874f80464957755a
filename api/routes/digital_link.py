"""The GS1 Digital Link resolver: `/01/{gtin}/10/{lot}[/21/{serial}]` answers with the facts.

Content negotiation on `Accept`: a browser (`text/html`, or `*/*`) gets the consumer page;
`application/json` preferred over HTML gets the same facts as JSON, for handhelds and
regulators' tools; neither acceptable gets 406. Responses say `Vary: Accept`.

A code that is not valid (a wrong GS1 check digit, characters GS1 does not allow) or that
nothing is recorded under is exactly what a shopper holding a fake meets: a browser (whose
Accept names text/html) gets an HTML page in the page's language saying what it may mean and
what to do next, with the same status a JSON client gets (400, 404, 422 or 429) in its JSON
error body; a client that names no type gets the JSON error.

The facts come from the supply-chain records (`traceability/facts/records.py`), shown as the
consumer view (`traceability/facts/public.py`), through the facts cache (`api/facts_cache.py`),
which reuses a link's facts and their JSON until the log grows. The page
(`api/consumer_page.py`) is in zh-CN unless `?lang=en` (any other language falls back to
zh-CN), pins the log's key for the verifier that runs in the browser, and records a consumer
scan from the browser (POST /v1/scans): resolving, in HTML or JSON, records none. Lots or
serials that contain `/` (allowed by GS1 as `%2F`) cannot be resolved: the path is split
before routing.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import lru_cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from api.consumer_page import (
    CONTENT_SECURITY_POLICY,
    FORM_PAGE_POLICY,
    Lang,
    lang_query,
    pick_lang,
    render_page,
    render_template,
)
from api.deps import LedgerDep, Public
from api.errors import error_responses
from api.facts_cache import FactsCache, Resolved
from api.services import FactsCacheDep
from traceability.digital_link import DigitalLink
from traceability.errors import InvalidInput, NotFound
from traceability.facts.models import PublicFacts
from traceability.ledger import Ledger

Gtin = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{8,14}$",
        description="GTIN-8, -12, -13 or -14 with a valid GS1 check digit",
        examples=["06901234567892"],
    ),
]
Lot = Annotated[
    str, Path(min_length=1, max_length=20, description="lot (AI 10)", examples=["FS2026A"])
]
Serial = Annotated[
    str, Path(min_length=1, max_length=20, description="serial (AI 21)", examples=["0001"])
]
LangQuery = Annotated[
    str | None,
    Query(
        description="language of the HTML page: zh-CN (the default) or en; any other "
        "gives zh-CN (JSON is the same in every language)",
    ),
]

JSON = "application/json"
HTML = "text/html"

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the facts: HTML for browsers, JSON for `Accept: application/json`",
        "content": {HTML: {"schema": {"type": "string"}}},
    },
    **error_responses(400, 404, 406, 422, 429),
}

CodeErrorKind = Literal["unknown", "invalid", "busy", "failed"]


def prefers_html(accept: str | None) -> bool:
    """Tell whether the client names HTML in Accept (as browsers do) and would rather have
    it than JSON. A client that names neither (`*/*`, or no header) gets JSON errors, as
    scripts expect."""
    if not accept or _quality(accept, HTML) == 0:
        return False
    named = any(
        part.split(";")[0].strip().lower() in (HTML, "text/*") for part in accept.split(",")
    )
    try:
        return named and not wants_json(accept)
    except HTTPException:
        return False


def _kind_of(exc: Exception) -> tuple[int, CodeErrorKind] | None:
    """The status and page kind of an error resolving a code; None if no page explains it."""
    if isinstance(exc, NotFound):
        return 404, "unknown"
    if isinstance(exc, InvalidInput):
        return 400, "invalid"
    if isinstance(exc, RequestValidationError):
        return 422, "invalid"
    if isinstance(exc, HTTPException) and exc.status_code == 429:
        return 429, "busy"
    return None


NEXT_STEPS: dict[CodeErrorKind, tuple[str, ...]] = {
    "unknown": ("check_typed", "dont_use", "ask_pharmacy", "report"),
    "invalid": ("check_typed", "dont_use", "ask_pharmacy", "report"),
    "busy": ("wait",),
    "failed": ("wait",),
}
"""What the code-error page advises, in order (message keys `next.<step>`)."""


def code_error_page(
    request: Request, status: int, kind: CodeErrorKind, headers: dict[str, str] | None = None
) -> HTMLResponse:
    """The HTML page for a code that finds nothing: in the `?lang=` asked for, the code as
    looked up, what to do next, and the form to type it again."""
    lang = pick_lang(request.query_params.get("lang"))
    parts = request.url.path.strip("/").split("/")
    values = dict(zip(parts[0::2], parts[1::2], strict=False))
    typed = {"gtin": "", "lot": "", "serial": "", "code": ""}
    for ai, name in (("01", "gtin"), ("10", "lot"), ("21", "serial")):
        typed[name] = values.get(ai, "")[:20]
    other: Lang = "zh-CN" if lang == "en" else "en"
    page = render_template(
        "code_error.html",
        lang,
        kind=kind,
        status=status,
        typed=typed,
        next_steps=NEXT_STEPS[kind],
        home_query=lang_query(lang),
        switch_url=request.url.path + lang_query(other),
    )
    answer = {"Vary": "Accept", "Cache-Control": "no-cache"} | (headers or {})
    answer["Content-Security-Policy"] = FORM_PAGE_POLICY
    return HTMLResponse(page, status_code=status, headers=answer)


class ResolverRoute(APIRoute):
    """A resolver route whose errors reach a browser as a page, and JSON clients as JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                found = _kind_of(exc)
                if found is None or not prefers_html(request.headers.get("accept")):
                    raise
                status, kind = found
                headers = exc.headers if isinstance(exc, HTTPException) else None
                return await run_in_threadpool(
                    code_error_page, request, status, kind, dict(headers or {})
                )

        return answer


router = APIRouter(tags=["digital link"], dependencies=[Public], route_class=ResolverRoute)


def _quality(accept: str, media_type: str) -> float:
    """Return the q-value `accept` gives `media_type`, from its most specific matching range."""
    main = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)  # (specificity, q)
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        rng = fields[0].lower()
        q = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(1.0, max(0.0, float(value)))
                except ValueError:
                    q = 0.0
        specificity = {media_type: 2, f"{main}/*": 1, "*/*": 0}.get(rng, -1)
        if specificity > best[0]:
            best = (specificity, q)
    return best[1]


def wants_json(accept: str | None) -> bool:
    """Tell whether the client prefers JSON to HTML; 406 when it accepts neither.

    No Accept header counts as `*/*`; a tie goes to HTML, which browsers expect.
    """
    accept = accept or "*/*"
    json_q, html_q = _quality(accept, JSON), _quality(accept, HTML)
    if json_q == 0 and html_q == 0:
        raise HTTPException(406, f"this resource is served as {HTML} or {JSON}")
    return json_q > html_q


@lru_cache(maxsize=4096)
def link_of(gtin: str, lot: str, serial: str | None) -> DigitalLink:
    """The validated link (GS1 check digit and character sets), made once per recent path:
    validating costs more than the rest of answering from the facts cache."""
    return DigitalLink(gtin, lot=lot, serial=serial)


async def resolve(
    link: DigitalLink, request: Request, facts: FactsCache, ledger: Ledger, lang: Lang
) -> Response:
    """Answer for `link` as the client prefers: JSON facts or the consumer page in `lang`.

    Async: a cached answer costs less than handing the request to a worker thread, so only
    database reads and rendering go to one (see `FactsCache.resolve`).
    """
    as_json = wants_json(request.headers.get("accept"))
    resolved = await facts.resolve(link)
    headers = {"Vary": "Accept", "Cache-Control": "no-cache"}
    if as_json:
        return Response(resolved.public_json, media_type=JSON, headers=headers)
    other: Lang = "zh-CN" if lang == "en" else "en"
    switch_url = request.url.path + lang_query(other)
    log_key = ledger.verifier.to_vkey()
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    page = await run_in_threadpool(_page, resolved, lang, log_key, switch_url)
    return HTMLResponse(page, headers=headers)


def _page(resolved: Resolved, lang: Lang, log_key: str, switch_url: str) -> str:
    """The consumer page of the resolved facts (CPU work: run in a worker thread)."""
    return render_page(resolved.public(), lang, log_key, switch_url)


@router.get("/01/{gtin}/10/{lot}", response_model=PublicFacts, responses=_RESPONSES)
async def resolve_batch(
    gtin: Gtin,
    lot: Lot,
    facts: FactsCacheDep,
    ledger: LedgerDep,
    request: Request,
    lang: LangQuery = None,
) -> Response:
    """Resolve a batch's Digital Link: what is recorded about the lot."""
    return await resolve(link_of(gtin, lot, None), request, facts, ledger, pick_lang(lang))


@router.get("/01/{gtin}/10/{lot}/21/{serial}", response_model=PublicFacts, responses=_RESPONSES)
async def resolve_unit(
    gtin: Gtin,
    lot: Lot,
    serial: Serial,
    facts: FactsCacheDep,
    ledger: LedgerDep,
    request: Request,
    lang: LangQuery = None,
) -> Response:
    """Resolve a packed unit's Digital Link: what is recorded about it and its batch."""
    return await resolve(link_of(gtin, lot, serial), request, facts, ledger, pick_lang(lang))
