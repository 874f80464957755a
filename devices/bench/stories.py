"""The demo stories told by the benchmark's devices, so the gateway's domain rules accept them.

The benchmark's lanes are those of `traceability.demo.lanes`: lane l of L tells story
cycles l, l + L, l + 2L, …, each field party's events signed by that lane's device of the
party (a key derived from the lane and the party, so every run signs the same envelopes).
Each envelope names the envelope hash whose receipt it waits for.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from traceability.demo.lanes import FIELD_PARTIES, field_stories, lane_events
from traceability.demo.parties import DemoSigner
from traceability.demo.seed import sign_events
from traceability.demo.story import Event


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


def lane_envelopes(lane: int, lanes: int, total: int) -> list[StoryEnvelope]:
    """The first `total` envelopes lane `lane` of `lanes` sends, in story order."""
    signers = {p.label: lane_signer(lane, p) for p in FIELD_PARTIES}
    out: list[StoryEnvelope] = []
    state: dict[str, tuple[int, str]] = {}
    hashes: dict[tuple[str, int], bytes] = {}
    if total <= 0:
        return out
    for item in lane_events(field_stories(count(lane, lanes))):
        signer = signers[item.event.party.label]
        (envelope,) = sign_events([Event(signer, item.event.body, item.event.time)], state)
        digest = bytes.fromhex(state[signer.key_id][1])
        hashes[(item.event.party.label, item.number)] = digest
        after = None if item.after is None else hashes[item.after]
        out.append(StoryEnvelope(signer.key_id, envelope, digest, after))
        if len(out) == total:
            break
    return out
