"""Proof bundles over HTTP: many entries, each with its inclusion proof to the latest checkpoint."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import LedgerDep
from api.errors import error_responses
from traceability.log.proof_bundle import (
    MAX_BUNDLE_INDICES,
    ProofBundle,
    parse_indices,
    proof_bundle,
)

router = APIRouter(prefix="/v1/log", tags=["log"])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class BundleSignerOut(BaseModel):
    """The registered signer of an entry, as the log's registry records it (not pinned)."""

    key_id: str = Field(description="32 hex digits: SHA-256(public key)[0:16]")
    public_key: str = Field(description="standard base64 of the raw 32-byte Ed25519 public key")
    organisation: str = Field(description="the signer's organisation ID (no personal names)")
    role: str


class BundleEntryOut(BaseModel):
    """One entry: exact leaf bytes, leaf hash, inclusion proof and signer."""

    index: int = Field(description="position of the entry in the log")
    leaf: str = Field(description="standard base64 of the exact six-line leaf")
    leaf_hash: str = Field(description="standard base64 of SHA-256(0x00 || leaf)")
    proof: list[str] = Field(
        description="PATH(index, D[tree_size]) of RFC 9162 §2.1.3.1, nearest sibling first, base64"
    )
    signer: BundleSignerOut


class ProofBundleOut(BaseModel):
    """Entries with RFC 9162 inclusion proofs, all against one signed checkpoint."""

    checkpoint: str = Field(description="the latest C2SP checkpoint note, exactly as signed")
    log_key: str = Field(description="the log's verifier key; a verifier should pin its own copy")
    tree_size: int = Field(description="the checkpoint's tree size, which every proof is against")
    entries: list[BundleEntryOut]


def bundle_out(bundle: ProofBundle, log_key: str) -> ProofBundleOut:
    """Return the wire form of a proof bundle (shared by every route that serves one)."""
    return ProofBundleOut(
        checkpoint=bundle.checkpoint.note,
        log_key=log_key,
        tree_size=bundle.checkpoint.tree_size,
        entries=[
            BundleEntryOut(
                index=e.index,
                leaf=_b64(e.leaf),
                leaf_hash=_b64(e.leaf_hash),
                proof=[_b64(h) for h in e.proof],
                signer=BundleSignerOut(
                    key_id=e.signer.key_id,
                    public_key=_b64(e.signer.public_key),
                    organisation=e.signer.organisation,
                    role=e.signer.role,
                ),
            )
            for e in bundle.entries
        ],
    )


@router.get("/proofs", responses=error_responses(400, 404, 422, 503))
def read_proofs(
    ledger: LedgerDep,
    indices: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_BUNDLE_INDICES * 21,
            description=f"comma-separated entry indices, at most {MAX_BUNDLE_INDICES} distinct",
            examples=["1,5,9"],
        ),
    ],
) -> ProofBundleOut:
    """Return the entries `indices`, each with its inclusion proof against the latest checkpoint."""
    bundle = proof_bundle(ledger.engine, parse_indices(indices))
    return bundle_out(bundle, ledger.verifier.to_vkey())
