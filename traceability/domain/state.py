"""Reading and writing the domain index tables on the append transaction's connection."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.storage import tables
from traceability.storage.db import driver_rows, marks

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


def execute(conn: Connection, sql: str, params: Sequence[Any]) -> int:
    """Run one statement on the driver's cursor (`{m}` marks a parameter); its row count.

    The indexes' hot path: a driver statement costs a tenth of a compiled Core one.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql.replace("{m}", mark), tuple(params))
        return int(cursor.rowcount)
    finally:
        cursor.close()


def execute_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement for each row of parameters on the driver's cursor."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql.replace("{m}", mark), [tuple(r) for r in rows])
    finally:
        cursor.close()


def get_batch(conn: Connection, batch_id: str) -> BatchRecord | None:
    """The batch `batch_id`, or None."""
    rows = driver_rows(conn, _SELECT_BATCH + "= {m}", [batch_id])
    return BatchRecord(*rows[0]) if rows else None


def get_batches(conn: Connection, ids: Iterable[str]) -> dict[str, BatchRecord]:
    """The batches among `ids` that exist, by ID."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = driver_rows(conn, _SELECT_BATCH + f"IN ({marks(len(wanted))})", wanted)
    return {r[0]: BatchRecord(*r) for r in rows}


def existing_batch_ids(conn: Connection, ids: Iterable[str]) -> set[str]:
    """Those of `ids` that name a batch."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    sql = f"SELECT id FROM batches WHERE id IN ({marks(len(wanted))})"  # noqa: S608
    return {r[0] for r in driver_rows(conn, sql, wanted)}


def insert_batch(conn: Connection, record: BatchRecord) -> None:
    """Insert a new batch."""
    conn.execute(batches.insert().values(**{n: getattr(record, n) for n in _BATCH_COLUMNS}))


def update_batch(conn: Connection, batch_id: str, **values: Any) -> None:
    """Set columns of one batch (names from BatchRecord's fields)."""
    names = sorted(values)
    if not set(names) <= set(_BATCH_COLUMNS):
        raise ValueError(f"no such batch columns: {set(names) - set(_BATCH_COLUMNS)}")
    assignments = ", ".join(f"{n} = {{m}}" for n in names)
    sql = f"UPDATE batches SET {assignments} WHERE id = {{m}}"  # noqa: S608
    execute(conn, sql, [*(values[n] for n in names), batch_id])


def organisation_kind(conn: Connection, org_id: str) -> str | None:
    """The registered kind of an organisation, or None when it is not registered."""
    rows = driver_rows(conn, "SELECT kind FROM organisations WHERE id = {m}", [org_id])
    return str(rows[0][0]) if rows else None


def site_organisation(conn: Connection, site_id: str) -> str | None:
    """The organisation a registered site belongs to, or None when it is not registered."""
    rows = driver_rows(conn, "SELECT organisation FROM sites WHERE id = {m}", [site_id])
    return str(rows[0][0]) if rows else None


def add_events(conn: Connection, index: int, event_type: str, batch_ids: Iterable[str]) -> None:
    """Index entry `index` (of `event_type`) under each batch it concerns."""
    rows = [(b, index, event_type) for b in sorted(set(batch_ids))]
    if rows:
        sql = "INSERT INTO batch_events (batch, log_index, type) VALUES ({m}, {m}, {m})"
        execute_many(conn, sql, rows)


def add_edges(conn: Connection, index: int, edges: Sequence[tuple[str, str, str, str]]) -> None:
    """Add lineage edges (parent, child, quantity, unit) made by entry `index`."""
    if edges:
        sql = (
            "INSERT INTO lineage (parent, child, event_index, quantity, unit) "
            "VALUES ({m}, {m}, {m}, {m}, {m})"
        )
        execute_many(conn, sql, [(p, c, index, q, u) for p, c, q, u in edges])


def get_meta(conn: Connection, key: str) -> str | None:
    """A bookkeeping value, or None."""
    rows = driver_rows(conn, "SELECT value FROM domain_meta WHERE key = {m}", [key])
    return str(rows[0][0]) if rows else None


def set_meta(conn: Connection, key: str, value: str) -> None:
    """Set a bookkeeping value (update, else insert)."""
    if execute(conn, "UPDATE domain_meta SET value = {m} WHERE key = {m}", [value, key]) == 0:
        execute(conn, "INSERT INTO domain_meta (key, value) VALUES ({m}, {m})", [key, value])


def projected_through(conn: Connection) -> int:
    """The last log index the indexes reflect; -1 when none."""
    value = get_meta(conn, PROJECTED_THROUGH)
    return -1 if value is None else int(value)
