"""What was recorded on batches: the log entries indexed under each batch, and their bodies.

`batch_events` gives a batch's entries as (log index, type); `batch_history` pages through
them with the signed event bodies, read back through the log (`traceability.log.reading`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.domain import state
from traceability.domain.batches import read_batch
from traceability.domain.paging import check_limit
from traceability.log.reading import entries_at
from traceability.storage.db import driver_rows, marks


@dataclass(frozen=True)
class EventRef:
    """A log entry recorded on a batch."""

    log_index: int
    type: str


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


def batch_events(conn: Connection, batch_id: str) -> list[EventRef]:
    """The log entries recorded on a batch, in log order."""
    t = state.batch_events
    rows = conn.execute(
        sa.select(t.c.log_index, t.c.type).where(t.c.batch == batch_id).order_by(t.c.log_index)
    )
    return [EventRef(int(i), kind) for i, kind in rows]


def entry_types(conn: Connection, indices: Iterable[int]) -> dict[int, str]:
    """The type of each of the log entries at `indices` recorded on some batch."""
    wanted = sorted(set(indices))
    if not wanted:
        return {}
    t = state.batch_events
    rows = conn.execute(
        sa.select(t.c.log_index, t.c.type).where(t.c.log_index.in_(wanted)).distinct()
    )
    return {int(index): str(kind) for index, kind in rows}


def batch_history(
    conn: Connection, batch_id: str, *, after: int | None = None, limit: int = 50
) -> list[HistoryEntry]:
    """Entries recorded on `batch_id` in log order, after log index `after`, at most `limit`.

    NotFound when the batch is not recorded.
    """
    check_limit(limit)
    read_batch(conn, batch_id)
    e = state.batch_events
    query = sa.select(e.c.log_index, e.c.type).where(e.c.batch == batch_id)
    if after is not None:
        query = query.where(e.c.log_index > after)
    indexed = {int(i): str(t) for i, t in conn.execute(query.order_by(e.c.log_index).limit(limit))}
    entries = entries_at(conn, indexed)
    out = []
    for index in sorted(entries):
        entry = entries[index]
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


def recorded_since(conn: Connection, since: int, batches: Sequence[str]) -> bool:
    """Whether an entry from index `since` on is recorded on one of `batches`
    (`batch_events`, keyed by batch and log index) or registers an organisation or a site
    again: one statement."""
    registered = (
        "SELECT 1 FROM organisations WHERE updated_index >= {m} "
        "UNION ALL SELECT 1 FROM sites WHERE updated_index >= {m}"
    )
    if not batches:
        return bool(driver_rows(conn, registered + " LIMIT 1", [since, since]))
    sql = (
        "SELECT 1 FROM batch_events WHERE log_index >= {m} "  # noqa: S608 - placeholders only
        f"AND batch IN ({marks(len(batches))}) UNION ALL {registered} LIMIT 1"
    )
    return bool(driver_rows(conn, sql, [since, *batches, since, since]))


def events_under(conn: Connection, batches: Sequence[str]) -> set[int]:
    """The log indices of every event recorded on one of `batches`."""
    found: set[int] = set()
    for start in range(0, len(batches), _CHUNK):
        chunk = list(batches[start : start + _CHUNK])
        sql = f"SELECT log_index FROM batch_events WHERE batch IN ({marks(len(chunk))})"  # noqa: S608
        found.update(int(r[0]) for r in driver_rows(conn, sql, chunk))
    return found


def packed_products(conn: Connection, events: Sequence[int]) -> list[tuple[str, str, str]]:
    """(batch, GTIN, lot) of each packed batch the events at `events` were recorded on."""
    found: set[tuple[str, str, str]] = set()
    for start in range(0, len(events), _CHUNK):
        chunk = list(events[start : start + _CHUNK])
        sql = (
            "SELECT DISTINCT b.id, b.gtin, b.lot FROM batch_events e JOIN batches b "  # noqa: S608
            f"ON b.id = e.batch WHERE b.gtin IS NOT NULL AND e.log_index IN ({marks(len(chunk))})"
        )
        found.update((str(i), str(g), str(lot)) for i, g, lot in driver_rows(conn, sql, chunk))
    return sorted(found)


def registration_indices(conn: Connection) -> list[int]:
    """The log indices of the latest registration of every organisation and site."""
    sql = "SELECT updated_index FROM organisations UNION SELECT updated_index FROM sites"
    return sorted(int(r[0]) for r in driver_rows(conn, sql, []))


_CHUNK = 500
"""Keys in one IN list: well below SQLite's 999 bound parameters."""
