"""Cold chain: readings outside the storage range for longer than the tolerance alert."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from read_support import read
from story import COOP, PHARMACY, PLANT, World, body

from schemas.events import Reading
from traceability.domain.alerts import list_alerts
from traceability.domain.herbs import StorageRange
from traceability.domain.rules.cold_chain import outside

GINSENG = StorageRange(Decimal(0), Decimal(20), Decimal(35), Decimal(75), 30)


def readings(*samples: tuple[int, str], kind: str = "cold_chain") -> dict[str, Any]:
    """A reading body for the packed batch: (minute past 02:00, °C) samples."""
    return body(
        "sensor_reading",
        kind=kind,
        readings=[{"at": f"2026-10-10T02:{m:02d}:00Z", "temperature_c": t} for m, t in samples],
    )


@pytest.mark.parametrize(
    ("temperature", "humidity", "why"),
    [
        ("20", "75", None),
        ("20.1", None, "above 20"),
        ("-0.5", None, "below 0"),
        (None, "75.5", "humidity 75.5% above 75"),
        (None, "34", "below 35"),
    ],
)
def test_outside_names_the_bound_crossed(
    temperature: str | None, humidity: str | None, why: str | None
) -> None:
    """Bounds are inclusive; a reading outside names the bound it crosses."""
    r = Reading(at="2026-10-10T02:00:00Z", temperature_c=temperature, humidity_pct=humidity)
    found = outside(r, GINSENG)
    assert (found is None) == (why is None)
    assert why is None or why in (found or "")


def test_an_excursion_longer_than_the_tolerance_alerts_once(world: World) -> None:
    """25 °C from 02:00 to 02:31 (> 30 min) raises one cold-chain alert, however long it lasts."""
    world.packed()
    world.ok(PLANT, readings((0, "25"), (10, "25"), (20, "25"), (30, "25")))
    # 30 minutes is within tolerance
    assert read(world.domain.engine, list_alerts, kind="cold_chain") == []
    index = world.ok(PLANT, readings((31, "26"), (40, "27")))
    (alert,) = read(world.domain.engine, list_alerts, kind="cold_chain")
    assert alert.source_index == index
    assert alert.evidence["since"] == "2026-10-10T02:00:00Z"
    assert alert.evidence["until"] == "2026-10-10T02:31:00Z"
    assert alert.subject == "coldchain-logger-07"
    assert alert.batch == "JA-HS-2026-001-P"


def test_a_return_to_range_ends_the_excursion(world: World) -> None:
    """Out for 20 minutes, back in range, out for 20 more: no alert."""
    world.packed()
    world.ok(PLANT, readings((0, "25"), (20, "25"), (25, "5"), (30, "25"), (50, "25")))
    assert read(world.domain.engine, list_alerts, kind="cold_chain") == []


def test_drying_rooms_are_not_held_to_storage_ranges(world: World) -> None:
    """A drying room at 60 °C for an hour raises nothing."""
    world.packed()
    world.ok(PLANT, readings((0, "60"), (59, "60"), kind="drying_room"))
    assert read(world.domain.engine, list_alerts) == []


def test_readings_come_from_the_custodian_or_the_recipient_in_transit(world: World) -> None:
    """A third party's logger is refused; the recipient's is accepted while in transit."""
    world.packed()
    world.refused(COOP, readings((0, "5")), "custody")
    world.refused(PHARMACY, readings((0, "5")), "custody")
    world.ok(PLANT, body("ship", carrier=None))
    world.ok(PHARMACY, readings((0, "5")))
    world.refused(COOP, readings((1, "5")), "custody")
    # a stray logger's readings alert nobody
    assert read(world.domain.engine, list_alerts, kind="custody") == []
