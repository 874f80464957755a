"""The transparency log's read API: its key, signed checkpoint, entries and RFC 9162 proofs."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import LedgerDep
from api.errors import error_responses

MAX_INT = 2**63 - 1
"""Largest index or tree size accepted: PostgreSQL BIGINT's maximum."""

router = APIRouter(prefix="/v1/log", tags=["log"])

_VKEY_EXAMPLE = "herbtrace.example/log+9bab4ca0+AcH/8upaQwTqGjedKH1iYk042cuDWnDnDJB1knT19oAg"
_NOTE_EXAMPLE = (  # signed by _VKEY_EXAMPLE's key over leaves b"0" … b"3"
    "herbtrace.example/log\n4\nn0o/wg1BYtw31OI9kHhIcxp2BD//9taSiL8av7z/R44=\n\n"
    "— herbtrace.example/log m6tMoJEdW0eAgTq5LkBi1VGQa0GlchLlkztGIhhIX4q6EJ+zu8mFfYeHZ2FP"
    "M5+OrpX2U78m+v0uHVuIEi4WGl2/hQk=\n"
)
_HASH_EXAMPLE = "H2JVsBxVDyg5JCiJmeNcEBYtG6mvYOWiQRcx9Mgfvwo="


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64_all(hashes: Sequence[bytes]) -> list[str]:
    return [_b64(h) for h in hashes]


class LogEntryOut(BaseModel):
    """One log entry: its exact leaf bytes, its RFC 9162 leaf hash and its decoded form."""

    index: int = Field(description="position of the entry in the log", examples=[3])
    leaf: str = Field(description="standard base64 of the exact leaf bytes")
    leaf_hash: str = Field(
        description="standard base64 of SHA-256(0x00 || leaf)", examples=[_HASH_EXAMPLE]
    )
    entry: dict[str, Any] = Field(description="the decoded entry: index, prev, received, envelope")


class InclusionProofOut(BaseModel):
    """PATH(index, D[tree_size]) of RFC 9162 §2.1.3.1, nearest sibling first."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"index": 3, "tree_size": 4, "proof": [_HASH_EXAMPLE]}]}
    )

    index: int
    tree_size: int
    proof: list[str] = Field(description="standard base64 of each 32-byte node hash")


class ConsistencyProofOut(BaseModel):
    """PROOF(first, D[second]) of RFC 9162 §2.1.4.1."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"first": 3, "second": 4, "proof": [_HASH_EXAMPLE]}]}
    )

    first: int
    second: int
    proof: list[str] = Field(description="standard base64 of each 32-byte node hash")


@router.get(
    "/key",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "the log's signed-note verifier key (sumdb/note `NewVerifier` format)",
            "content": {"text/plain": {"example": _VKEY_EXAMPLE}},
        },
        **error_responses(503),
    },
)
def read_key(ledger: LedgerDep) -> PlainTextResponse:
    """Return the verifier key `<name>+<key ID>+<base64 key>` that signs checkpoints."""
    return PlainTextResponse(ledger.verifier.to_vkey())


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "the newest checkpoint as a C2SP signed note, exactly as signed",
            "content": {"text/plain": {"example": _NOTE_EXAMPLE}},
        },
        **error_responses(404, 503),
    },
)
def read_checkpoint(ledger: LedgerDep) -> PlainTextResponse:
    """Return the latest signed checkpoint note; 404 before the first checkpoint."""
    return PlainTextResponse(ledger.latest_checkpoint().note)


@router.get("/entries/{index}", responses=error_responses(404, 422, 503))
def read_entry(
    ledger: LedgerDep,
    index: Annotated[int, Path(ge=0, le=MAX_INT, description="entry index, from 0")],
) -> LogEntryOut:
    """Return entry `index` with its leaf bytes and leaf hash."""
    leaf, leaf_hash, entry = ledger.entry(index)
    return LogEntryOut(
        index=index, leaf=_b64(leaf), leaf_hash=_b64(leaf_hash), entry=entry.to_json()
    )


@router.get("/proof/inclusion", responses=error_responses(400, 422, 503))
def read_inclusion_proof(
    ledger: LedgerDep,
    index: Annotated[int, Query(ge=0, le=MAX_INT, description="leaf index, below tree_size")],
    tree_size: Annotated[
        int, Query(ge=0, le=MAX_INT, description="size of the tree, at most the log's")
    ],
) -> InclusionProofOut:
    """Return the RFC 9162 inclusion proof of entry `index` in the tree of `tree_size` entries."""
    proof = ledger.inclusion_proof(index, tree_size)
    return InclusionProofOut(index=index, tree_size=tree_size, proof=_b64_all(proof))


@router.get("/proof/consistency", responses=error_responses(400, 422, 503))
def read_consistency_proof(
    ledger: LedgerDep,
    first: Annotated[int, Query(ge=0, le=MAX_INT, description="older tree size, at least 1")],
    second: Annotated[
        int, Query(ge=0, le=MAX_INT, description="newer tree size, at most the log's")
    ],
) -> ConsistencyProofOut:
    """Return the RFC 9162 consistency proof from the tree of `first` to that of `second`."""
    proof = ledger.consistency_proof(first, second)
    return ConsistencyProofOut(first=first, second=second, proof=_b64_all(proof))
