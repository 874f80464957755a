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

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cache
from operator import attrgetter
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection

from traceability.domain.state import BatchRecord
from traceability.storage.db import driver_rows_many, marks, run, write_rows

_BATCH_COLUMNS = tuple(f.name for f in fields(BatchRecord))
_SEPARATOR = "\x1f"
"""Joins text keys sent to PostgreSQL as one parameter (the ASCII unit separator)."""
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


_Load = tuple[list[tuple[str, list[Any]]], Callable[[list[tuple[Any, ...]]], None]]
"""A read: its statements, and what stores their rows."""


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
        self._meta: _Table[str, str] = _Table()
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
        meta: Iterable[str] = (),
    ) -> None:
        """Read the rows of these keys not yet in memory: one statement per table, sent
        one after another, then one more group for what depends on them.

        `sales` are (batch ID, serials): the units of that batch's GTIN. The batches of the
        shipments named, and the shipments of batches in transit, are read in the second
        group; `meta` names bookkeeping values (`get_meta`).
        """
        named = list(shipments)
        self._run(
            self._batches_load(batches),
            self._shipments_load(named),
            self._organisations_load(organisations),
            self._sites_load(sites),
            self._units_load(units),
            self._excursions_load(excursions),
            self._alerts_load(alerts),
            self._meta_load(meta),
        )
        known = self._batches.known
        carried = [x.batch for s in named for x in self._shipments.known.get(s) or ()]
        in_transit = [b.shipment for b in known.values() if b is not None and b.shipment]
        sold = [
            (gtin, s)
            for batch_id, serials in sales
            if (b := known.get(batch_id)) is not None and (gtin := b.gtin)
            for s in serials
        ]
        self._run(
            self._batches_load(carried), self._shipments_load(in_transit), self._units_load(sold)
        )

    def _run(self, *loads: _Load) -> None:
        """Run the loads' statements and hand each its rows."""
        statements = [st for sts, _ in loads for st in sts]
        results = driver_rows_many(self.conn, statements, planned=False) if statements else []
        at = 0
        for sts, store in loads:
            store([row for rows in results[at : at + len(sts)] for row in rows])
            at += len(sts)

    def _statements(
        self, sql: str, column: str, keys: Sequence[Any], also: tuple[str, Sequence[Any]] = ("", ())
    ) -> list[tuple[str, list[Any]]]:
        """Statements for the rows of `sql` (ending in WHERE) whose `column` is one of `keys`,
        and, with `also` = (column, values), whose other column is one of those values."""
        other, values = also
        out = []
        for clause, params in self._in(column, keys):
            if other:
                extra, more = next(self._in(other, values, chunk=len(values) or 1))
                clause, params = f"{clause} AND {extra}", params + more
            out.append((f"{sql} {clause}", params))
        return out

    def _select(self, sql: str, column: str, keys: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows of `sql` (ending in WHERE) whose `column` is one of `keys`."""
        statements = self._statements(sql, column, keys)
        return [
            row for rows in driver_rows_many(self.conn, statements, planned=False) for row in rows
        ]

    def _in(
        self, column: str, keys: Sequence[Any], chunk: int = _CHUNK
    ) -> Iterator[tuple[str, list[Any]]]:
        """`column` is one of `keys`, as (condition, parameters): one array on PostgreSQL, IN
        lists of at most `chunk` on SQLite; nothing for no keys.

        On PostgreSQL text keys travel as one string the server splits at U+001F (which no
        identifier, serial or key of these tables may contain): psycopg would otherwise
        inspect every element of a list in Python to choose its array type.
        """
        if not keys:
            return
        if self._array:
            if all(isinstance(k, str) and k and _SEPARATOR not in k for k in keys):
                split = f"string_to_array({{m}}, chr({ord(_SEPARATOR)}))"
                yield f"{column} = ANY({split})", [_SEPARATOR.join(keys)]
            else:
                yield f"{column} = ANY({{m}})", [list(keys)]
            return
        for start in range(0, len(keys), chunk):
            part = list(keys[start : start + chunk])
            yield f"{column} IN ({marks(len(part))})", part

    def _batches_load(self, ids: Iterable[str]) -> _Load:
        wanted = self._batches.missing(ids)
        sql = f"SELECT {', '.join(_BATCH_COLUMNS)} FROM batches WHERE"  # noqa: S608
        for key in wanted:
            self._batches.known[key] = None

        def store(rows: list[tuple[Any, ...]]) -> None:
            for row in rows:
                self._batches.known[row[0]] = BatchRecord(*row)

        return self._statements(sql, "id", wanted), store

    def _organisations_load(self, ids: Iterable[str]) -> _Load:
        wanted = self._organisations.missing(ids)
        sql = "SELECT id, name, kind, registered_index, updated_index FROM organisations WHERE"
        for key in wanted:
            self._organisations.known[key] = None

        def store(rows: list[tuple[Any, ...]]) -> None:
            for row in rows:
                self._organisations.known[row[0]] = Organisation(*row[1:])

        return self._statements(sql, "id", wanted), store

    def _sites_load(self, ids: Iterable[str]) -> _Load:
        wanted = self._sites.missing(ids)
        sql = (
            "SELECT id, organisation, name, kind, registered_index, updated_index FROM sites WHERE"
        )
        for key in wanted:
            self._sites.known[key] = None

        def store(rows: list[tuple[Any, ...]]) -> None:
            for row in rows:
                self._sites.known[row[0]] = Site(*row[1:])

        return self._statements(sql, "id", wanted), store

    def _shipments_load(self, ids: Iterable[str]) -> _Load:
        wanted = self._shipments.missing(ids)
        sql = (
            "SELECT shipment, batch, sender, recipient, to_site, shipped_index, received_index, "
            "received_site FROM shipments WHERE"
        )
        for key in wanted:
            self._shipments.known[key] = None

        def store(rows: list[tuple[Any, ...]]) -> None:
            found: dict[str, list[ShipmentLine]] = {}
            for row in rows:
                found.setdefault(row[0], []).append(ShipmentLine(*row[1:]))
            for key, lines in found.items():
                self._shipments.known[key] = sorted(lines, key=lambda x: x.batch)

        return self._statements(sql, "shipment", wanted), store

    def _units_load(self, keys: Iterable[tuple[str, str]]) -> _Load:
        wanted = self._units.missing(keys)
        for key in wanted:
            self._units.known[key] = None
        sql = "SELECT gtin, serial, lot, batch, status, packed_index, sold_index FROM units WHERE"
        wanted_set = set(wanted)
        gtins = sorted({g for g, _ in wanted})

        def store(rows: list[tuple[Any, ...]]) -> None:
            for row in rows:
                key = (row[0], row[1])
                if key in wanted_set:
                    self._units.known[key] = Unit(*row[2:])

        serials = sorted({s for _, s in wanted})
        return self._statements(sql, "serial", serials, ("gtin", gtins)), store

    def _excursions_load(self, keys: Iterable[tuple[str, str]]) -> _Load:
        wanted = self._excursions.missing(keys)
        for key in wanted:
            self._excursions.known[key] = None
        sql = "SELECT sensor, batch, started_at, last_at, alerted FROM sensor_excursions WHERE"
        wanted_set = set(wanted)
        sensors = sorted({s for s, _ in wanted})

        def store(rows: list[tuple[Any, ...]]) -> None:
            for row in rows:
                key = (row[0], row[1])
                if key in wanted_set:
                    self._excursions.known[key] = Excursion(row[2], row[3], bool(row[4]))

        batches = sorted({b for _, b in wanted})
        return self._statements(sql, "batch", batches, ("sensor", sensors)), store

    def _alerts_load(self, ids: Iterable[str]) -> _Load:
        wanted = self._alerts.missing(ids)
        sql = f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts WHERE"  # noqa: S608
        for key in wanted:
            self._alerts.known[key] = None

        def store(rows: list[tuple[Any, ...]]) -> None:
            for row in rows:
                self._alerts.known[row[0]] = dict(zip(ALERT_COLUMNS, row, strict=True))

        return self._statements(sql, "id", wanted), store

    def _meta_load(self, keys: Iterable[str]) -> _Load:
        wanted = self._meta.missing(keys)
        for key in wanted:
            self._meta.known[key] = None

        def store(rows: list[tuple[Any, ...]]) -> None:
            for row in rows:
                self._meta.known[row[0]] = str(row[1])

        return self._statements("SELECT key, value FROM domain_meta WHERE", "key", wanted), store

    def _load_batches(self, ids: Iterable[str]) -> None:
        self._run(self._batches_load(ids))

    def _load_organisations(self, ids: Iterable[str]) -> None:
        self._run(self._organisations_load(ids))

    def _load_sites(self, ids: Iterable[str]) -> None:
        self._run(self._sites_load(ids))

    def _load_shipments(self, ids: Iterable[str]) -> None:
        self._run(self._shipments_load(ids))

    def _load_units(self, keys: Iterable[tuple[str, str]]) -> None:
        self._run(self._units_load(keys))

    def _load_excursions(self, keys: Iterable[tuple[str, str]]) -> None:
        self._run(self._excursions_load(keys))

    def _load_alerts(self, ids: Iterable[str]) -> None:
        self._run(self._alerts_load(ids))

    # Bookkeeping

    def get_meta(self, key: str) -> str | None:
        """A bookkeeping value of `domain_meta`, or None."""
        if key not in self._meta.known:
            self._run(self._meta_load([key]))
        return self._meta.known[key]

    def set_meta(self, key: str, value: str) -> None:
        """Set a bookkeeping value."""
        self.get_meta(key)
        self._meta.put(key, value)

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

    def recall(self, batch_ids: Sequence[str]) -> tuple[int, int]:
        """Mark batches, and every unit packed into them, recalled; the units that were sold
        and all the units, before marking.

        The units are counted and marked by statements (a recall may reach thousands), after
        writing what is pending; the batches in memory, as any other change.
        """
        self.flush()
        statuses = [
            r[0] for r in self._select("SELECT status FROM units WHERE", "batch", batch_ids)
        ]
        for clause, params in self._in("batch", batch_ids):
            run(self.conn, f"UPDATE units SET status = 'recalled' WHERE {clause}", params)  # noqa: S608
        reached = set(batch_ids)
        for unit in self._units.known.values():
            if unit is not None and unit.batch in reached:
                unit.status = "recalled"
        for batch in self.get_batches(batch_ids).values():
            self.update_batch(batch.id, status="recalled")
        return statuses.count("sold"), len(statuses)

    def flush(self) -> None:
        """Write every pending change: one multi-row statement per table and kind of change.

        On PostgreSQL large inserts go by COPY and everything else in one pipeline, so a
        small batch's writes cost one round trip (`storage.db.write_rows`).
        """
        b, o, s, a = self._batches, self._organisations, self._sites, self._alerts
        t, u, e, m = self._shipments, self._units, self._excursions, self._meta
        writes = [
            _Write(
                "batches",
                _BATCH_COLUMNS,
                ("id",),
                [_fields(_known(b, k)) for k in b.new],
                [_fields(_known(b, k)) for k in b.changed],
            ),
            _Write(
                "organisations",
                ("id", *_ORG),
                ("id",),
                [(k, *_fields(_known(o, k))) for k in o.new],
                [(k, *_fields(_known(o, k))) for k in o.changed],
            ),
            _Write(
                "sites",
                ("id", *_SITE),
                ("id",),
                [(k, *_fields(_known(s, k))) for k in s.new],
                [(k, *_fields(_known(s, k))) for k in s.changed],
            ),
            _Write(
                "shipments",
                ("shipment", *_LINE),
                ("shipment", "batch"),
                [(k, *_fields(x)) for k in t.new for x in _known(t, k)],
                [(k, *_fields(x)) for k in t.changed for x in _known(t, k)],
            ),
            _Write(
                "units",
                ("gtin", "serial", *_UNIT),
                ("gtin", "serial"),
                [(*k, *_fields(_known(u, k))) for k in u.new],
                [(*k, *_fields(_known(u, k))) for k in u.changed],
            ),
            _Write(
                "sensor_excursions",
                ("sensor", "batch", *_EXCURSION),
                ("sensor", "batch"),
                [(*k, *_fields(_known(e, k))) for k in e.new],
                [(*k, *_fields(_known(e, k))) for k in e.changed],
            ),
            _Write(
                "alerts",
                ALERT_COLUMNS,
                ("id",),
                [tuple(_known(a, k)[c] for c in ALERT_COLUMNS) for k in a.new],
                [tuple(_known(a, k)[c] for c in ALERT_COLUMNS) for k in a.changed],
            ),
            _Write(
                "domain_meta",
                ("key", "value"),
                ("key",),
                [(k, _known(m, k)) for k in m.new],
                [(k, _known(m, k)) for k in m.changed],
            ),
            _Write(
                "lineage", ("parent", "child", "event_index", "quantity", "unit"), (), self._edges
            ),
            _Write("batch_events", ("batch", "log_index", "type"), (), self._events),
        ]
        write_rows(
            self.conn,
            [(w.table, w.columns, w.inserts) for w in writes],
            [(w.update_sql(), w.update_rows()) for w in writes if w.updates],
        )
        for table in (b, o, s, t, u, e, a, m):
            table.clear_writes()
        self._edges = []
        self._events = []


@dataclass(frozen=True, slots=True)
class _Write:
    """What a flush writes to one table: new rows, and changed rows (by `key`, its first
    columns)."""

    table: str
    columns: Sequence[str]
    key: Sequence[str]
    inserts: list[tuple[Any, ...]]
    updates: list[tuple[Any, ...]] = field(default_factory=list)

    def update_sql(self) -> str:
        rest = self.columns[len(self.key) :]
        assignments = ", ".join(f"{c} = {{m}}" for c in rest)
        where = " AND ".join(f"{k} = {{m}}" for k in self.key)
        return f"UPDATE {self.table} SET {assignments} WHERE {where}"  # noqa: S608

    def update_rows(self) -> list[tuple[Any, ...]]:
        width = len(self.key)
        return [(*row[width:], *row[:width]) for row in self.updates]


_ORG = tuple(f.name for f in fields(Organisation))
_SITE = tuple(f.name for f in fields(Site))
_LINE = tuple(f.name for f in fields(ShipmentLine))
_UNIT = tuple(f.name for f in fields(Unit))
_EXCURSION = tuple(f.name for f in fields(Excursion))


def _fields(row: Any) -> tuple[Any, ...]:
    """A dataclass row's values, in field order."""
    cls: Any = type(row)
    return _getter(cls)(row)  # type: ignore[no-any-return]


@cache
def _getter(cls: type) -> attrgetter[Any]:
    """Gets every field of a dataclass with more than one field, as a tuple."""
    return attrgetter(*(f.name for f in fields(cls)))


def _known(table: _Table[K, V], key: K) -> V:
    value = table.known[key]
    if value is None:
        raise KeyError(key)
    return value
