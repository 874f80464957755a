"""The domain's state for one append batch: read once per table, decided in memory, written once.

Applied one by one against the database, each entry of a batch costs several statements, and
on PostgreSQL every statement is a round trip to the server. A `WorkingSet` instead reads,
before the batch, the rows its entries will need — one statement per table: batches,
organisations, sites, shipments, units, sensor excursions, alerts (`prefetch`) — keeps them
in memory while the rules decide entry by entry in log order, so that a later entry sees
what an earlier one wrote, and writes what changed with one multi-row statement per table
and kind of change (`flush`, called once before the batch commits).

A key not read ahead is read on first use, so the prefetch changes the speed, never the
result. A key read and found absent is remembered as absent, and every write goes to memory
first: for any key it knows, memory holds the newest value. Nothing is ever deleted.

Rules that need a query over many rows (the downstream walk of a recall or of a failed test
on a used-up batch) call `flushed()`, which writes what is pending and returns the
connection; after a statement that changes batches or units behind the working set's back,
`forget_batches_and_units()` drops what memory holds of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from functools import cache
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection

from traceability.domain.state import BatchRecord
from traceability.storage.db import driver_rows, insert_rows, marks, run_many

_BATCH_COLUMNS = tuple(f.name for f in fields(BatchRecord))
_CHUNK = 500
"""Keys per prefetch statement on SQLite (an IN list); PostgreSQL takes one array."""


@dataclass(slots=True)
class Organisation:
    """A row of `organisations`."""

    name: str
    kind: str
    registered_index: int
    updated_index: int


@dataclass(slots=True)
class Site:
    """A row of `sites`."""

    organisation: str
    name: str
    kind: str
    registered_index: int
    updated_index: int


@dataclass(slots=True)
class ShipmentLine:
    """One batch of a shipment (a row of `shipments`)."""

    batch: str
    sender: str
    recipient: str
    to_site: str | None
    shipped_index: int
    received_index: int | None = None
    received_site: str | None = None


@dataclass(slots=True)
class Unit:
    """A packed unit (a row of `units`, keyed by GTIN and serial)."""

    lot: str
    batch: str
    status: str
    packed_index: int
    sold_index: int | None = None


@dataclass(slots=True)
class Excursion:
    """A sensor's open excursion on a batch (a row of `sensor_excursions`)."""

    started_at: str | None
    last_at: str | None
    alerted: bool


ALERT_COLUMNS = (
    "id",
    "kind",
    "severity",
    "batch",
    "subject",
    "detail",
    "evidence",
    "envelopes",
    "raised_at",
    "source_index",
    "logged_index",
)


K = TypeVar("K")
V = TypeVar("V")


class _Table(Generic[K, V]):
    """Rows of one table by key: known values (None: known absent), and what changed."""

    __slots__ = ("changed", "known", "new")

    def __init__(self) -> None:
        self.known: dict[K, V | None] = {}
        self.new: dict[K, None] = {}
        """Keys inserted in this batch (in order)."""
        self.changed: dict[K, None] = {}
        """Keys of rows that existed before this batch and were changed."""

    def missing(self, keys: Iterable[K]) -> list[K]:
        return [k for k in dict.fromkeys(keys) if k not in self.known]

    def put(self, key: K, value: V) -> None:
        """Set the row of `key` (insert when it was absent, else update)."""
        if self.known.get(key) is None and key not in self.new:
            self.new[key] = None
        elif key not in self.new:
            self.changed[key] = None
        self.known[key] = value

    def touch(self, key: K) -> None:
        """Note that the (mutable) row of an existing `key` was changed in place."""
        if key not in self.new:
            self.changed[key] = None

    def clear_writes(self) -> None:
        self.new.clear()
        self.changed.clear()


