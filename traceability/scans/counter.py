"""Consumer scans of unit codes: recorded, counted, and turned into a counterfeit signal.

A scan is recorded when a consumer's page for a unit opens (the page posts it); lookups by
handhelds and regulators' tools are not scans. Each keeps its time, a place only when the
visitor's browser shared one (rounded to 0.1°), and a keyed hash of the scanner's network
instead of its address (`traceability/scans/marks.py`).

Two signals say a code may have been copied onto counterfeit goods, and both warn the
consumer on the unit's page:

* `many_scanners`: more than HERBTRACE_SCAN_WARN_COUNT distinct scanners. A product bought
  once is scanned by its buyer's household again and again (which counts once); a copied
  label is scanned by strangers everywhere;
* `far_apart`: two places the unit was scanned from lie more than
  HERBTRACE_SCAN_WARN_DISTANCE_KM apart (great circle).

Only `many_scanners` reaches regulators. A scanner is the network the server itself saw the
request come from (the peer address, which the API takes from a forwarded header only when
the peer is a trusted proxy), counted per IPv4 /24 or IPv6 /48, so one client, or any number
of clients in one such network, counts once and can never cross the threshold alone;
`far_apart` rests on places the browser claims, which anyone can make up, so it warns the
page and nothing more. A unit sold twice (signed evidence, `DomainPolicy`) raises the same
alert.

The scan that first crosses `many_scanners` is marked with it, under a lock on the unit (a
row lock on PostgreSQL, the write lock on SQLite), so one scan per unit ever is. It raises
the unit's one `counterfeit_scan` alert through an `AlertSink` (`Domain.raise_alert`, which
logs it; `traceability/scans/alerts.py`). Should the process stop between the mark and the
alert, the next scan of the unit raises it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.engine import Connection, Engine

from traceability.digital_link import DigitalLink
from traceability.domain.units import lock_unit, subject_of
from traceability.errors import InvalidInput, NotFound
from traceability.scans.alerts import AlertSink, alert_stored, ensure_alert
from traceability.scans.marks import Place, scanner_mark
from traceability.scans.store import (
    farthest,
    last_scan,
    marked_scan,
    place_of,
    scan_at,
    scans,
    seen_before,
    utc,
)
from traceability.settings import Settings
from traceability.storage.db import WRITE

Signal = Literal["many_scanners", "far_apart"]

ALERTING: tuple[Signal, ...] = ("many_scanners",)
"""The signals that raise a regulator alert: those resting on what the server observed."""


@dataclass(frozen=True, slots=True)
class ScanWarning:
    """A threshold the unit's scans are over: the signal, what was seen, and the limit."""

    signal: Signal
    observed: int
    limit: int


@dataclass(frozen=True, slots=True)
class ScanSummary:
    """A unit's scans as of the scan just recorded (`number` is its ordinal, 1 for the first)."""

    number: int
    scanners: int
    far_km: int
    place: Place | None
    first_at: datetime
    first_place: Place | None
    warnings: tuple[ScanWarning, ...]
    alerted: bool


class ScanCounter:
    """Records scans of units and raises a unit's counterfeit alert once. Thread-safe."""

    def __init__(self, settings: Settings, engine: Engine, alerts: AlertSink) -> None:
        self.settings = settings
        self.engine = engine
        self.alerts = alerts

    def record(
        self, link: DigitalLink, client: str, place: Place | None, *, at: datetime | None = None
    ) -> ScanSummary:
        """Record a scan of the unit `link` names from `client` (its address), at `place`.

        NotFound when no such unit was packed, InvalidInput for a link without a serial;
        either way nothing is recorded. `place` must be coarse (`scan_marks.coarse_place`).
        """
        if link.serial is None:
            raise InvalidInput("scans are counted per unit: the link needs a serial (AI 21)")
        gtin, serial = link.gtin, link.serial
        when = (at or datetime.now(UTC)).astimezone(UTC)
        with self.engine.connect() as raw:
            conn = raw.execution_options(**{WRITE: True})
            with conn.begin():
                batch = self._lock_unit(conn, link)
                row = self._insert(conn, gtin, serial, when, self._mark(client), place)
                first = scan_at(conn, gtin, serial, 1)
                marked = marked_scan(conn, gtin, serial)
                warnings = self.warnings(row["scanners"], row["far_km"])
                observed = [w for w in warnings if w.signal in ALERTING]
                if observed and marked is None:
                    mark_first = scans.update().where(scans.c.id == row["id"])
                    conn.execute(mark_first.values(signal=observed[0].signal))
                    marked = scan_at(conn, gtin, serial, row["number"])
        if marked is not None:
            ensure_alert(self.engine, self.settings, self.alerts, link, batch, marked)
        alerted = marked is not None or alert_stored(self.engine, subject_of(gtin, serial))
        return ScanSummary(
            number=row["number"],
            scanners=row["scanners"],
            far_km=row["far_km"],
            place=place,
            first_at=utc(first.scanned_at),
            first_place=place_of(first),
            warnings=tuple(warnings),
            alerted=alerted,
        )

    def warnings(self, scanners: int, far_km: int) -> list[ScanWarning]:
        """Return the thresholds these totals are over, `many_scanners` first."""
        found = []
        if scanners > self.settings.scan_warn_count:
            found.append(ScanWarning("many_scanners", scanners, self.settings.scan_warn_count))
        if far_km > self.settings.scan_warn_distance_km:
            found.append(ScanWarning("far_apart", far_km, self.settings.scan_warn_distance_km))
        return found

    def _mark(self, client: str) -> str:
        return scanner_mark(self.settings.scan_salt, client)

    @staticmethod
    def _lock_unit(conn: Connection, link: DigitalLink) -> str:
        """Lock the unit's row (PostgreSQL) and return its packed batch; NotFound if unknown."""
        found = lock_unit(conn, link.gtin, str(link.serial))
        if found is None or found.lot != link.lot:
            raise NotFound(
                f"no unit is recorded under GTIN {link.gtin} lot {link.lot} serial {link.serial}"
            )
        return str(found.batch)

    @staticmethod
    def _insert(
        conn: Connection, gtin: str, serial: str, when: datetime, mark: str, place: Place | None
    ) -> dict[str, Any]:
        """Insert the scan with the unit's running totals; return the row as inserted."""
        last = last_scan(conn, gtin, serial)
        number, scanners, far_km = (last.number, last.scanners, last.far_km) if last else (0, 0, 0)
        if not seen_before(conn, gtin, serial, mark):
            scanners += 1
        if place is not None:
            far_km = max(far_km, farthest(conn, gtin, serial, place, number + 1)[0])
        row: dict[str, Any] = {
            "gtin": gtin,
            "serial": serial,
            "number": number + 1,
            "scanned_at": when,
            "lat": place.lat if place else None,
            "lon": place.lon if place else None,
            "scanner": mark,
            "scanners": scanners,
            "far_km": far_km,
        }
        inserted = conn.execute(scans.insert().values(**row)).inserted_primary_key
        row["id"] = inserted[0] if inserted else None
        return row
