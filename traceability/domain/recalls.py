"""Recalls as the log holds them: the `recall` entries, read back through the log."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.domain import state
from traceability.domain.batches import held_by
from traceability.domain.paging import check_limit
from traceability.log.entry import Entry
from traceability.log.reading import entries_at


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
    conn: Connection,
    *,
    organisation: str | None = None,
    after: int | None = None,
    limit: int = 50,
) -> list[RecallEntry]:
    """Recall entries in log order after log index `after`; at most `limit`.

    With `organisation`, only those that reached a batch it owns or holds.
    """
    check_limit(limit)
    e = state.batch_events
    query = sa.select(e.c.log_index).where(e.c.type == "recall").distinct()
    if organisation is not None:
        query = query.where(e.c.batch.in_(held_by(organisation)))
    if after is not None:
        query = query.where(e.c.log_index > after)
    indices = list(conn.execute(query.order_by(e.c.log_index).limit(limit)).scalars())
    entries = entries_at(conn, indices)
    return [_recall(entries[i]) for i in sorted(entries)]


def _recall(entry: Entry) -> RecallEntry:
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
