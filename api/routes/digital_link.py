"""The GS1 Digital Link resolver: `/01/{gtin}/10/{lot}[/21/{serial}]` answers with the facts.

Content negotiation on `Accept`: a browser (`text/html`, or `*/*`) gets the consumer page;
`application/json` preferred over HTML gets the same facts as JSON, for handhelds and
regulators' tools; neither acceptable gets 406. Responses say `Vary: Accept`.

The facts come from the supply-chain records (`api/record_facts.py`), shown as the consumer
view (`api/product_facts.py`). The HTML here is a minimal placeholder until the consumer
page lands. Lots or serials that
contain `/` (allowed by GS1 as `%2F`) cannot be resolved: the path is split before routing.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException

from api.deps import Public, SettingsDep, get_facts_lookup
from api.errors import error_responses
from api.product_facts import FactsLookup, PublicFacts, consumer_view
from traceability.digital_link import DigitalLink

router = APIRouter(tags=["digital link"], dependencies=[Public])

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
FactsLookupDep = Annotated[FactsLookup, Depends(get_facts_lookup)]

JSON = "application/json"
HTML = "text/html"

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the facts: HTML for browsers, JSON for `Accept: application/json`",
        "content": {HTML: {"schema": {"type": "string"}}},
    },
    **error_responses(400, 404, 406, 422, 429),
}


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


def render_html(facts: PublicFacts) -> str:
    """Render the placeholder consumer page (all values HTML-escaped)."""
    e = escape
    title = e(facts.product_name or f"GTIN {facts.gtin} lot {facts.lot}")
    rows = [("GTIN", facts.gtin), ("批号 Lot", facts.lot)]
    if facts.serial:
        rows.append(("序列号 Serial", facts.serial))
    if facts.origin:
        r = facts.origin.region
        rows += [
            ("产地 Origin", f"{r.province} {r.city} {r.county} · {facts.origin.site_name}"),
            ("生产者 Grower", facts.origin.organisation),
        ]
        if facts.origin.harvested_on:
            rows.append(("采收 Harvested", facts.origin.harvested_on))
        if facts.origin.growing_years:
            rows.append(("年限 Years grown", str(facts.origin.growing_years)))
    table = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    steps = "".join(
        f"<li>{e(s.on)} {e(s.type)} · {e(s.organisation)}"
        + (f" · {e(s.summary)}" if s.summary else "")
        + "</li>"
        for s in facts.steps
    )
    recall = ""
    if facts.recall:
        recall = (
            f'<p class="recall"><strong>已召回 RECALLED</strong> ({e(facts.recall.level)}级, '
            f"{e(facts.recall.on)}): {e(facts.recall.reason)}</p>"
        )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head><body><h1>{title}</h1>{recall}"
        f"<table>{table}</table><ol>{steps}</ol>"
        f'<p><a href="{e(facts.uri)}">{e(facts.uri)}</a></p></body></html>'
    )


def resolve(
    link: DigitalLink, settings: SettingsDep, lookup: FactsLookup, accept: str | None
) -> Response:
    """Answer for `link` as the client prefers: JSON facts or the HTML page."""
    as_json = wants_json(accept)
    facts = consumer_view(lookup(link), link.uri(settings.digital_link_host))
    headers = {"Vary": "Accept"}
    if as_json:
        return JSONResponse(facts.model_dump(mode="json"), headers=headers)
    return HTMLResponse(render_html(facts), headers=headers)


@router.get("/01/{gtin}/10/{lot}", response_model=PublicFacts, responses=_RESPONSES)
def resolve_batch(
    gtin: Gtin,
    lot: Lot,
    settings: SettingsDep,
    lookup: FactsLookupDep,
    request: Request,
) -> Response:
    """Resolve a batch's Digital Link: what is recorded about the lot."""
    link = DigitalLink(gtin, lot=lot)
    return resolve(link, settings, lookup, request.headers.get("accept"))


@router.get("/01/{gtin}/10/{lot}/21/{serial}", response_model=PublicFacts, responses=_RESPONSES)
def resolve_unit(
    gtin: Gtin,
    lot: Lot,
    serial: Serial,
    settings: SettingsDep,
    lookup: FactsLookupDep,
    request: Request,
) -> Response:
    """Resolve a packed unit's Digital Link: what is recorded about it and its batch."""
    link = DigitalLink(gtin, lot=lot, serial=serial)
    return resolve(link, settings, lookup, request.headers.get("accept"))
