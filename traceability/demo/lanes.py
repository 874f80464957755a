"""Lanes of the demo stories: one device per field party, each event with what it waits for.

A lane tells story cycles of its own, so no two lanes touch the same batch. The parties of
the demo that record through a device (growers, processors, sensors, the laboratory, the
pharmacy …) each have a device in every lane, enrolled in that party's organisation, site
and role; the registrar's registrations (organisations, sites) are recorded before any
lane starts. A story in which the regulator acts (a recall) is left out, since the
regulator records through the API, not through a device.

Within a story an event may need what another device recorded before it (a receive needs
its ship, a sale needs its pack). Each lane event therefore names the one it waits for: the
latest earlier event of its story by another party. That event's receipt means everything
before it in the story is in the log, since each device's own events are appended in
`seq` order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from traceability.demo.field_herbs import huangqi, wuweizi
from traceability.demo.ginseng import ginseng
from traceability.demo.parties import SIGNERS, DemoSigner
from traceability.demo.places import SITES
from traceability.demo.story import Event, Story
from traceability.demo.velvet import velvet

FIELD_PARTIES = tuple(s for s in SIGNERS if s.role in ("device", "inspector"))
"""The demo parties that record through a device over MQTT: one device each per lane."""

STORIES: tuple[Callable[[int], Story], ...] = (ginseng, wuweizi, huangqi, velvet)
"""The stories of a demo cycle, in the order a lane tells them."""


class Mark(NamedTuple):
    """A party's `number`-th event of a lane (from 1): what another event waits for."""

    party: str
    """The party's label."""
    number: int


class LaneEvent(NamedTuple):
    """One event of a lane, which of its party's events it is, and what it waits for."""

    event: Event
    number: int
    """Its party's events in the lane so far, this one included."""
    after: Mark | None
    """The latest earlier event of its story by another party (None: nothing to wait for)."""


def site_of(party: DemoSigner) -> str:
    """The first site registered for the party's organisation (where its device works)."""
    for body in SITES:
        if body["organisation"] == party.organisation:
            return str(body["id"])
    return party.organisation


def field_stories(
    cycles: Iterable[int], stories: Iterable[Callable[[int], Story]] = STORIES
) -> Iterator[list[Event]]:
    """The events of each story of each cycle, the stories told by field parties only."""
    labels = {p.label for p in FIELD_PARTIES}
    told = tuple(stories)
    for n in cycles:
        for story in told:
            events = story(n).events
            if all(e.party.label in labels for e in events):
                yield events


def lane_events(stories: Iterable[list[Event]]) -> Iterator[LaneEvent]:
    """Every event of `stories` in order, numbered by party, each with what it waits for."""
    counts: Counter[str] = Counter()
    for story in stories:
        told: list[Mark] = []
        for event in story:
            label = event.party.label
            counts[label] += 1
            yield LaneEvent(
                event, counts[label], next((m for m in reversed(told) if m.party != label), None)
            )
            told.append(Mark(label, counts[label]))
