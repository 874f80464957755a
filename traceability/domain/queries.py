"""Read models for callers: batches, units with their Digital Links, batch events, alerts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.digital_link import DigitalLink, normalise_gtin
from traceability.domain import state
from traceability.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class BatchView:
    """A batch as the indexes hold it."""

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
    in_transit: str | None
    gtin: str | None
    lot: str | None
    planted_on: str | None
    harvested_on: str | None
    growing_years: int | None
    created_index: int

    def to_json(self) -> dict[str, Any]:
        """The batch as JSON data."""
        return asdict(self)


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


@dataclass(frozen=True)
class EventRef:
    """A log entry recorded on a batch."""

    log_index: int
    type: str


@dataclass(frozen=True)
class AlertView:
    """An alert for regulators; `logged_index` is its own log entry once logged."""

    id: str
    kind: str
    severity: str
    batch: str | None
    subject: str | None
    detail: str
    evidence: dict[str, Any]
    envelopes: list[str]
    raised_at: str
    source_index: int | None
    logged_index: int | None

    def to_json(self) -> dict[str, Any]:
        """The alert as JSON data."""
        return asdict(self)


def get_batch(conn: Connection, batch_id: str) -> BatchView:
    """The batch `batch_id`; NotFound if it is not recorded."""
    record = state.get_batch(conn, batch_id)
    if record is None:
        raise NotFound(f"batch {batch_id} is not recorded")
    return batch_view(asdict(record))


def batch_view(row: Mapping[Any, Any]) -> BatchView:
    """The view of a `batches` row (its `shipment` column shown as `in_transit`)."""
    values = dict(row)
    values["in_transit"] = values.pop("shipment")
    return BatchView(**values)


def _link(gtin: str, lot: str, serial: str, host: str) -> str:
    return DigitalLink(gtin, lot=lot, serial=serial).uri(host) if host else ""


def _unit(row: sa.Row[Any], host: str) -> UnitView:
    gtin, serial, lot, batch, status, packed, sold = tuple(row)
    return UnitView(gtin, serial, lot, batch, status, packed, sold, _link(gtin, lot, serial, host))


_UNIT_COLUMNS = ("gtin", "serial", "lot", "batch", "status", "packed_index", "sold_index")


def get_unit(conn: Connection, gtin: str, serial: str, host: str) -> UnitView:
    """The unit (GTIN + serial); NotFound if never packed, InvalidInput for a malformed GTIN.

    `host` is the Digital Link host ("" for no link).
    """
    t = state.units
    gtin = normalise_gtin(gtin)  # GTIN-8/12/13/14 with a valid check digit, as GTIN-14
    row = conn.execute(
        sa.select(*(t.c[c] for c in _UNIT_COLUMNS)).where(t.c.gtin == gtin, t.c.serial == serial)
    ).first()
    if row is None:
        raise NotFound(f"no unit {gtin} serial {serial} was packed")
    return _unit(row, host)


def batch_units(conn: Connection, batch_id: str, host: str) -> list[UnitView]:
    """The units packed into a batch, by serial."""
    t = state.units
    rows = conn.execute(
        sa.select(*(t.c[c] for c in _UNIT_COLUMNS))
        .where(t.c.batch == batch_id)
        .order_by(t.c.gtin, t.c.serial)
    )
    return [_unit(r, host) for r in rows]


def batch_events(conn: Connection, batch_id: str) -> list[EventRef]:
    """The log entries recorded on a batch, in log order."""
    t = state.batch_events
    rows = conn.execute(
        sa.select(t.c.log_index, t.c.type).where(t.c.batch == batch_id).order_by(t.c.log_index)
    )
    return [EventRef(int(i), kind) for i, kind in rows]


def _alert(row: sa.Row[Any]) -> AlertView:
    m = dict(row._mapping)
    m["evidence"] = json.loads(m["evidence"])
    m["envelopes"] = json.loads(m["envelopes"])
    return AlertView(**m)


def get_alert(conn: Connection, alert_id: str) -> AlertView:
    """One alert; NotFound if unknown."""
    row = conn.execute(sa.select(state.alerts).where(state.alerts.c.id == alert_id)).first()
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return _alert(row)


def list_alerts(
    conn: Connection,
    *,
    kind: str | None = None,
    batch: str | None = None,
    before: str | None = None,
    limit: int = 100,
) -> list[AlertView]:
    """Alerts newest first (by time raised, then ID); `before` pages on from that alert's ID."""
    if not 1 <= limit <= 1000:
        raise InvalidInput(f"limit must be 1–1000, got {limit}")
    t = state.alerts
    query = sa.select(t)
    if kind is not None:
        query = query.where(t.c.kind == kind)
    if batch is not None:
        query = query.where(t.c.batch == batch)
    if before is not None:
        anchor = get_alert(conn, before)
        query = query.where(
            sa.or_(
                t.c.raised_at < anchor.raised_at,
                sa.and_(t.c.raised_at == anchor.raised_at, t.c.id < anchor.id),
            )
        )
    rows = conn.execute(query.order_by(t.c.raised_at.desc(), t.c.id.desc()).limit(limit))
    return [_alert(r) for r in rows]
