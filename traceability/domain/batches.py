"""Batches as the indexes hold them: one batch by ID, and filtered, keyset-paged lists.

A batch is the stored record (`state.BatchRecord`); every reader gets that shape, and the
HTTP views are derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.domain import state
from traceability.domain.paging import check_limit
from traceability.domain.state import BatchRecord
from traceability.errors import NotFound

__all__ = ["BatchFilter", "BatchRecord", "held_by", "list_batches", "read_batch"]


@dataclass(frozen=True)
class BatchFilter:
    """What a batch list is narrowed to; None matches anything.

    `organisation` keeps the batches it owns or holds; `site` those that began there.
    """

    herb: str | None = None
    status: str | None = None
    owner: str | None = None
    custodian: str | None = None
    site: str | None = None
    organisation: str | None = None


def read_batch(conn: Connection, batch_id: str) -> BatchRecord:
    """The batch `batch_id`; NotFound if it is not recorded."""
    record = state.get_batch(conn, batch_id)
    if record is None:
        raise NotFound(f"batch {batch_id} is not recorded")
    return record


def count_batches(conn: Connection) -> int:
    """How many batches are recorded."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(state.batches)).scalar_one())


def list_batches(
    conn: Connection, where: BatchFilter, *, after: str | None = None, limit: int = 50
) -> list[BatchRecord]:
    """Batches matching `where`, by ID, after the ID `after`; at most `limit` rows."""
    check_limit(limit)
    t = state.batches
    query = sa.select(t)
    for column in ("herb", "status", "owner", "custodian"):
        value = getattr(where, column)
        if value is not None:
            query = query.where(t.c[column] == value)
    if where.site is not None:
        query = query.where(t.c.origin_site == where.site)
    if where.organisation is not None:
        query = query.where(
            sa.or_(t.c.owner == where.organisation, t.c.custodian == where.organisation)
        )
    if after is not None:
        query = query.where(t.c.id > after)
    return [BatchRecord(**r._mapping) for r in conn.execute(query.order_by(t.c.id).limit(limit))]


def held_by(organisation: str) -> sa.Select[tuple[str]]:
    """The IDs of the batches `organisation` owns or holds, as a subquery."""
    t = state.batches
    return sa.select(t.c.id).where(sa.or_(t.c.owner == organisation, t.c.custodian == organisation))


def lot_batch(conn: Connection, gtin: str, lot: str | None) -> str | None:
    """The first batch packed under `gtin` and `lot`, or None."""
    b = state.batches
    row = conn.execute(
        sa.select(b.c.id)
        .where(b.c.gtin == gtin, b.c.lot == lot)
        .order_by(b.c.created_index)
        .limit(1)
    ).first()
    return None if row is None else str(row[0])
