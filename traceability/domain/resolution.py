"""The domain's reads behind a product's facts (traceability/facts).

The batch a Digital Link names, the organisations and sites registered, and whether
anything was recorded on a lineage since a given log size. The consumer read model reads
the index tables only through these functions, the lineage and `state.get_batch`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.domain import state
from traceability.domain.listings import OrganisationView, SiteView
from traceability.storage.db import driver_rows, marks


def unit_batch(conn: Connection, gtin: str, lot: str | None, serial: str) -> str | None:
    """The packed batch of the unit with `gtin` and `serial` if its lot is `lot`, else None."""
    u = state.units
    row = conn.execute(
        sa.select(u.c.batch).where(u.c.gtin == gtin, u.c.serial == serial, u.c.lot == lot)
    ).first()
    return None if row is None else str(row[0])


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


def organisations_by_id(conn: Connection, ids: Iterable[str]) -> dict[str, OrganisationView]:
    """The registered organisations among `ids`, by ID."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    t = state.organisations
    rows = conn.execute(sa.select(t).where(t.c.id.in_(wanted)))
    return {r.id: OrganisationView(**r._mapping) for r in rows}


def site_by_id(conn: Connection, site_id: str) -> SiteView | None:
    """The registered site `site_id`, or None."""
    t = state.sites
    row = conn.execute(sa.select(t).where(t.c.id == site_id)).first()
    return None if row is None else SiteView(**row._mapping)


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
