"""The regulator's desk: its page, a code from a box resolved to its batch, a batch's lineage
(JSON and SVG), checkpoints, the audit bundle.

Alerts and recalls, which the page also uses, are `api/routes/alerts.py` and `recalls.py`;
batch proofs (the page's verification badge) are `api/routes/batches.py`.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from api.deps import EngineDep, LedgerDep, Public, SettingsDep, require
from api.errors import error_responses
from api.lineage_graph import Lineage, build_lineage
from api.lineage_svg import render_svg
from api.pagination import Limit, Page, page_of
from traceability.catalogue.lookup import load_catalogue
from traceability.errors import TraceabilityError
from traceability.facts.box_code import MAX_CODE, ResolvedCode, Via, resolve_code
from traceability.log.bundle import bundle_lines
from traceability.log.checkpointing import StoredCheckpoint, newest_checkpoints
from traceability.settings import Settings

TEMPLATES = Jinja2Templates(directory=FilePath(__file__).parents[1] / "templates")
"""The server-rendered pages; autoescaping is on for .html templates."""

router = APIRouter()

Regulators = require("admin", "regulator")
"""Who may read a lineage or download the whole log: regulators and admins."""

BatchId = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="the batch ID",
        examples=["JA-HS-2026-00002"],
    ),
]

SVG = "image/svg+xml"


class CheckpointOut(BaseModel):
    """A checkpoint the log signed: its tree size, root and the signed note, exactly as issued."""

    tree_size: int = Field(examples=[205])
    root: str = Field(description="standard base64 of the 32-byte Merkle tree root")
    note: str = Field(description="the C2SP checkpoint note, exactly as signed")
    issued_at: str = Field(description="when the log signed it (RFC 3339, UTC)")


_HERB_NAMES: dict[FilePath | None, dict[str, str]] = {}
"""Chinese herb names by herb code, per catalogue file (None: the packaged catalogue)."""


def _herb_names(settings: Settings) -> Callable[[str], str]:
    """Map herb codes to the catalogue's Chinese names (the code itself if unknown)."""
    key = settings.catalogue_path
    if key not in _HERB_NAMES:
        try:
            catalogue = load_catalogue(settings=settings)
            _HERB_NAMES[key] = {code: herb.zh for code, herb in catalogue.herbs.items()}
        except TraceabilityError:  # the rules report a broken catalogue; a picture need not
            _HERB_NAMES[key] = {}
    names = _HERB_NAMES[key]
    return lambda code: names.get(code, code)


def _lineage(engine: Engine, settings: Settings, batch_id: str) -> Lineage:
    with engine.connect() as conn:
        return build_lineage(conn, batch_id, _herb_names(settings))


@router.get("/regulator", tags=["pages"], dependencies=[Public], response_class=HTMLResponse)
def regulator_page(request: Request, ledger: LedgerDep) -> HTMLResponse:
    """The regulator page (监管): alerts, batch verification and lineage, checkpoint consistency,
    recalls and the audit bundle. The page itself is public; its data needs a regulator's
    token. The log key it verifies against is pinned in the page as it is served."""
    return TEMPLATES.TemplateResponse(
        request, "regulator.html", {"log_key": ledger.verifier.to_vkey()}
    )


class LotMatchOut(BaseModel):
    """A packed batch with the lot asked about."""

    batch: str = Field(examples=["JA-HS-2026-00002-P"])
    gtin: str = Field(examples=["06901234567892"])
    lot: str = Field(examples=["JA2026B"])


class ResolvedOut(BaseModel):
    """The batch a code from a box names, and how the code was read."""

    code: str = Field(description="the code as given (trimmed)")
    via: Via = Field(
        description="how it was read: an internal batch ID, a GS1 Digital Link, GS1 element "
        "strings (QR or DataMatrix content), a GTIN with a lot, or a lot (批号) alone"
    )
    batch: str | None = Field(
        description="the batch it names; null when a lot alone matches several batches "
        "(pick one of `candidates`)",
        examples=["JA-HS-2026-00002-P"],
    )
    gtin: str | None = Field(description="the GTIN-14 the code carries or the batch has")
    lot: str | None = Field(description="the lot (批号)")
    serial: str | None = Field(description="the unit's serial, when the code names a unit")
    candidates: list[LotMatchOut] = Field(description="the packed batches with a lot alone")


def _resolved_out(text: str, found: ResolvedCode) -> ResolvedOut:
    return ResolvedOut(
        code=text,
        via=found.code.via,
        batch=found.batch,
        gtin=found.code.gtin,
        lot=found.code.lot,
        serial=found.code.serial,
        candidates=[LotMatchOut(batch=m.batch, gtin=m.gtin, lot=m.lot) for m in found.candidates],
    )


