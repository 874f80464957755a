"""The `scans` table's look-ups: a unit's scans by ordinal, its marked scan, its farthest place.

A unit is (GTIN-14, serial); each of its scans has an ordinal `number` from 1 (see
`ScanRow` in traceability/storage/tables.py for the columns).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.scans.marks import Place, distance_km
from traceability.storage import tables

scans: sa.Table = tables.scans


def utc(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands it back without its zone)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def utc_text(value: datetime) -> str:
    """A stored time as RFC 3339 UTC to the second: `2026-10-12T06:30:00Z`."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def place_of(row: Any) -> Place | None:
    """The place a scan row was made at, None when the scanner shared none."""
    return Place(row.lat, row.lon) if row.lat is not None else None


def _unit(gtin: str, serial: str) -> sa.ColumnElement[bool]:
    return (scans.c.gtin == gtin) & (scans.c.serial == serial)


def scan_at(conn: Connection, gtin: str, serial: str, number: int) -> Any:
    """The unit's scan with ordinal `number` (it must exist)."""
    return conn.execute(sa.select(scans).where(_unit(gtin, serial), scans.c.number == number)).one()


def last_scan(conn: Connection, gtin: str, serial: str) -> Any:
    """The unit's latest scan, None before the first."""
    query = sa.select(scans).where(_unit(gtin, serial)).order_by(scans.c.number.desc())
    return conn.execute(query.limit(1)).first()


def marked_scan(conn: Connection, gtin: str, serial: str) -> Any:
    """The unit's scan that first crossed a warning threshold, None while none has."""
    query = sa.select(scans).where(_unit(gtin, serial), scans.c.signal.is_not(None))
    return conn.execute(query).first()


def seen_before(conn: Connection, gtin: str, serial: str, scanner: str) -> bool:
    """Whether the scanner (its mark) has scanned the unit before."""
    query = sa.select(scans.c.id).where(_unit(gtin, serial), scans.c.scanner == scanner)
    return conn.execute(query.limit(1)).first() is not None


def farthest(
    conn: Connection, gtin: str, serial: str, place: Place, before: int
) -> tuple[int, Place | None]:
    """The whole km from `place` to the farthest place of the unit's scans numbered below
    `before`, and that place (the first in (lat, lon) order on a tie); (0, None) if none."""
    rows = conn.execute(
        sa.select(scans.c.lat, scans.c.lon)
        .where(_unit(gtin, serial), scans.c.number < before, scans.c.lat.is_not(None))
        .distinct()
        .order_by(scans.c.lat, scans.c.lon)
    )
    best: tuple[int, Place | None] = (0, None)
    for other in (Place(r.lat, r.lon) for r in rows):
        km = int(distance_km(place, other))
        if best[1] is None or km > best[0]:
            best = (km, other)
    return best
