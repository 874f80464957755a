"""Packed units: one by GTIN and serial with its GS1 Digital Link, a batch's units, tallies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.digital_link import DigitalLink, normalise_gtin
from traceability.domain import state
from traceability.errors import NotFound


@dataclass(frozen=True)
class UnitView:
    """A packed unit: its identity, batch, status, and GS1 Digital Link URI."""

    gtin: str
    serial: str
    lot: str
    batch: str
    status: str
    packed_index: int
    sold_index: int | None
    digital_link: str

    def to_json(self) -> dict[str, Any]:
        """The unit as JSON data."""
        return asdict(self)


_COLUMNS = ("gtin", "serial", "lot", "batch", "status", "packed_index", "sold_index")


def _link(gtin: str, lot: str, serial: str, host: str) -> str:
    return DigitalLink(gtin, lot=lot, serial=serial).uri(host) if host else ""


def _unit(row: sa.Row[Any], host: str) -> UnitView:
    gtin, serial, lot, batch, status, packed, sold = tuple(row)
    return UnitView(gtin, serial, lot, batch, status, packed, sold, _link(gtin, lot, serial, host))


def get_unit(conn: Connection, gtin: str, serial: str, host: str = "") -> UnitView:
    """The unit (GTIN + serial); NotFound if never packed, InvalidInput for a malformed GTIN.

    `host` is the Digital Link host ("" for no link).
    """
    t = state.units
    gtin = normalise_gtin(gtin)  # GTIN-8/12/13/14 with a valid check digit, as GTIN-14
    row = conn.execute(
        sa.select(*(t.c[c] for c in _COLUMNS)).where(t.c.gtin == gtin, t.c.serial == serial)
    ).first()
    if row is None:
        raise NotFound(f"no unit {gtin} serial {serial} was packed")
    return _unit(row, host)


def batch_units(conn: Connection, batch_id: str, host: str = "") -> list[UnitView]:
    """The units packed into a batch, by GTIN and serial; `host` as for `get_unit`."""
    t = state.units
    rows = conn.execute(
        sa.select(*(t.c[c] for c in _COLUMNS))
        .where(t.c.batch == batch_id)
        .order_by(t.c.gtin, t.c.serial)
    )
    return [_unit(r, host) for r in rows]


def status_counts(conn: Connection, batch_ids: Iterable[str]) -> dict[str, Counter[str]]:
    """The units of each of `batch_ids` counted by status; batches without units are absent."""
    t = state.units
    counts: dict[str, Counter[str]] = {}
    rows = conn.execute(
        sa.select(t.c.batch, t.c.status, sa.func.count())
        .where(t.c.batch.in_(list(batch_ids)))
        .group_by(t.c.batch, t.c.status)
    )
    for batch, status, count in rows:
        counts.setdefault(str(batch), Counter())[str(status)] += int(count)
    return counts


def unit_batch(conn: Connection, gtin: str, lot: str | None, serial: str) -> str | None:
    """The packed batch of the unit with `gtin` and `serial` if its lot is `lot`, else None."""
    u = state.units
    row = conn.execute(
        sa.select(u.c.batch).where(u.c.gtin == gtin, u.c.serial == serial, u.c.lot == lot)
    ).first()
    return None if row is None else str(row[0])


def lock_unit(conn: Connection, gtin: str, serial: str) -> UnitLock | None:
    """The unit's packed batch and lot, its row locked until the transaction ends
    (PostgreSQL; SQLite's writer holds the whole database); None if it is unknown."""
    u = state.units
    query = sa.select(u.c.batch, u.c.lot).where(u.c.gtin == gtin, u.c.serial == serial)
    row = conn.execute(query if conn.dialect.name == "sqlite" else query.with_for_update()).first()
    return None if row is None else UnitLock(str(row.batch), str(row.lot))


@dataclass(frozen=True, slots=True)
class UnitLock:
    """What a locked unit's row says: its packed batch and its lot."""

    batch: str
    lot: str


def unit_keys(conn: Connection) -> list[tuple[str, str, str, str]]:
    """Every unit as (GTIN, lot, serial, packed batch), in that order."""
    u = state.units
    columns = (u.c.gtin, u.c.lot, u.c.serial, u.c.batch)
    rows = conn.execute(sa.select(*columns).order_by(*columns))
    return [(str(g), str(lot), str(s), str(b)) for g, lot, s, b in rows]


def subject_of(gtin: str, serial: str) -> str:
    """The alert subject naming a unit as GS1 element strings: `(01)<GTIN>(21)<serial>`."""
    return f"(01){gtin}(21){serial}"