@router.get(
    "/v1/resolve",
    tags=["batches"],
    dependencies=[Regulators],
    responses=error_responses(400, 401, 403, 404, 422),
)
def resolve_box_code(
    engine: EngineDep,
    code: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_CODE,
            description="what the box shows or its code holds: a lot (批号), a GTIN and a "
            "lot, a GS1 Digital Link URI, GS1 element strings, or an internal batch ID",
            examples=["(01)06901234567892(10)JA2026B", "JA2026B"],
        ),
    ],
) -> ResolvedOut:
    """Resolve a code from a box to the batch it names. A lot alone that several products
    use answers `batch: null` and the `candidates`. 404 when nothing is recorded under the
    code; 400 when it is none of the accepted forms or its GTIN check digit is wrong."""
    text = code.strip()
    with engine.connect() as conn:
        return _resolved_out(text, resolve_code(conn, text))


@router.get(
    "/v1/batches/{batch_id}/lineage",
    tags=["batches"],
    dependencies=[Regulators],
    responses=error_responses(401, 403, 404, 422),
)
def read_lineage(engine: EngineDep, settings: SettingsDep, batch_id: BatchId) -> Lineage:
    """A batch's lineage: every batch upstream to its origins and downstream to its units,
    the events joining them, and each batch's units counted by status."""
    return _lineage(engine, settings, batch_id)


@router.get(
    "/v1/batches/{batch_id}/lineage.svg",
    tags=["batches"],
    dependencies=[Regulators],
    response_class=Response,
    responses={
        200: {"description": "the lineage drawn as SVG", "content": {SVG: {}}},
        **error_responses(401, 403, 404, 422),
    },
)
def read_lineage_svg(engine: EngineDep, settings: SettingsDep, batch_id: BatchId) -> Response:
    """The batch's lineage drawn as an SVG picture: a box per batch (herb, kind, status;
    recalled red, failed test amber), edges labelled with the event that made them."""
    svg = render_svg(_lineage(engine, settings, batch_id))
    return Response(svg, media_type=SVG, headers={"Cache-Control": "no-store"})


@router.get(
    "/v1/log/checkpoints",
    tags=["log"],
    dependencies=[Public],
    responses=error_responses(422, 429),
)
def read_checkpoints(
    ledger: LedgerDep,
    after: Annotated[
        int | None,
        Query(
            ge=1,
            le=2**63 - 1,
            description="only checkpoints of smaller trees: the previous page's `next_after`",
        ),
    ] = None,
    limit: Limit = 50,
) -> Page[CheckpointOut]:
    """The checkpoints the log signed, newest (largest tree) first; pick two and check their
    consistency with GET /v1/log/proof/consistency."""
    with ledger.engine.connect() as conn:
        rows = newest_checkpoints(conn, below=after, limit=limit + 1)
    return page_of(rows, limit, lambda c: c.tree_size, _checkpoint_out)


def _checkpoint_out(cp: StoredCheckpoint) -> CheckpointOut:
    return CheckpointOut(
        tree_size=cp.tree_size,
        root=base64.b64encode(cp.root).decode("ascii"),
        note=cp.note,
        issued_at=cp.issued_at.isoformat(),
    )


def _gzip(lines: Iterator[str]) -> Iterator[bytes]:
    """Compress a stream of text as one gzip member (RFC 1952), flushing per item."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip header and trailer
    for text in lines:
        if chunk := packer.compress(text.encode("utf-8")):
            yield chunk
    yield packer.flush()


@router.get(
    "/v1/log/bundle",
    tags=["log"],
    dependencies=[Regulators],
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the audit bundle: JSON Lines (docs/protocol.md), gzip if asked",
            "content": {"application/x-ndjson": {}, "application/gzip": {}},
        },
        **error_responses(401, 403, 422),
    },
)
def download_bundle(
    ledger: LedgerDep,
    compression: Annotated[
        Literal["none", "gzip"], Query(description="`gzip` compresses the download")
    ] = "none",
) -> StreamingResponse:
    """The whole log as an audit bundle, streamed as it is read: check it offline with
    `herbtrace verify --bundle FILE --log-key VKEY`."""
    lines = bundle_lines(ledger.engine, ledger.verifier)
    size = ledger.size()
    if compression == "gzip":
        name, media, body = f"herbtrace-{size}.jsonl.gz", "application/gzip", _gzip(lines)
    else:
        name, media = f"herbtrace-{size}.jsonl", "application/x-ndjson"
        body = (text.encode("utf-8") for text in lines)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(body, media_type=media, headers=headers)
