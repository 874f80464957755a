"""The demo stories told by the benchmark's devices, so the gateway's domain rules accept them.

A lane is one device per field party of the demo (growers, processors, the drying room's
sensor, the laboratory, the cold-chain logger, the pharmacy …), enrolled in that party's
organisation, site and role. Lane l of L tells story cycles l, l + L, l + 2L, …: batches,
shipments and serials are numbered by cycle, so no two lanes touch the same batch. The
registrar's registrations (organisations, sites) are recorded first, directly; a story in
which the regulator acts (a recall) is left out, since the regulator records through the
API, not through a device.

Within a story an event may need what another device recorded before it (a receive needs
its ship, a sale needs its pack). Each envelope therefore names the one it waits for: the
latest earlier envelope of its story signed by another device. That envelope's receipt
means everything before it in the story is in the log, since each device's own envelopes
are appended in `seq` order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count

from traceability.demo.field_herbs import huangqi, wuweizi
from traceability.demo.ginseng import ginseng
from traceability.demo.parties import SIGNERS, DemoSigner
from traceability.demo.places import SITES
from traceability.demo.seed import sign_events
from traceability.demo.story import Event
from traceability.demo.velvet import velvet

FIELD_PARTIES = tuple(s for s in SIGNERS if s.role in ("device", "inspector"))
"""The demo parties that record through a device over MQTT: one device each per lane."""
STORIES = (ginseng, wuweizi, huangqi, velvet)


@dataclass(frozen=True)
class StoryEnvelope:
    """One signed envelope of a lane, the device that sends it, and what it waits for."""

    device: str
    """The sending device's key ID."""
    envelope: bytes
    hash: bytes
    after: bytes | None
    """The envelope hash whose receipt this envelope waits for (None: nothing to wait for)."""


def lane_signer(lane: int, party: DemoSigner) -> DemoSigner:
    """Lane `lane`'s device for demo party `party`: same organisation and role, its own key."""
    return DemoSigner(
        f"bench lane {lane} {party.label}", party.name, party.organisation, party.role
    )


def site_of(party: DemoSigner) -> str:
    """The first site registered for the party's organisation (where its device works)."""
    for body in SITES:
        if body["organisation"] == party.organisation:
            return str(body["id"])
    return party.organisation


def lane_envelopes(lane: int, lanes: int, total: int) -> list[StoryEnvelope]:
    """The first `total` envelopes lane `lane` of `lanes` sends, in story order."""
    out: list[StoryEnvelope] = []
    state: dict[str, tuple[int, str]] = {}
    for story in _stories(lane, lanes):
        told: list[tuple[str, bytes]] = []
        for event, envelope in zip(story, sign_events(story, state), strict=True):
            device = event.party.key_id
            digest = bytes.fromhex(state[device][1])
            after = next((h for d, h in reversed(told) if d != device), None)
            out.append(StoryEnvelope(device, envelope, digest, after))
            told.append((device, digest))
            if len(out) == total:
                return out
    return out


def _stories(lane: int, lanes: int) -> Iterator[list[Event]]:
    """Lane `lane`'s stories, their events signed by the lane's devices."""
    signers = {p.label: lane_signer(lane, p) for p in FIELD_PARTIES}
    for n in count(lane, lanes):
        for story in STORIES:
            events = story(n).events
            if all(e.party.label in signers for e in events):
                yield [Event(signers[e.party.label], e.body, e.time) for e in events]
