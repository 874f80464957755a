"""What simulated devices record: one small body generator per scenario.

A generator is ``make(index, device_id, n, now) -> body``: the body of the `n`-th event
(n = its sequence number, from 1) of device `index` of the simulation, whose key ID is
`device_id`, recorded at `now` (RFC 3339 UTC).

It is a pure function of its arguments, so a device restarted after a crash continues the
same story. Batch, sensor and shipment IDs carry the first 12 hex digits of the device ID,
so two simulations never share one.

Bodies are built with the domain models of `schemas.events` and dumped as JSON data, so
every one of them is a valid domain event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.events import (
    CultivationInput,
    Harvest,
    Planting,
    SensorReadings,
    Ship,
)
from schemas.events.common import Body

BodyMaker = Callable[[int, str, int, str], dict[str, Any]]

HERBS = ("renshen", "wuweizi", "xixin", "tianma", "huangqi")
"""Herbs the simulated planting bases grow: 人参 五味子 细辛 天麻 黄芪."""


def _dump(body: Body) -> dict[str, Any]:
    return body.model_dump(mode="json", exclude_none=True)


def _wave(n: int, period: int, low: float, high: float) -> float:
    """A deterministic triangle wave between `low` and `high` with `period` samples."""
    phase = (n % period) / period
    fraction = 2 * phase if phase < 0.5 else 2 * (1 - phase)
    return low + (high - low) * fraction


def handheld(index: int, device_id: str, n: int, now: str) -> dict[str, Any]:
    """A planting base's handheld scanner: plant, fertilise, harvest, ship — then again."""
    story, step = divmod(n - 1, 4)
    tag = device_id[:12]
    site = f"BASE-{tag}"
    planting = f"PL-{tag}-{story:06d}"
    harvest = f"HV-{tag}-{story:06d}"
    day = now[:10]
    herb = HERBS[(index + story) % len(HERBS)]
    if step == 0:
        return _dump(
            Planting.model_validate(
                {
                    "type": "planting",
                    "batch": planting,
                    "herb": herb,
                    "site": site,
                    "planted_on": day,
                    "seed_source": "抚松县参业合作社良种繁育基地",
                    "area": {"value": f"{2 + story % 7}.5", "unit": "mu"},
                    "method": "forest_understory" if herb == "renshen" else "field",
                }
            )
        )
    if step == 1:
        return _dump(
            CultivationInput.model_validate(
                {
                    "type": "cultivation_input",
                    "batch": planting,
                    "input": "fertiliser",
                    "product": "腐熟农家肥",
                    "dose": {"value": "150", "unit": "kg/mu"},
                    "applied_on": day,
                }
            )
        )
    if step == 2:
        return _dump(
            Harvest.model_validate(
                {
                    "type": "harvest",
                    "batch": harvest,
                    "origin": planting,
                    "herb": herb,
                    "site": site,
                    "harvested_on": day,
                    "quantity": {"value": f"{120 + (story * 37) % 90}.500", "unit": "kg"},
                }
            )
        )
    return _dump(
        Ship.model_validate(
            {
                "type": "ship",
                "shipment": f"SH-{tag}-{story:06d}",
                "batches": [harvest],
                "to": "ORG-JIAN-HONGSHEN",
                "carrier": "吉林冷链物流",
                "shipped_on": day,
            }
        )
    )


def drying_room(index: int, device_id: str, n: int, now: str) -> dict[str, Any]:
    """A drying-room sensor: temperature and humidity over the batches being dried."""
    return _dump(
        SensorReadings.model_validate(
            {
                "type": "sensor_reading",
                "sensor": f"DRY-{device_id[:12]}",
                "kind": "drying_room",
                "batches": [f"HV-{device_id[:12]}-{n // 500:06d}"],
                "site": f"DRYROOM-{index % 8:02d}",
                "readings": [
                    {
                        "at": now,
                        "temperature_c": f"{_wave(n, 60, 45.0, 60.0):.1f}",
                        "humidity_pct": f"{_wave(n + 15, 60, 8.0, 18.0):.1f}",
                    }
                ],
            }
        )
    )


def cold_chain(index: int, device_id: str, n: int, now: str) -> dict[str, Any]:
    """A cold-chain logger in a truck: temperature of a shipment of fresh material."""
    return _dump(
        SensorReadings.model_validate(
            {
                "type": "sensor_reading",
                "sensor": f"CCL-{device_id[:12]}",
                "kind": "cold_chain",
                "batches": [f"SH-{device_id[:12]}-{n // 200:06d}"],
                "readings": [{"at": now, "temperature_c": f"{_wave(n + index, 40, 2.0, 7.5):.1f}"}],
            }
        )
    )


def demo(index: int, device_id: str, n: int, now: str) -> dict[str, Any]:
    """A mixed fleet: devices 0, 3, 6… are handhelds, 1, 4… drying rooms, 2, 5… loggers."""
    return (handheld, drying_room, cold_chain)[index % 3](index, device_id, n, now)


@dataclass(frozen=True)
class Scenario:
    """A named kind of simulated device."""

    name: str
    make: BodyMaker
    help: str


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("handheld", handheld, "planting-base scanners: planting, inputs, harvest, ship"),
        Scenario("drying-room", drying_room, "drying-room temperature and humidity sensors"),
        Scenario("cold-chain", cold_chain, "cold-chain temperature loggers"),
        Scenario("demo", demo, "a mixed fleet of all three"),
    )
}
