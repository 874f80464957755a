"""A batch's lineage as one graph: every batch upstream and downstream, the events joining them.

The graph is the union of the batch's backward trace (to every origin: planting, herd) and
its forward trace (to every batch made from it), with each lineage edge labelled by the type
of the log entry that made it (harvest, processing, split, merge, pack …) and each batch's
packed units tallied by status. It is what the regulator page draws (`api/lineage_svg.py`).

Kinds, statuses and qualities come with their Chinese words (`traceability/facts/terms_zh.py`),
and `reach` says what a recall of the batch reaches: who holds the goods and how much, who
sold units and how many (`traceability/facts/recall_reach.py`). Units are counted as sold
by their sale, which a recall does not undo, so the counts agree before and after one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from traceability.domain.batches import BatchRecord
from traceability.domain.history import entry_types
from traceability.domain.holdings import unit_counts
from traceability.domain.lineage import TraceEdge, trace_backward, trace_forward
from traceability.domain.units import status_counts
from traceability.facts import terms_zh
from traceability.facts.recall_reach import RecallReach, recall_reach


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
    kind_zh: str
    status_zh: str
    quality_zh: str
    unit_zh: str


@dataclass(frozen=True, slots=True)
class LineageLink:
    """`quantity` `unit` of `parent` went into `child` by the `event` at log entry `event_index`."""

    parent: str
    child: str
    event: str
    event_index: int
    quantity: str
    unit: str
    event_zh: str


@dataclass(frozen=True, slots=True)
class UnitTally:
    """The packed units of one batch, counted by status now (packed, sold, recalled), and
    `sold`: how many were ever sold (a recall marks sold units recalled; they stay sold)."""

    batch: str
    total: int
    recalled: int
    sold: int
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
    reach: RecallReach

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
        kind_zh=terms_zh.BATCH_KIND.get(batch.kind, batch.kind),
        status_zh=terms_zh.BATCH_STATUS.get(batch.status, batch.status),
        quality_zh=terms_zh.QUALITY.get(batch.quality, batch.quality),
        unit_zh=terms_zh.UNIT.get(batch.unit, batch.unit),
    )


def _tallies(conn: Connection, batches: list[str]) -> list[UnitTally]:
    """Each batch's units counted by status, for the batches that have units."""
    ever_sold = {b: c.sold for b, c in unit_counts(conn, batches).items()}
    return [
        UnitTally(batch, sum(c.values()), c["recalled"], ever_sold[batch], dict(sorted(c.items())))
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
        _link(e, types.get(e.event_index, "?"))
        for e in sorted(edges.values(), key=lambda e: (e.event_index, e.parent, e.child))
    ]
    return Lineage(
        batch=batch_id,
        nodes=nodes,
        links=links,
        units=_tallies(conn, [n.id for n in nodes]),
        upstream=[b.id for b in back.batches if b.id != batch_id],
        downstream=[b.id for b in forward.batches if b.id != batch_id],
        reach=recall_reach(conn, forward.batches),
    )


def _link(edge: TraceEdge, event: str) -> LineageLink:
    return LineageLink(
        edge.parent,
        edge.child,
        event,
        edge.event_index,
        edge.quantity,
        edge.unit,
        terms_zh.EVENT.get(event, event),
    )


def _log_order(batch: BatchRecord) -> tuple[int, str]:
    return batch.created_index, batch.id
