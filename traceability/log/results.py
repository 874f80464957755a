"""What the log answers for each submitted envelope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from traceability.envelope import ParsedEnvelope
from traceability.errors import Refused, TraceabilityError
from traceability.types import EnvelopeHash, LeafHash

Status = Literal["accepted", "duplicate", "rejected"]


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What happened to one submitted envelope; `reason` is a stable code when rejected."""

    status: Status
    envelope_hash: EnvelopeHash | None = None
    signer: str | None = None
    seq: int | None = None
    index: int | None = None
    leaf_hash: LeafHash | None = None
    reason: str | None = None
    detail: str | None = None
    received: str | None = None
    """When the log received the entry (the leaf's received line); for a duplicate, the
    original entry's. None when rejected."""

    def to_json(self) -> dict[str, Any]:
        """Return the result as JSON data (hashes in hex)."""
        return {
            "status": self.status,
            "envelope_hash": None if self.envelope_hash is None else self.envelope_hash.hex(),
            "signer": self.signer,
            "seq": self.seq,
            "index": self.index,
            "leaf_hash": None if self.leaf_hash is None else self.leaf_hash.hex(),
            "reason": self.reason,
            "detail": self.detail,
            "received": self.received,
        }


def rejected(exc: TraceabilityError, env: ParsedEnvelope | None = None) -> AppendResult:
    reason = exc.reason if isinstance(exc, Refused) else type(exc).__name__
    return AppendResult(
        status="rejected",
        envelope_hash=None if env is None else env.envelope_hash,
        signer=None if env is None else env.signer,
        seq=None if env is None else env.seq,
        reason=_snake(reason),
        detail=str(exc),
    )


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
