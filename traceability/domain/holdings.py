"""What a recall reaches, as counts that do not change when it is recorded.

A recall marks units `recalled` whatever they were, so counting units by status says
"sold 0" after a recall that reached sold units. Whether a unit was sold is its own fact,
kept in `sold_index` (the retail sale's log entry) through the recall: these reads count
sales by it, so the same sales are counted before and after.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.domain import state


@dataclass(frozen=True, slots=True)
class UnitCounts:
    """A batch's packed units: how many, how many were ever sold, how many are recalled."""

    batch: str
    total: int
    sold: int
    recalled: int


@dataclass(frozen=True, slots=True)
class SaleCount:
    """`units` units of `batch` sold by the retail sale at log entry `sold_index`."""

    batch: str
    sold_index: int
    units: int


def unit_counts(conn: Connection, batch_ids: Iterable[str]) -> dict[str, UnitCounts]:
    """Each batch's units counted (sold: ever sold, recalled or not); no units: absent."""
    u = state.units
    sold = sa.func.sum(sa.case((u.c.sold_index.is_not(None), 1), else_=0))
    recalled = sa.func.sum(sa.case((u.c.status == "recalled", 1), else_=0))
    rows = conn.execute(
        sa.select(u.c.batch, sa.func.count(), sold, recalled)
        .where(u.c.batch.in_(list(batch_ids)))
        .group_by(u.c.batch)
    )
    return {str(b): UnitCounts(str(b), int(n), int(s or 0), int(r or 0)) for b, n, s, r in rows}


def sales(conn: Connection, batch_ids: Iterable[str]) -> list[SaleCount]:
    """The retail sales of the batches' units, each with how many units it sold."""
    u = state.units
    rows = conn.execute(
        sa.select(u.c.batch, u.c.sold_index, sa.func.count())
        .where(u.c.batch.in_(list(batch_ids)), u.c.sold_index.is_not(None))
        .group_by(u.c.batch, u.c.sold_index)
        .order_by(u.c.sold_index, u.c.batch)
    )
    return [SaleCount(str(b), int(i), int(n)) for b, i, n in rows]
