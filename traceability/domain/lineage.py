"""Lineage queries: backward to every origin, forward to every downstream batch and unit.

Both walk the `lineage` DAG with one recursive CTE (standard SQL, the same text on SQLite
and PostgreSQL). `UNION` (not `UNION ALL`) visits each batch once however many paths lead
to it; the walk reads `lineage` by its primary key (parent, child, event_index) going
forward and by `ix_lineage_child_parent` going back, so its cost grows with the size of
the answer, not of the tables. The walk is joined to the other tables with CROSS JOIN,
which SQLite takes as "walk first" (it would otherwise scan `units` in key order to skip a
sort); PostgreSQL plans it as an ordinary join.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.domain.state import BatchRecord
from traceability.domain.units import get_unit
from traceability.errors import NotFound

_UP = """WITH RECURSIVE walk(id) AS (
    SELECT CAST(:batch AS VARCHAR(64))
    UNION
    SELECT l.parent FROM lineage l JOIN walk w ON l.child = w.id
)
"""
_DOWN = """WITH RECURSIVE walk(id) AS (
    SELECT CAST(:batch AS VARCHAR(64))
    UNION
    SELECT l.child FROM lineage l JOIN walk w ON l.parent = w.id
)
"""
_BATCH_FIELDS = [f.name for f in fields(BatchRecord)]
_BATCHES = f"""SELECT {", ".join(f"b.{name}" for name in _BATCH_FIELDS)},
    (SELECT count(*) FROM lineage p WHERE p.child = b.id) AS parents
FROM walk w CROSS JOIN batches b WHERE b.id = w.id ORDER BY b.created_index, b.id"""  # noqa: S608
_EDGES_UP = """SELECT l.parent, l.child, l.event_index, l.quantity, l.unit
FROM walk w CROSS JOIN lineage l WHERE l.child = w.id ORDER BY l.event_index, l.parent, l.child"""
_EDGES_DOWN = """SELECT l.parent, l.child, l.event_index, l.quantity, l.unit
FROM walk w CROSS JOIN lineage l WHERE l.parent = w.id ORDER BY l.event_index, l.parent, l.child"""
_EVENTS = """SELECT e.log_index, e.type, e.batch
FROM walk w CROSS JOIN batch_events e WHERE e.batch = w.id ORDER BY e.log_index, e.batch"""
_IDS = "SELECT id FROM walk ORDER BY id"
_DOWN_IDS = _DOWN + _IDS
_UP_IDS = _UP + _IDS
_UNITS = """SELECT u.gtin, u.serial, u.lot, u.batch, u.status
FROM walk w CROSS JOIN units u WHERE u.batch = w.id ORDER BY u.gtin, u.serial"""


@dataclass(frozen=True, slots=True)
class TraceEdge:
    """`quantity` `unit` of `parent` went into `child` at log entry `event_index`."""

    parent: str
    child: str
    event_index: int
    quantity: str
    unit: str


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """A log entry on the trace, with the traced batches it concerns."""

    log_index: int
    type: str
    batches: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TraceUnit:
    """A packed unit downstream."""

    gtin: str
    serial: str
    lot: str
    batch: str
    status: str


@dataclass(frozen=True)
class BackwardTrace:
    """Everything upstream of `batch`: batches (itself included), origins, edges, events."""

    batch: str
    batches: list[BatchRecord]
    origins: list[BatchRecord]
    edges: list[TraceEdge]
    events: list[TraceEvent]

    def to_json(self) -> dict[str, Any]:
        """The trace as JSON data."""
        return _json(self)


@dataclass(frozen=True)
class ForwardTrace:
    """Everything downstream of `batch`: batches (itself included), edges, packed units."""

    batch: str
    batches: list[BatchRecord]
    edges: list[TraceEdge]
    units: list[TraceUnit]

    def to_json(self) -> dict[str, Any]:
        """The trace as JSON data."""
        return _json(self)


def _json(trace: BackwardTrace | ForwardTrace) -> dict[str, Any]:
    out = asdict(trace)
    for event in out.get("events", []):
        event["batches"] = list(event["batches"])
    return out


def _walk_batches(conn: Connection, walk: str, batch: str) -> tuple[list[BatchRecord], set[str]]:
    rows = conn.execute(sa.text(walk + _BATCHES), {"batch": batch}).all()
    if not rows:
        raise NotFound(f"batch {batch} is not recorded")
    width = len(_BATCH_FIELDS)
    found = [BatchRecord(*r[:width]) for r in rows]
    roots = {r[0] for r in rows if r[width] == 0}
    return found, roots


def _events(conn: Connection, walk: str, batch: str) -> list[TraceEvent]:
    grouped: dict[int, tuple[str, list[str]]] = {}
    for index, kind, b in conn.execute(sa.text(walk + _EVENTS), {"batch": batch}):
        grouped.setdefault(index, (kind, []))[1].append(b)
    return [TraceEvent(i, kind, tuple(bs)) for i, (kind, bs) in grouped.items()]


def trace_backward(conn: Connection, batch: str) -> BackwardTrace:
    """`batch` back to every origin (batches without parents) with every event on the way."""
    found, roots = _walk_batches(conn, _UP, batch)
    edges = [TraceEdge(*r) for r in conn.execute(sa.text(_UP + _EDGES_UP), {"batch": batch})]
    return BackwardTrace(
        batch=batch,
        batches=found,
        origins=[b for b in found if b.id in roots],
        edges=edges,
        events=_events(conn, _UP, batch),
    )


def trace_unit(conn: Connection, gtin: str, serial: str) -> BackwardTrace:
    """A packed unit back to every origin: its batch's backward trace.

    NotFound if the unit was never packed, InvalidInput for a malformed GTIN.
    """
    return trace_backward(conn, get_unit(conn, gtin, serial).batch)


def trace_forward(conn: Connection, batch: str) -> ForwardTrace:
    """`batch` forward to every downstream batch and every unit packed from them."""
    found, _roots = _walk_batches(conn, _DOWN, batch)
    edges = [TraceEdge(*r) for r in conn.execute(sa.text(_DOWN + _EDGES_DOWN), {"batch": batch})]
    units = [TraceUnit(*r) for r in conn.execute(sa.text(_DOWN + _UNITS), {"batch": batch})]
    return ForwardTrace(batch=batch, batches=found, edges=edges, units=units)


def downstream_ids(conn: Connection, batch: str) -> list[str]:
    """IDs of `batch` and every batch downstream of it, sorted."""
    rows = conn.execute(sa.text(_DOWN_IDS), {"batch": batch})
    return list(rows.scalars())


def upstream_ids(conn: Connection, batch: str) -> list[str]:
    """IDs of `batch` and every batch upstream of it, sorted."""
    rows = conn.execute(sa.text(_UP_IDS), {"batch": batch})
    return list(rows.scalars())
