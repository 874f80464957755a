"""Which log entries `export epcis --batch ID` exports: the batch's lineage, from the domain.

The domain's lineage traces (`traceability.domain.lineage`) give the batches: the backward
trace of ID (ID and every batch it came from, back to its origins) and its forward trace (ID
and every batch made from it, down to the packed units). The export holds:

* every event the domain indexes under a batch of either trace (`batch_events`): the events
  that made, moved, tested, observed, packed, sold, recalled or alerted on those batches —
  so also an event that took another portion of an upstream batch (its mass balance needs
  it), but nothing recorded only on that other portion's products;
* the latest registration of every organisation and site (master data), so the document
  imports into an empty log.

The indexes must reflect the whole log (`IndexesBehind` otherwise; `DomainPolicy.catch_up`
or `herbtrace reindex` brings them up to date).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine

from traceability.domain import state
from traceability.domain.history import events_under, packed_products, registration_indices
from traceability.domain.lineage import trace_backward, trace_forward
from traceability.errors import ConfigurationError
from traceability.log.reading import log_size
from traceability.storage.db import read_transaction


class IndexesBehind(ConfigurationError):
    """The domain indexes do not reflect every log entry yet, so a trace would miss some."""


@dataclass(frozen=True)
class BatchSelection:
    """The entries of one batch's lineage export, in log order."""

    batch: str
    upstream: list[str]
    """The backward trace's batches, the batch itself included, in order of creation."""
    downstream: list[str]
    """The forward trace's batches, the batch itself included, in order of creation."""
    events: list[int]
    """Log indices of the events indexed under any of those batches, ascending."""
    registrations: list[int]
    """Log indices of the latest registration of every organisation and site, ascending."""
    products: list[tuple[str, str, str]]
    """(packed batch, GTIN, lot) of every packed batch those events concern."""


def require_current(conn: Connection) -> None:
    """Raise IndexesBehind unless the indexes reflect every entry of the log."""
    through, size = state.projected_through(conn), log_size(conn)
    if through < size - 1:
        raise IndexesBehind(
            f"the domain indexes reflect entries up to {through} of a log of {size}: "
            "run `herbtrace reindex` (or record through the domain) first"
        )


def select_batch(engine: Engine, batch: str) -> BatchSelection:
    """Return what a batch's export holds; NotFound if the batch is not recorded."""
    with read_transaction(engine) as conn:
        require_current(conn)
        back = trace_backward(conn, batch)
        forward = trace_forward(conn, batch)
        upstream = [b.id for b in back.batches]
        downstream = [b.id for b in forward.batches]
        events = {e.log_index for e in back.events}
        events |= events_under(conn, sorted(set(downstream) - set(upstream)))
        ordered = sorted(events)
        return BatchSelection(
            batch=batch,
            upstream=upstream,
            downstream=downstream,
            events=ordered,
            registrations=registration_indices(conn),
            products=packed_products(conn, ordered),
        )
