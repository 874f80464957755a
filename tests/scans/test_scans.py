"""Scan counting on both databases: first scans, distinct scanners, far-apart places, and one
logged `counterfeit_scan` alert per unit, even under concurrent scans or after a crash."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from read_support import read
from sqlalchemy.engine import Engine

from traceability.demo.seed import seed_events
from traceability.digital_link import DigitalLink
from traceability.domain.alerts import list_alerts
from traceability.domain.service import Domain
from traceability.domain.units import subject_of
from traceability.errors import InvalidInput, NotFound
from traceability.scans.counter import ScanCounter
from traceability.scans.marks import Place, distance_km
from traceability.scans.store import scans
from traceability.settings import Settings

PACKED_EVENTS = 33  # the registrations and the first 红参 story up to its pack
GTIN, LOT, BATCH = "09520123000110", "HS260000000", "JA-HS-2026-00000-P"
CHANGCHUN, GUANGZHOU, JILIN = Place("43.9", "125.3"), Place("23.1", "113.3"), Place("43.8", "126.5")
T0 = datetime(2026, 10, 12, 6, 30, tzinfo=UTC)


def unit(serial: str = "RS00000000001") -> DigitalLink:
    """The link of a packed 红参 unit of the first story."""
    return DigitalLink(GTIN, lot=LOT, serial=serial)


@pytest.fixture(name="domain")
def _domain(settings: Settings, engine: Engine) -> Iterator[Domain]:
    """A domain on the test's database holding the first packed 红参 batch of the demo."""
    domain = Domain(settings.model_copy(update={"scan_warn_count": 3}), engine)
    assert {r.status for r in seed_events(domain, PACKED_EVENTS)} == {"accepted"}
    yield domain
    domain.close()


@pytest.fixture(name="counter")
def _counter(domain: Domain) -> ScanCounter:
    """Scan counting that warns above 3 distinct scanners or 300 km, alerting through `domain`."""
    return ScanCounter(domain.settings, domain.engine, domain)


def rows(engine: Engine) -> list[dict[str, Any]]:
    """Every stored scan, in order."""
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(scans).order_by(scans.c.id))]


def counterfeit_alerts(domain: Domain) -> list[Any]:
    """The counterfeit_scan alerts regulators would see."""
    return read(domain.engine, list_alerts, kind="counterfeit_scan")


def test_the_first_scan_is_remembered(counter: ScanCounter) -> None:
    """The first scan's time and place are what every later scan reports as the first."""
    first = counter.record(unit(), "203.0.113.5", CHANGCHUN, at=T0)
    assert (first.number, first.scanners, first.far_km) == (1, 1, 0)
    assert (first.first_at, first.first_place, first.place) == (T0, CHANGCHUN, CHANGCHUN)
    later = counter.record(unit(), "198.51.100.7", None, at=T0 + timedelta(days=3))
    assert later.number == 2
    assert (later.first_at, later.first_place, later.place) == (T0, CHANGCHUN, None)
    assert later.warnings == ()
    assert not later.alerted


def test_a_scan_keeps_no_address_and_only_a_coarse_place(
    counter: ScanCounter, engine: Engine
) -> None:
    """The stored row holds a 32-hex mark, not the address, and the 0.1° place it was given."""
    counter.record(unit(), "203.0.113.5", JILIN, at=T0)
    [row] = rows(engine)
    assert "203.0.113" not in str(row)
    assert len(row["scanner"]) == 32
    assert (row["lat"], row["lon"]) == ("43.8", "126.5")


def test_units_are_counted_apart(counter: ScanCounter) -> None:
    """Scans of one unit do not count for another unit of the same batch."""
    counter.record(unit("RS00000000001"), "203.0.113.5", None)
    counter.record(unit("RS00000000001"), "198.51.100.7", None)
    other = counter.record(unit("RS00000000002"), "192.0.2.1", None)
    assert (other.number, other.scanners) == (1, 1)


def test_one_network_counts_once(counter: ScanCounter) -> None:
    """Reloads and neighbours on one /24 count as one scanner; scans still count each time."""
    for host in (5, 5, 77, 200):
        summary = counter.record(unit(), f"203.0.113.{host}", None)
    assert (summary.number, summary.scanners) == (4, 1)
    assert summary.warnings == ()


def test_too_many_scanners_warn_and_alert_once(counter: ScanCounter, domain: Domain) -> None:
    """Above 3 distinct scanners the scan warns, and regulators get exactly one logged alert."""
    networks = [f"198.51.{n}.9" for n in range(3)]
    summaries = [counter.record(unit(), a, None) for a in networks]
    assert all(s.warnings == () for s in summaries)
    assert counterfeit_alerts(domain) == []
    crossing = counter.record(unit(), "192.0.2.44", None)
    assert [(w.signal, w.observed, w.limit) for w in crossing.warnings] == [("many_scanners", 4, 3)]
    assert crossing.alerted
    for n in range(4, 8):
        assert counter.record(unit(), f"198.51.{n}.9", None).warnings[0].observed == n + 1
    [alert] = counterfeit_alerts(domain)
    assert (alert.batch, alert.subject, alert.severity) == (
        BATCH,
        subject_of(GTIN, "RS00000000001"),
        "warning",
    )
    assert alert.evidence["signal"] == "many_scanners"
    assert (alert.evidence["scan"], alert.evidence["scanners"]) == (4, 4)
    assert alert.logged_index is not None  # it is in the log, signed by the rules signer
    _, _, entry = domain.ledger.entry(alert.logged_index)
    assert entry.payload()["body"]["kind"] == "counterfeit_scan"


