"""The demo stories as the benchmark's lanes of devices tell them."""

from __future__ import annotations

import json

from devices.bench.stories import lane_envelopes, lane_signer
from traceability.demo.lanes import FIELD_PARTIES


def _batches(envelope: bytes) -> set[str]:
    body = json.loads(envelope)["payload"]["body"]
    named = [body.get("batch"), *body.get("batches", [])]
    named += [child["batch"] for child in body.get("children", [])]
    return {b for b in named if isinstance(b, str)}


def test_lanes_send_from_their_own_devices_on_batches_of_their_own() -> None:
    """Two lanes share no device and no batch: each tells story cycles of its own."""
    first, second = lane_envelopes(0, 2, 300), lane_envelopes(1, 2, 300)
    assert {e.device for e in first} == {lane_signer(0, p).key_id for p in FIELD_PARTIES}
    assert not {e.device for e in first} & {e.device for e in second}
    ours = set().union(*(_batches(e.envelope) for e in first))
    theirs = set().union(*(_batches(e.envelope) for e in second))
    assert ours
    assert theirs
    assert not ours & theirs


def test_an_envelope_waits_only_for_an_earlier_one_of_another_device() -> None:
    """What an envelope waits for was sent before it, by another device of its lane."""
    envelopes = lane_envelopes(0, 1, 200)
    sent: dict[bytes, str] = {}
    for e in envelopes:
        if e.after is not None:
            assert sent[e.after] != e.device
        sent[e.hash] = e.device
    assert any(e.after is not None for e in envelopes)
    assert any(json.loads(e.envelope)["payload"]["body"]["type"] == "receive" for e in envelopes)
