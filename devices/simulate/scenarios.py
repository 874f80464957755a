"""What simulated devices record: the demo's stories, told by lanes of devices.

A scenario names the parties of a lane (each a device enrolled in that party's
organisation, site and role) and the events a lane tells of each story cycle. Device `i`
of a simulation is the party ``i mod W`` of lane ``i div W`` (W parties a lane); lane l of
scenario number s tells story cycles ``s·SCENARIO_CYCLES + l·LANE_CYCLES + k``, k = 0, 1,
…, so no two lanes or scenarios share a batch, a shipment or a serial number, and none is
a cycle `herbtrace seed` writes (those start at 0). Device `i`'s n-th event is its party's
n-th event in its lane: a pure function of the scenario, `i` and `n`, so a device
restarted after a crash continues the same story.

An event may wait for another device's (a receive for its ship, a reading for the batch it
is about): `LaneScript` says which. A device stops where its story cannot go on: when it
has recorded its `events`, or when its next event waits for one that no device of the
simulation will record (its party has no device, or that device stopped first).

Sensor readings name the batches their organisation holds while the sensor watches them:
the 黄芪 grower's drying room reads the roots drying there before the grower records their
processing; the 抚松 base's cold-chain logger reads the fresh ginseng it has shipped, still
the base's until the processor receives it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count
from typing import Any

from traceability.demo import parties as p
from traceability.demo.field_herbs import huangqi
from traceability.demo.ginseng import ginseng
from traceability.demo.lanes import (
    FIELD_PARTIES,
    LaneEvent,
    Mark,
    field_stories,
    lane_events,
    site_of,
)
from traceability.demo.parties import DemoSigner
from traceability.demo.story import Event, local_moment, utc_text

SCENARIO_CYCLES = 10**10
"""Story cycles of each scenario: room for 10,000 lanes of LANE_CYCLES."""

LANE_CYCLES = 10**6
"""Story cycles of each lane (at most six events of a device each)."""

DRYING_READINGS = 12
"""Readings of the drying room while one batch of roots dries (half-hourly)."""

COLD_CHAIN_READINGS = 8
"""Readings of the logger in the truck carrying one shipment of fresh ginseng."""


@dataclass(frozen=True)
class Party:
    """A lane's device: the demo party it records for, and where it is enrolled."""

    signer: DemoSigner
    site: str

    @property
    def label(self) -> str:
        return self.signer.label


@dataclass(frozen=True)
class Enrolment:
    """How a simulated device is enrolled (`herbtrace device enroll`)."""

    organisation: str
    site: str
    role: str
    name: str


FUSONG_LOGGER = DemoSigner(
    "fusong-coldchain-logger", "抚松基地鲜参冷链温度记录仪", p.FUSONG_COOP, "device"
)
JIAOHE_DRYER = DemoSigner("jiaohe-dryer", "天岗镇烘干房温湿度传感器", p.HUANGQI_GROWER, "device")


def _wave(k: int, period: int, low: float, high: float) -> float:
    """A deterministic triangle wave between `low` and `high` with `period` samples."""
    phase = (k % period) / period
    fraction = 2 * phase if phase < 0.5 else 2 * (1 - phase)
    return low + (high - low) * fraction


def _reading(
    signer: DemoSigner, at: datetime, body: dict[str, Any], sample: dict[str, str]
) -> Event:
    """One upload of one sample, a minute after it was taken."""
    return Event(
        signer, body | {"readings": [{"at": utc_text(at)} | sample]}, at + timedelta(minutes=1)
    )


def planting_base(n: int) -> list[Event]:
    """The 抚松 base's part of ginseng story n: plant, tend, dig, wash, ship to 集安."""
    return [e for e in ginseng(n).events if e.party is p.FUSONG]


def cold_chain(n: int) -> list[Event]:
    """The base's part of story n, then its logger's readings on the fresh ginseng shipped."""
    events = planting_base(n)
    ship = events[-1]
    batch, day = ship.body["batches"][0], ship.body["shipped_on"]
    start = local_moment(datetime.fromisoformat(day).date(), 7, 30)
    body = {
        "type": "sensor_reading",
        "sensor": "fusong-logger-03",
        "kind": "cold_chain",
        "batches": [batch],
    }
    for k in range(COLD_CHAIN_READINGS):
        sample = {
            "temperature_c": f"{_wave(n + k, 8, 2.0, 6.0):.1f}",
            "humidity_pct": f"{_wave(n + k + 3, 8, 55.0, 70.0):.1f}",
        }
        events.append(_reading(FUSONG_LOGGER, start + timedelta(minutes=30 * k), body, sample))
    return events


def drying_room(n: int) -> list[Event]:
    """The 黄芪 grower's part of story n, its drying room reading the roots before they are
    recorded as dried."""
    out: list[Event] = []
    for event in huangqi(n).events:
        if event.party is not p.JIAOHE:
            continue
        if event.body["type"] == "fresh_processing":
            roots = event.body["inputs"][0]["batch"]
            start = local_moment(datetime.fromisoformat(event.body["started_on"]).date(), 8)
            body = {
                "type": "sensor_reading",
                "sensor": "jiaohe-dryer-01",
                "kind": "drying_room",
                "batches": [roots],
                "site": p.HUANGQI_DRYER,
            }
            for k in range(DRYING_READINGS):
                sample = {
                    "temperature_c": f"{_wave(n + k, 12, 45.0, 60.0):.1f}",
                    "humidity_pct": f"{_wave(n + k + 6, 12, 8.0, 18.0):.1f}",
                }
                at = start + timedelta(minutes=30 * k)
                out.append(_reading(JIAOHE_DRYER, at, body, sample))
        out.append(event)
    return out


