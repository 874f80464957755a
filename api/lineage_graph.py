"""A batch's lineage as one graph: every batch upstream and downstream, the events joining them.

The graph is the union of the batch's backward trace (to every origin: planting, herd) and
its forward trace (to every batch made from it), with each lineage edge labelled by the type
of the log entry that made it (harvest, processing, split, merge, pack …) and each batch's
packed units tallied by status. It is what the regulator page draws (`api/lineage_svg.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from traceability.domain.batches import BatchRecord
from traceability.domain.history import entry_types
from traceability.domain.lineage import trace_backward, trace_forward
from traceability.domain.units import status_counts


@dataclass(frozen=True, slots=True)
class LineageNode:
    """A batch on the lineage; `herb_name` is the catalogue's Chinese name (or the code)."""

    id: str
    herb: str
    herb_name: str
    kind: str
    status: str
    quality: str
    owner: str
    custodian: str
    quantity: str
    unit: str
    created_index: int


@dataclass(frozen=True, slots=True)
class LineageLink:
    """`quantity` `unit` of `parent` went into `child` by the `event` at log entry `event_index`."""

    parent: str
    child: str
    event: str
    event_index: int
    quantity: str
    unit: str


@dataclass(frozen=True, slots=True)
class UnitTally:
    """The packed units of one batch, counted by status (packed, sold, recalled)."""

    batch: str
    total: int
    recalled: int
    by_status: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Lineage:
    """The lineage graph of `batch`: nodes and links in log order, unit tallies, and the IDs
    of the batches upstream (what it came from) and downstream (what a recall reaches)."""

    batch: str
    nodes: list[LineageNode]
    links: list[LineageLink]
    units: list[UnitTally]
    upstream: list[str]
    downstream: list[str]

    def to_json(self) -> dict[str, Any]:
        """The lineage as JSON data."""
        return asdict(self)


def _node(batch: BatchRecord, herb_name: Callable[[str], str]) -> LineageNode:
    return LineageNode(
        id=batch.id,
        herb=batch.herb,
        herb_name=herb_name(batch.herb),
        kind=batch.kind,
        status=batch.status,
        quality=batch.quality,
        owner=batch.owner,
        custodian=batch.custodian,
        quantity=batch.quantity,
        unit=batch.unit,
        created_index=batch.created_index,
    )


def _tallies(conn: Connection, batches: list[str]) -> list[UnitTally]:
    """Each batch's units counted by status, for the batches that have units."""
    return [
        UnitTally(batch, sum(c.values()), c["recalled"], dict(sorted(c.items())))
        for batch, c in sorted(status_counts(conn, batches).items())
    ]


def build_lineage(
    conn: Connection, batch_id: str, herb_name: Callable[[str], str] = str
) -> Lineage:
    """`batch_id` back to every origin and forward to every unit; NotFound if it is unknown."""
    back = trace_backward(conn, batch_id)
    forward = trace_forward(conn, batch_id)
    found = {b.id: b for b in (*back.batches, *forward.batches)}
    edges = {(e.parent, e.child, e.event_index): e for e in (*back.edges, *forward.edges)}
    types = entry_types(conn, {e.event_index for e in edges.values()})
    nodes = [_node(b, herb_name) for b in sorted(found.values(), key=_log_order)]
    links = [
        LineageLink(
            e.parent, e.child, types.get(e.event_index, "?"), e.event_index, e.quantity, e.unit
        )
        for e in sorted(edges.values(), key=lambda e: (e.event_index, e.parent, e.child))
    ]
    return Lineage(
        batch=batch_id,
        nodes=nodes,
        links=links,
        units=_tallies(conn, [n.id for n in nodes]),
        upstream=[b.id for b in back.batches if b.id != batch_id],
        downstream=[b.id for b in forward.batches if b.id != batch_id],
    )


def _log_order(batch: BatchRecord) -> tuple[int, str]:
    return batch.created_index, batch.id
