"""Batch resources: a batch's log entries with inclusion proofs, for verifying in the browser."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import LedgerDep
from api.errors import error_responses
from api.routes.proofs import ProofBundleOut, bundle_out
from traceability.batch_proofs import Scope, batch_bundle

router = APIRouter(prefix="/v1/batches", tags=["batches"])


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
