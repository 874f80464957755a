"""The domain index tables, the one shape of a batch, and the bookkeeping the projection keeps.

While an append batch is applied, the rules read and write these tables through a
`WorkingSet` (working_set.py); the functions here serve everything else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.storage import tables
from traceability.storage.db import driver_rows, run

organisations: sa.Table = tables.organisations
sites: sa.Table = tables.sites
batches: sa.Table = tables.batches
lineage: sa.Table = tables.lineage
units: sa.Table = tables.units
batch_events: sa.Table = tables.batch_events
shipments: sa.Table = tables.shipments
alerts: sa.Table = tables.alerts
excursions: sa.Table = tables.sensor_excursions
meta: sa.Table = tables.domain_meta

INDEX_TABLES: tuple[sa.Table, ...] = (
    organisations,
    sites,
    batches,
    lineage,
    units,
    batch_events,
    shipments,
    alerts,
    excursions,
    meta,
)
"""Every table rebuilt from the log by reindex, in a fixed order."""

PROJECTED_THROUGH = "projected_through"


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """A row of `batches`: the one shape of a batch for every reader."""

    id: str
    herb: str
    kind: str
    origin_site: str | None
    owner: str
    custodian: str
    quantity: str
    unit: str
    remaining: str
    status: str
    quality: str
    shipment: str | None
    gtin: str | None
    lot: str | None
    planted_on: str | None
    harvested_on: str | None
    growing_years: int | None
    created_index: int

    def to_json(self) -> dict[str, Any]:
        """The batch as JSON data."""
        return asdict(self)


_BATCH_COLUMNS = [f.name for f in fields(BatchRecord)]
_SELECT_BATCH = f"SELECT {', '.join(_BATCH_COLUMNS)} FROM batches WHERE id "  # noqa: S608


def get_batch(conn: Connection, batch_id: str) -> BatchRecord | None:
    """The batch `batch_id`, or None."""
    rows = driver_rows(conn, _SELECT_BATCH + "= {m}", [batch_id])
    return BatchRecord(*rows[0]) if rows else None


def organisation_kind(conn: Connection, org_id: str) -> str | None:
    """The registered kind of an organisation, or None when it is not registered."""
    rows = driver_rows(conn, "SELECT kind FROM organisations WHERE id = {m}", [org_id])
    return str(rows[0][0]) if rows else None


def get_meta(conn: Connection, key: str) -> str | None:
    """A bookkeeping value, or None."""
    rows = driver_rows(conn, "SELECT value FROM domain_meta WHERE key = {m}", [key])
    return str(rows[0][0]) if rows else None


def set_meta(conn: Connection, key: str, value: str) -> None:
    """Set a bookkeeping value (update, else insert)."""
    if run(conn, "UPDATE domain_meta SET value = {m} WHERE key = {m}", [value, key]) == 0:
        run(conn, "INSERT INTO domain_meta (key, value) VALUES ({m}, {m})", [key, value])


def projected_through(conn: Connection) -> int:
    """The last log index the indexes reflect; -1 when none."""
    value = get_meta(conn, PROJECTED_THROUGH)
    return -1 if value is None else int(value)