class WorkingSet:
    """The domain state tables as one append batch sees them; see the module docstring."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._array = conn.dialect.name == "postgresql"
        self._batches: _Table[str, BatchRecord] = _Table()
        self._organisations: _Table[str, Organisation] = _Table()
        self._sites: _Table[str, Site] = _Table()
        self._shipments: _Table[str, list[ShipmentLine]] = _Table()
        self._units: _Table[tuple[str, str], Unit] = _Table()
        self._excursions: _Table[tuple[str, str], Excursion] = _Table()
        self._alerts: _Table[str, dict[str, Any]] = _Table()
        self._events: list[tuple[str, int, str]] = []
        self._edges: list[tuple[str, str, int, str, str]] = []

    # Reading ahead

    def prefetch(
        self,
        *,
        batches: Iterable[str] = (),
        organisations: Iterable[str] = (),
        sites: Iterable[str] = (),
        shipments: Iterable[str] = (),
        units: Iterable[tuple[str, str]] = (),
        sales: Iterable[tuple[str, Sequence[str]]] = (),
        excursions: Iterable[tuple[str, str]] = (),
        alerts: Iterable[str] = (),
    ) -> None:
        """Read the rows of these keys not yet in memory, one statement per table.

        `sales` are (batch ID, serials): the units of that batch's GTIN. The batches of the
        shipments named, and the shipments of batches in transit, are read too.
        """
        named = list(shipments)
        self._load_shipments(named)
        carried = (x.batch for s in named for x in self._shipments.known.get(s) or ())
        self._load_batches([*batches, *carried])
        known = self._batches.known
        in_transit = [b.shipment for b in known.values() if b is not None and b.shipment]
        self._load_shipments(in_transit)
        self._load_organisations(organisations)
        self._load_sites(sites)
        sold = [
            (gtin, s)
            for batch_id, serials in sales
            if (b := known.get(batch_id)) is not None and (gtin := b.gtin)
            for s in serials
        ]
        self._load_units([*units, *sold])
        self._load_excursions(excursions)
        self._load_alerts(alerts)

    def _select(
        self, sql: str, column: str, keys: Sequence[Any], also: tuple[str, Sequence[Any]] = ("", ())
    ) -> list[tuple[Any, ...]]:
        """Rows of `sql` (ending in WHERE) whose `column` is one of `keys`, and, with `also`
        = (column, values), whose other column is one of those values."""
        if not keys:
            return []
        other, values = also
        if self._array:
            where = f"{column} = ANY({{m}})" + (f" AND {other} = ANY({{m}})" if other else "")
            params: list[Any] = [list(keys)] + ([list(values)] if other else [])
            return driver_rows(self.conn, f"{sql} {where}", params)
        rows: list[tuple[Any, ...]] = []
        extra = f" AND {other} IN ({marks(len(values))})" if other else ""
        for start in range(0, len(keys), _CHUNK):
            part = list(keys[start : start + _CHUNK])
            where = f"{column} IN ({marks(len(part))}){extra}"
            rows += driver_rows(self.conn, f"{sql} {where}", part + (list(values) if other else []))
        return rows

    def _load_batches(self, ids: Iterable[str]) -> None:
        wanted = self._batches.missing(ids)
        sql = f"SELECT {', '.join(_BATCH_COLUMNS)} FROM batches WHERE"  # noqa: S608
        for key in wanted:
            self._batches.known[key] = None
        for row in self._select(sql, "id", wanted):
            self._batches.known[row[0]] = BatchRecord(*row)

    def _load_organisations(self, ids: Iterable[str]) -> None:
        wanted = self._organisations.missing(ids)
        sql = "SELECT id, name, kind, registered_index, updated_index FROM organisations WHERE"
        for key in wanted:
            self._organisations.known[key] = None
        for row in self._select(sql, "id", wanted):
            self._organisations.known[row[0]] = Organisation(*row[1:])

    def _load_sites(self, ids: Iterable[str]) -> None:
        wanted = self._sites.missing(ids)
        sql = (
            "SELECT id, organisation, name, kind, registered_index, updated_index FROM sites WHERE"
        )
        for key in wanted:
            self._sites.known[key] = None
        for row in self._select(sql, "id", wanted):
            self._sites.known[row[0]] = Site(*row[1:])

    def _load_shipments(self, ids: Iterable[str]) -> None:
        wanted = self._shipments.missing(ids)
        sql = (
            "SELECT shipment, batch, sender, recipient, to_site, shipped_index, received_index, "
            "received_site FROM shipments WHERE"
        )
        found: dict[str, list[ShipmentLine]] = {}
        for row in self._select(sql, "shipment", wanted):
            found.setdefault(row[0], []).append(ShipmentLine(*row[1:]))
        for key in wanted:
            lines = found.get(key)
            self._shipments.known[key] = sorted(lines, key=lambda s: s.batch) if lines else None

    def _load_units(self, keys: Iterable[tuple[str, str]]) -> None:
        wanted = self._units.missing(keys)
        if not wanted:
            return
        for key in wanted:
            self._units.known[key] = None
        sql = "SELECT gtin, serial, lot, batch, status, packed_index, sold_index FROM units WHERE"
        wanted_set = set(wanted)
        gtins = sorted({g for g, _ in wanted})
        for row in self._select(sql, "serial", sorted({s for _, s in wanted}), ("gtin", gtins)):
            key = (row[0], row[1])
            if key in wanted_set:
                self._units.known[key] = Unit(*row[2:])

    def _load_excursions(self, keys: Iterable[tuple[str, str]]) -> None:
        wanted = self._excursions.missing(keys)
        if not wanted:
            return
        for key in wanted:
            self._excursions.known[key] = None
        sql = "SELECT sensor, batch, started_at, last_at, alerted FROM sensor_excursions WHERE"
        wanted_set = set(wanted)
        sensors = sorted({s for s, _ in wanted})
        for row in self._select(sql, "batch", sorted({b for _, b in wanted}), ("sensor", sensors)):
            key = (row[0], row[1])
            if key in wanted_set:
                self._excursions.known[key] = Excursion(row[2], row[3], bool(row[4]))

    def _load_alerts(self, ids: Iterable[str]) -> None:
        wanted = self._alerts.missing(ids)
        sql = f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts WHERE"  # noqa: S608
        for key in wanted:
            self._alerts.known[key] = None
        for row in self._select(sql, "id", wanted):
            self._alerts.known[row[0]] = dict(zip(ALERT_COLUMNS, row, strict=True))

    # Batches

    def get_batch(self, batch_id: str) -> BatchRecord | None:
        """The batch `batch_id`, or None."""
        if batch_id not in self._batches.known:
            self._load_batches([batch_id])
        return self._batches.known[batch_id]

    def get_batches(self, ids: Iterable[str]) -> dict[str, BatchRecord]:
        """The batches among `ids` that exist, by ID."""
        wanted = list(dict.fromkeys(ids))
        self._load_batches(wanted)
        known = self._batches.known
        return {i: b for i in wanted if (b := known[i]) is not None}

    def existing_batch_ids(self, ids: Iterable[str]) -> set[str]:
        """Those of `ids` that name a batch."""
        return set(self.get_batches(ids))

    def insert_batch(self, record: BatchRecord) -> None:
        """Record a new batch."""
        self._batches.put(record.id, record)

    def update_batch(self, batch_id: str, **values: Any) -> None:
        """Set columns of one batch (names from BatchRecord's fields)."""
        record = self.get_batch(batch_id)
        if record is None:
            raise KeyError(batch_id)
        self._batches.put(batch_id, replace(record, **values))

    # Organisations and sites

    def organisation_kind(self, org_id: str) -> str | None:
        """The registered kind of an organisation, or None when it is not registered."""
        if org_id not in self._organisations.known:
            self._load_organisations([org_id])
        row = self._organisations.known[org_id]
        return None if row is None else row.kind

    def register_organisation(self, org_id: str, name: str, kind: str, index: int) -> None:
        """Register an organisation as entry `index`, or update its name and kind."""
        self.organisation_kind(org_id)
        row = self._organisations.known[org_id]
        first = index if row is None else row.registered_index
        self._organisations.put(org_id, Organisation(name, kind, first, index))

    def site_organisation(self, site_id: str) -> str | None:
        """The organisation a registered site belongs to, or None when it is not registered."""
        if site_id not in self._sites.known:
            self._load_sites([site_id])
        row = self._sites.known[site_id]
        return None if row is None else row.organisation

    def register_site(
        self, site_id: str, organisation: str, name: str, kind: str, index: int
    ) -> None:
        """Register a site as entry `index`, or update its name and kind (not its owner)."""
        self.site_organisation(site_id)
        row = self._sites.known[site_id]
        if row is None:
            self._sites.put(site_id, Site(organisation, name, kind, index, index))
        else:
            self._sites.put(
                site_id, Site(row.organisation, name, kind, row.registered_index, index)
            )

    # Shipments

    def shipment(self, shipment_id: str) -> list[ShipmentLine] | None:
        """The lines of a shipment, by batch ID; None when it was never shipped."""
        if shipment_id not in self._shipments.known:
            self._load_shipments([shipment_id])
        return self._shipments.known[shipment_id]

    def add_shipment(self, shipment_id: str, lines: list[ShipmentLine]) -> None:
        """Record a new shipment."""
        self._shipments.put(shipment_id, sorted(lines, key=lambda s: s.batch))

    def receive_shipment(self, shipment_id: str, index: int, site: str) -> None:
        """Mark every line of a shipment received as entry `index` at `site`."""
        lines = self.shipment(shipment_id)
        if lines is None:
            raise KeyError(shipment_id)
        for line in lines:
            line.received_index, line.received_site = index, site
        self._shipments.touch(shipment_id)

    # Units

    def units(self, gtin: str, serials: Iterable[str]) -> dict[str, Unit]:
        """The packed units of `gtin` among `serials` that exist, by serial."""
        wanted = [(gtin, s) for s in dict.fromkeys(serials)]
        self._load_units(wanted)
        known = self._units.known
        return {s: u for (_, s) in wanted if (u := known[(gtin, s)]) is not None}

    def add_units(self, gtin: str, units: dict[str, Unit]) -> None:
        """Record newly packed units, by serial."""
        for serial, unit in units.items():
            self._units.put((gtin, serial), unit)

    def sell_units(self, gtin: str, serials: Iterable[str], index: int) -> None:
        """Mark existing units sold as entry `index`."""
        for serial in serials:
            unit = self._units.known.get((gtin, serial))
            if unit is None:
                raise KeyError((gtin, serial))
            unit.status, unit.sold_index = "sold", index
            self._units.touch((gtin, serial))

    # Index rows

    def add_events(self, index: int, event_type: str, batch_ids: Iterable[str]) -> None:
        """Index entry `index` (of `event_type`) under each batch it concerns."""
        self._events.extend((b, index, event_type) for b in sorted(set(batch_ids)))

    def add_edges(self, index: int, edges: Sequence[tuple[str, str, str, str]]) -> None:
        """Add lineage edges (parent, child, quantity, unit) made by entry `index`."""
        self._edges.extend((p, c, index, qty, u) for p, c, qty, u in edges)

    # Sensor excursions

    def excursion(self, sensor: str, batch: str) -> Excursion | None:
        """The stored excursion state of (sensor, batch), or None."""
        key = (sensor, batch)
        if key not in self._excursions.known:
            self._load_excursions([key])
        return self._excursions.known[key]

    def save_excursion(self, sensor: str, batch: str, excursion: Excursion) -> None:
        """Store the excursion state of (sensor, batch)."""
        self._excursions.put((sensor, batch), excursion)

    # Alerts

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        """The stored alert `alert_id` (column → value), or None."""
        if alert_id not in self._alerts.known:
            self._load_alerts([alert_id])
        return self._alerts.known[alert_id]

    def put_alert(self, row: dict[str, Any]) -> None:
        """Store a new alert, or replace a stored one (same ID)."""
        self._alerts.put(str(row["id"]), row)

    # Writing

    def flushed(self) -> Connection:
        """Write what is pending and return the connection, for a query over many rows."""
        self.flush()
        return self.conn

    def recalled(self, batch_ids: Iterable[str]) -> None:
        """Note that a statement (run right after `flushed()`) marked these batches and every
        unit packed into them recalled, as it did in the database."""
        reached = set(batch_ids)
        for key, batch in self._batches.known.items():
            if batch is not None and key in reached:
                self._batches.known[key] = replace(batch, status="recalled")
        for unit in self._units.known.values():
            if unit is not None and unit.batch in reached:
                unit.status = "recalled"

    def flush(self) -> None:
        """Write every pending change: one multi-row statement per table and kind of change."""
        b, o, s, a = self._batches, self._organisations, self._sites, self._alerts
        self._write(
            "batches",
            _BATCH_COLUMNS,
            [_fields(_known(b, k)) for k in b.new],
            "id",
            [_fields(_known(b, k)) for k in b.changed],
        )
        self._write(
            "organisations",
            ("id", *_ORG),
            [(k, *_fields(_known(o, k))) for k in o.new],
            "id",
            [(k, *_fields(_known(o, k))) for k in o.changed],
        )
        self._write(
            "sites",
            ("id", *_SITE),
            [(k, *_fields(_known(s, k))) for k in s.new],
            "id",
            [(k, *_fields(_known(s, k))) for k in s.changed],
        )
        t = self._shipments
        self._write(
            "shipments",
            ("shipment", *_LINE),
            [(k, *_fields(x)) for k in t.new for x in _known(t, k)],
            "shipment, batch",
            [(k, *_fields(x)) for k in t.changed for x in _known(t, k)],
        )
        u = self._units
        self._write(
            "units",
            ("gtin", "serial", *_UNIT),
            [(*k, *_fields(_known(u, k))) for k in u.new],
            "gtin, serial",
            [(*k, *_fields(_known(u, k))) for k in u.changed],
        )
        e = self._excursions
        self._write(
            "sensor_excursions",
            ("sensor", "batch", *_EXCURSION),
            [(*k, *_fields(_known(e, k))) for k in e.new],
            "sensor, batch",
            [(*k, *_fields(_known(e, k))) for k in e.changed],
        )
        self._write(
            "alerts",
            ALERT_COLUMNS,
            [tuple(_known(a, k)[c] for c in ALERT_COLUMNS) for k in a.new],
            "id",
            [tuple(_known(a, k)[c] for c in ALERT_COLUMNS) for k in a.changed],
        )
        if self._edges:
            cols = ("parent", "child", "event_index", "quantity", "unit")
            insert_rows(self.conn, "lineage", cols, self._edges)
        if self._events:
            insert_rows(self.conn, "batch_events", ("batch", "log_index", "type"), self._events)
        for table in (b, o, s, t, u, e, a):
            table.clear_writes()
        self._edges = []
        self._events = []

    def _write(
        self,
        table: str,
        columns: Sequence[str],
        inserts: list[tuple[Any, ...]],
        key: str,
        updates: list[tuple[Any, ...]],
    ) -> None:
        """Insert rows, and update rows by `key` (its first columns), setting every other one."""
        if inserts:
            insert_rows(self.conn, table, columns, inserts)
        if not updates:
            return
        keys = [k.strip() for k in key.split(",")]
        width = len(keys)
        rest = columns[width:]
        assignments = ", ".join(f"{c} = {{m}}" for c in rest)
        where = " AND ".join(f"{k} = {{m}}" for k in keys)
        sql = f"UPDATE {table} SET {assignments} WHERE {where}"  # noqa: S608
        run_many(self.conn, sql, [(*row[width:], *row[:width]) for row in updates])


_ORG = tuple(f.name for f in fields(Organisation))
_SITE = tuple(f.name for f in fields(Site))
_LINE = tuple(f.name for f in fields(ShipmentLine))
_UNIT = tuple(f.name for f in fields(Unit))
_EXCURSION = tuple(f.name for f in fields(Excursion))


def _fields(row: Any) -> tuple[Any, ...]:
    """A dataclass row's values, in field order."""
    cls: Any = type(row)
    return tuple(getattr(row, name) for name in _names(cls))


@cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _known(table: _Table[K, V], key: K) -> V:
    value = table.known[key]
    if value is None:
        raise KeyError(key)
    return value
