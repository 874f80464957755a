"""Who holds what a recall of a batch reaches, and who already sold units of it.

The reach is the batch and everything made from it. Holders are the organisations holding
a reached batch with material left (its custodian; in transit, the shipment is named), with
how much is left; sellers are the organisations whose retail sales sold units of a reached
batch (the signer of each sale), with how many. Sales are counted by the sale itself
(`traceability/domain/holdings.py`), not by the unit's current status, so a preview and the
summary after the recall give the same counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy.engine import Connection

from traceability.domain.holdings import sales, unit_counts
from traceability.domain.organisations import organisations_by_id
from traceability.domain.state import BatchRecord
from traceability.facts.entries import read_events
from traceability.log.signers import signers_by_id


@dataclass(frozen=True, slots=True)
class Holder:
    """`organisation` holds `quantity` `unit` of `batch` (in transit on `shipment` if set)."""

    organisation: str
    name: str
    batch: str
    herb: str
    kind: str
    quantity: str
    unit: str
    shipment: str | None


@dataclass(frozen=True, slots=True)
class Seller:
    """`organisation` sold `units` units of `batch` to consumers in `sales` retail sales."""

    organisation: str
    name: str
    batch: str
    units: int
    sales: int


@dataclass(frozen=True)
class RecallReach:
    """The batches a recall reaches, their units (ever sold, still unsold, recalled), who
    holds the goods and who sold units."""

    batches: int
    units: int
    sold: int
    unsold: int
    recalled: int
    holders: list[Holder]
    sellers: list[Seller]


def _left(batch: BatchRecord) -> Decimal:
    try:
        return Decimal(batch.remaining)
    except InvalidOperation:
        return Decimal(0)


def recall_reach(conn: Connection, reached: Sequence[BatchRecord]) -> RecallReach:
    """The reach of a recall whose batches (the recalled one and all downstream) are
    `reached`."""
    ids = [b.id for b in reached]
    counts = unit_counts(conn, ids)
    sold_by = sales(conn, ids)
    events = read_events(conn, [s.sold_index for s in sold_by])
    signers = signers_by_id(conn, {str(e.signer) for e in events.values()})
    seller_of = {
        i: signers[e.signer].organisation if e.signer in signers else str(e.signer)
        for i, e in events.items()
    }
    holding = [b for b in reached if _left(b) > 0]
    org_ids = {b.custodian for b in holding} | set(seller_of.values())
    names = {k: v.name for k, v in organisations_by_id(conn, org_ids).items()}
    holders = [
        Holder(
            b.custodian,
            names.get(b.custodian, b.custodian),
            b.id,
            b.herb,
            b.kind,
            b.remaining,
            b.unit,
            b.shipment,
        )
        for b in holding
    ]
    units: Counter[tuple[str, str]] = Counter()
    entries: Counter[tuple[str, str]] = Counter()
    for sale in sold_by:
        key = (seller_of.get(sale.sold_index, "?"), sale.batch)
        units[key] += sale.units
        entries[key] += 1
    sellers = [
        Seller(org, names.get(org, org), batch, n, entries[(org, batch)])
        for (org, batch), n in sorted(units.items())
    ]
    total = sum(c.total for c in counts.values())
    sold = sum(c.sold for c in counts.values())
    return RecallReach(
        batches=len(reached),
        units=total,
        sold=sold,
        unsold=total - sold,
        recalled=sum(c.recalled for c in counts.values()),
        holders=holders,
        sellers=sellers,
    )
