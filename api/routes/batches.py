"""Batch resources: read a batch, its history and traces; list them; its entries with proofs.

A batch is created by recording the event that makes it (`planting`, `harvest`, …) with
POST /v1/events; there is no other way to create one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.engine import Engine

from api.deps import EngineDep, LedgerDep, organisation_param, require
from api.errors import error_responses
from api.pagination import MAX_ID, KeyAfter, KeyPage, Limit, Page, key_page_of, page_of
from api.routes.batch_models import (
    BatchEventOut,
    BatchOut,
    TraceOut,
    batch_out,
    event_out,
    trace_out,
)
from api.routes.proofs import ProofBundleOut, bundle_out
from traceability.domain import batches
from traceability.domain.history import batch_history
from traceability.domain.lineage import trace_backward, trace_forward
from traceability.facts.proofs import Scope, batch_bundle

router = APIRouter(prefix="/v1/batches", tags=["batches"])
"""Public reads (the app includes it with `Public`)."""
signed_in_router = APIRouter(prefix="/v1/batches", tags=["batches"])
"""Reads for signed-in callers (each route states its roles)."""

BatchId = Annotated[
    str,
    Path(min_length=1, max_length=64, description="the batch ID", examples=["FS-RS-2026-001"]),
]
IdQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


@router.get("/{batch_id}/proofs", responses=error_responses(400, 404, 422, 503))
def read_batch_proofs(
    ledger: LedgerDep,
    batch_id: Annotated[
        str,
        Path(
            min_length=1, max_length=64, description="the batch ID", examples=["FS-RS-2026-00001"]
        ),
    ],
    scope: Annotated[
        Scope,
        Query(description="`batch`: its own entries; `trace`: also every upstream batch's"),
    ] = "batch",
) -> ProofBundleOut:
    """Return the batch's log entries, each with its inclusion proof to the latest checkpoint."""
    bundle = batch_bundle(ledger.engine, batch_id, scope)
    return bundle_out(bundle, ledger.verifier.to_vkey())


def _acting_organisation() -> Any:
    """Owner lookup of the batch list: `organisation`, else `owner`, else `custodian`."""
    lookups = [organisation_param(name) for name in ("organisation", "owner", "custodian")]

    async def lookup(request: Request, engine: Engine) -> str | None:
        for by_param in lookups:
            found = await by_param(request, engine)
            if found is not None:
                return found
        return None

    return lookup


@signed_in_router.get(
    "",
    dependencies=[require("admin", "regulator", "operator", owner=_acting_organisation())],
    responses=error_responses(401, 403, 422),
)
def list_batches_route(
    engine: EngineDep,
    herb: Annotated[str | None, Query(max_length=32, examples=["renshen"])] = None,
    status: Annotated[Literal["active", "consumed", "recalled"] | None, Query()] = None,
    owner: IdQuery = None,
    custodian: IdQuery = None,
    site: Annotated[IdQuery, Query(description="the site it began at")] = None,
    organisation: Annotated[
        IdQuery, Query(description="batches this organisation owns or holds")
    ] = None,
    after: KeyAfter = None,
    limit: Limit = 50,
) -> KeyPage[BatchOut]:
    """List batches by ID, filtered. Regulators and admins see every batch; an operator
    names its own organisation as `organisation`, `owner` or `custodian` (the first given
    is the one checked), so it lists only batches it owns or holds."""
    where = batches.BatchFilter(herb, status, owner, custodian, site, organisation)
    with engine.connect() as conn:
        rows = batches.list_batches(conn, where, after=after, limit=limit + 1)
    return key_page_of(rows, limit, lambda b: b.id, batch_out)


@router.get("/{batch_id}", responses=error_responses(404, 422))
def read_batch(engine: EngineDep, batch_id: BatchId) -> BatchOut:
    """One batch: what it is, how much is left, who owns and holds it, its status and quality.
    Everything here is also in the public log, and it names no person."""
    with engine.connect() as conn:
        return batch_out(batches.read_batch(conn, batch_id))


@router.get("/{batch_id}/events", responses=error_responses(404, 422))
def read_batch_events(
    engine: EngineDep,
    batch_id: BatchId,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="only entries after this log index")
    ] = None,
    limit: Limit = 50,
) -> Page[BatchEventOut]:
    """The log entries recorded on the batch, in log order, with their signed event bodies."""
    with engine.connect() as conn:
        rows = batch_history(conn, batch_id, after=after, limit=limit + 1)
    return page_of(rows, limit, lambda e: e.index, event_out)


@router.get("/{batch_id}/trace", responses=error_responses(404, 422))
def read_batch_trace(
    engine: EngineDep,
    batch_id: BatchId,
    direction: Annotated[
        Literal["backward", "forward"],
        Query(description="`backward`: to every origin; `forward`: everything made from it"),
    ] = "backward",
) -> TraceOut:
    """Trace the batch backward to every origin with every event on the way, or forward to
    every batch and packed unit made from it (what a recall would reach)."""
    with engine.connect() as conn:
        walk = trace_backward if direction == "backward" else trace_forward
        return trace_out(walk(conn, batch_id))
