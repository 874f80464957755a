"""Packed batches by the lot (批号) printed on their boxes, with or without the GTIN.

A box shows its GTIN and lot (and a unit's serial), never the batch ID; a regulator holding
the box reads the batch from these. A lot alone may be used by more than one product (two
GTINs): every match is returned and the caller says which.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.domain import state

MAX_MATCHES = 20
"""Most batches a lot alone is matched to (a lot is unique within a GTIN)."""


@dataclass(frozen=True, slots=True)
class LotMatch:
    """A packed batch with its GTIN and lot."""

    batch: str
    gtin: str
    lot: str


def batches_with_lot(conn: Connection, lot: str, gtin: str | None = None) -> list[LotMatch]:
    """The packed batches with `lot` (under `gtin` when given), oldest first."""
    b = state.batches
    query = sa.select(b.c.id, b.c.gtin, b.c.lot).where(b.c.lot == lot, b.c.gtin.is_not(None))
    if gtin is not None:
        query = query.where(b.c.gtin == gtin)
    rows = conn.execute(query.order_by(b.c.created_index, b.c.id).limit(MAX_MATCHES))
    return [LotMatch(str(r.id), str(r.gtin), str(r.lot)) for r in rows]
