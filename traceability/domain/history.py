"""A batch's history: the log entries recorded on it, decoded from their leaves, paged."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.domain import state
from traceability.errors import InvalidInput, NotFound
from traceability.log.entry import parse_leaf
from traceability.storage import tables

_entries = tables.log_entries


@dataclass(frozen=True)
class HistoryEntry:
    """A log entry recorded on a batch: when it came, who signed it, and its event body."""

    index: int
    type: str
    received: str
    time: str
    signer: str
    seq: int
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The entry as JSON data."""
        return asdict(self)


def batch_history(
    conn: Connection, batch_id: str, *, after: int | None = None, limit: int = 50
) -> list[HistoryEntry]:
    """Entries recorded on `batch_id` in log order, after log index `after`, at most `limit`.

    NotFound when the batch is not recorded.
    """
    if not 1 <= limit <= 1001:
        raise InvalidInput(f"limit must be 1–1000, got {limit}")
    if state.get_batch(conn, batch_id) is None:
        raise NotFound(f"batch {batch_id} is not recorded")
    e = state.batch_events
    query = sa.select(e.c.log_index, e.c.type).where(e.c.batch == batch_id)
    if after is not None:
        query = query.where(e.c.log_index > after)
    indexed = {int(i): str(t) for i, t in conn.execute(query.order_by(e.c.log_index).limit(limit))}
    if not indexed:
        return []
    leaves = conn.execute(
        sa.select(_entries.c.leaf)
        .where(_entries.c.idx.in_(sorted(indexed)))
        .order_by(_entries.c.idx)
    ).scalars()
    out = []
    for leaf in leaves:
        entry = parse_leaf(bytes(leaf))
        payload = json.loads(entry.payload_bytes)
        out.append(
            HistoryEntry(
                index=entry.index,
                type=indexed[entry.index],
                received=entry.received,
                time=payload["time"],
                signer=payload["signer"],
                seq=payload["seq"],
                body=payload["body"],
            )
        )
    return out
