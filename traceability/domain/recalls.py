"""Recalls as the log holds them: the `recall` entries, read back from their leaves."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from traceability.domain import state
from traceability.errors import InvalidInput
from traceability.log.entry import parse_leaf
from traceability.storage import tables

_entries = tables.log_entries


@dataclass(frozen=True)
class RecallEntry:
    """A `recall` entry of the log: which batch, at which level, why, signed by whom."""

    index: int
    batch: str
    level: str
    reason: str
    signer: str
    received: str

    def to_json(self) -> dict[str, Any]:
        """The recall as JSON data."""
        return asdict(self)


def list_recalls(
    engine: Engine, *, organisation: str | None = None, after: int | None = None, limit: int = 50
) -> list[RecallEntry]:
    """Recall entries in log order after log index `after`; with `organisation`, only those
    that reached a batch it owns or holds."""
    if not 1 <= limit <= 1001:
        raise InvalidInput(f"limit must be 1–1000, got {limit}")
    e = state.batch_events
    b = state.batches
    query = sa.select(e.c.log_index).where(e.c.type == "recall").distinct()
    if organisation is not None:
        held = sa.select(b.c.id).where(
            sa.or_(b.c.owner == organisation, b.c.custodian == organisation)
        )
        query = query.where(e.c.batch.in_(held))
    if after is not None:
        query = query.where(e.c.log_index > after)
    with engine.connect() as conn:
        indices = list(conn.execute(query.order_by(e.c.log_index).limit(limit)).scalars())
        if not indices:
            return []
        rows = conn.execute(
            sa.select(_entries.c.leaf).where(_entries.c.idx.in_(indices)).order_by(_entries.c.idx)
        ).scalars()
        return [_recall(bytes(leaf)) for leaf in rows]


def _recall(leaf: bytes) -> RecallEntry:
    entry = parse_leaf(leaf)
    payload = json.loads(entry.payload_bytes)
    body = payload["body"]
    return RecallEntry(
        index=entry.index,
        batch=body["batch"],
        level=body["level"],
        reason=body["reason"],
        signer=payload["signer"],
        received=entry.received,
    )