def test_far_apart_places_warn_but_alert_no_one(counter: ScanCounter, domain: Domain) -> None:
    """Scans from 长春 and then 广州 warn with their distance; nearby places do not. Places
    are what the browser claims, so regulators get no alert."""
    assert counter.record(unit(), "203.0.113.5", CHANGCHUN).warnings == ()
    near = counter.record(unit(), "203.0.113.5", JILIN)  # about 100 km apart
    assert near.warnings == ()
    assert near.far_km == int(distance_km(CHANGCHUN, JILIN))
    far = counter.record(unit(), "203.0.113.5", GUANGZHOU)
    km = int(distance_km(JILIN, GUANGZHOU))  # 吉林 is farther from 广州 than 长春 is
    assert km > int(distance_km(CHANGCHUN, GUANGZHOU))
    assert [(w.signal, w.observed, w.limit) for w in far.warnings] == [("far_apart", km, 300)]
    assert not far.alerted
    assert counterfeit_alerts(domain) == []


def test_a_unit_raises_one_alert_whatever_it_crosses(counter: ScanCounter, domain: Domain) -> None:
    """Crossing the distance raises nothing; crossing the scanner threshold then raises the
    unit's one alert, and scans after it raise no second one."""
    counter.record(unit(), "203.0.113.5", CHANGCHUN)
    counter.record(unit(), "198.51.100.5", GUANGZHOU)
    for n in range(6):
        last = counter.record(unit(), f"192.0.{n}.1", None)
    assert {w.signal for w in last.warnings} == {"many_scanners", "far_apart"}
    assert [a.evidence["signal"] for a in counterfeit_alerts(domain)] == ["many_scanners"]


class FailingOnce:
    """An alert sink that fails its first call, as if the process stopped before alerting."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.calls = 0

    def raise_alert(self, kind: str, severity: str, detail: str, **kw: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("stopped between the mark and the alert")
        return self.domain.raise_alert(kind, severity, detail, **kw)


def test_an_interrupted_alert_is_raised_by_the_next_scan(domain: Domain, engine: Engine) -> None:
    """If alerting fails after the scan was marked, the next scan raises that same alert."""
    sink = FailingOnce(domain)
    counter = ScanCounter(domain.settings, engine, sink)
    for n in range(3):
        counter.record(unit(), f"198.51.{n}.5", None)
    with pytest.raises(RuntimeError, match="stopped"):
        counter.record(unit(), "198.51.100.5", None)
    assert counterfeit_alerts(domain) == []
    signals = [r["signal"] for r in rows(engine)]
    assert signals == [None, None, None, "many_scanners"]  # the scan is kept
    counter.record(unit(), "192.0.2.1", None)
    ScanCounter(domain.settings, engine, domain).record(unit(), "192.0.2.2", None)
    [alert] = counterfeit_alerts(domain)
    assert (alert.evidence["scan"], alert.evidence["signal"]) == (4, "many_scanners")
    assert sink.calls == 2


def test_concurrent_scans_mark_one_crossing(counter: ScanCounter, domain: Domain) -> None:
    """Scans racing from many networks get distinct ordinals, and one alert is raised."""
    addresses = [f"10.{n}.0.1" for n in range(12)]
    with ThreadPoolExecutor(6) as pool:
        summaries = list(pool.map(lambda a: counter.record(unit(), a, None), addresses))
    assert sorted(s.number for s in summaries) == list(range(1, 13))
    assert sorted(s.scanners for s in summaries) == list(range(1, 13))
    assert [r["signal"] for r in rows(domain.engine) if r["signal"]] == ["many_scanners"]
    assert len(counterfeit_alerts(domain)) == 1


@pytest.mark.parametrize(
    ("link", "error", "message"),
    [
        (DigitalLink(GTIN, lot=LOT, serial="RS99999999999"), NotFound, "no unit is recorded"),
        (DigitalLink(GTIN, lot="HS269999999", serial="RS00000000001"), NotFound, "no unit"),
        (DigitalLink(GTIN, lot=LOT), InvalidInput, "scans are counted per unit"),
    ],
)
def test_scans_of_unknown_units_are_refused_and_not_kept(
    counter: ScanCounter,
    engine: Engine,
    link: DigitalLink,
    error: type[Exception],
    message: str,
) -> None:
    """An unpacked serial, a wrong lot or a batch link is refused, and nothing is stored."""
    counter.record(unit(), "203.0.113.5", None)
    with pytest.raises(error, match=message):
        counter.record(link, "203.0.113.5", CHANGCHUN)
    assert len(rows(engine)) == 1
    assert counter.record(unit(), "203.0.113.5", None).number == 2  # valid scans go on


def test_warnings_follow_the_settings(domain: Domain) -> None:
    """The thresholds are the settings': 300 km and 20 scanners by default, strictly above."""
    defaults = Settings(database_url="sqlite://")
    assert (defaults.scan_warn_count, defaults.scan_warn_distance_km) == (20, 300)
    counter = ScanCounter(defaults, domain.engine, domain)
    assert counter.warnings(20, 300) == []
    assert [w.signal for w in counter.warnings(21, 301)] == ["many_scanners", "far_apart"]