Told = Callable[[Iterable[int]], Iterator[list[Event]]]
"""The stories a lane tells of the given cycles, each a list of events in order."""


def _one_story(story: Callable[[int], list[Event]]) -> Told:
    """One story a cycle."""

    def told(cycles: Iterable[int]) -> Iterator[list[Event]]:
        return (story(n) for n in cycles)

    return told


@dataclass(frozen=True)
class Scenario:
    """A named kind of simulated lane: its devices' parties and what it tells per cycle."""

    name: str
    number: int
    """Which range of story cycles the scenario's lanes tell (see SCENARIO_CYCLES)."""
    parties: tuple[Party, ...]
    told: Told
    help: str

    @property
    def width(self) -> int:
        """Devices a lane."""
        return len(self.parties)

    def lane(self, index: int) -> int:
        """The lane of device `index`."""
        return index // self.width

    def party(self, index: int) -> Party:
        """The party device `index` records for."""
        return self.parties[index % self.width]

    def device_of(self, lane: int, mark: Mark) -> int:
        """The device of `lane` that records `mark`'s party (-1: the scenario has none)."""
        for k, party in enumerate(self.parties):
            if party.label == mark.party:
                return lane * self.width + k
        return -1

    def enrolment(self, index: int) -> Enrolment:
        """How device `index` is to be enrolled."""
        party = self.party(index)
        name = f"{party.signer.name}（模拟 {self.lane(index)}）"
        return Enrolment(party.signer.organisation, party.site, party.signer.role, name)

    def stories(self, lane: int) -> Iterator[list[Event]]:
        """Lane `lane`'s stories, each a list of events in order."""
        return self.told(count(self.number * SCENARIO_CYCLES + lane * LANE_CYCLES))


class LaneScript:
    """Who of one lane records which event, with `events` each at most (0: no limit).

    `present` holds the labels of the parties whose device belongs to the simulation.
    Walks the lane's events in order once, keeping only the events of `wanted` parties
    not yet taken; safe to share between the threads of a lane's devices.
    """

    def __init__(
        self,
        scenario: Scenario,
        lane: int,
        present: Collection[str],
        events: int,
        wanted: Collection[str] | None = None,
    ) -> None:
        self.scenario = scenario
        self.lane = lane
        self._present = frozenset(present)
        self._wanted = frozenset(present if wanted is None else wanted)
        self._limit = events
        self._events = lane_events(scenario.stories(lane))
        self._recorded: Counter[str] = Counter()
        self._stopped: set[str] = set()
        self._kept: dict[str, dict[int, LaneEvent]] = {label: {} for label in self._wanted}
        self._lock = threading.Lock()

    def event(self, label: str, n: int) -> LaneEvent | None:
        """Party `label`'s n-th event, or None when its story ends before it."""
        with self._lock:
            while label not in self._stopped and self._recorded[label] < n:
                self._advance()
            kept = self._kept.get(label, {})
            for k in [k for k in kept if k < n]:  # taken: a device never goes back
                del kept[k]
            return kept.get(n)

    def planned(self, label: str) -> int:
        """How many events party `label` records in all (with a limit only)."""
        while self.event(label, self._recorded[label] + 1) is not None:
            pass
        return self._recorded[label]

    def _advance(self) -> None:
        item = next(self._events)
        label = item.event.party.label
        if label in self._stopped:
            return
        after = item.after
        if (
            label not in self._present
            or (self._limit and self._recorded[label] >= self._limit)
            or (after is not None and self._recorded[after.party] < after.number)
        ):
            self._stopped.add(label)  # its next event would never be in the log: it stops
            return
        self._recorded[label] = item.number
        if label in self._wanted:
            self._kept[label][item.number] = item


def _party(signer: DemoSigner, site: str | None = None) -> Party:
    return Party(signer, site or site_of(signer))


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "handheld",
            1,
            (_party(p.FUSONG),),
            _one_story(planting_base),
            "planting-base handhelds: planting, inputs, harvest, washing, ship",
        ),
        Scenario(
            "drying-room",
            2,
            (_party(p.JIAOHE), _party(JIAOHE_DRYER, p.HUANGQI_DRYER)),
            _one_story(drying_room),
            "a grower's handheld, then its drying room's temperature and humidity sensor",
        ),
        Scenario(
            "cold-chain",
            3,
            (_party(p.FUSONG), _party(FUSONG_LOGGER)),
            _one_story(cold_chain),
            "a planting base's handheld, then its cold-chain logger in the truck",
        ),
        Scenario(
            "demo",
            4,
            tuple(_party(s) for s in FIELD_PARTIES),
            field_stories,
            "the demo's stories: a lane of one device per field party (growers, "
            "processors, sensors, laboratory, pharmacy)",
        ),
    )
}
