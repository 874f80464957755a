"""Signing the demo events: exact RFC 8785 payloads, valid signatures, unbroken chains."""

from __future__ import annotations

import json
from itertools import islice

from traceability.canonical import canonical_bytes
from traceability.demo import events_from
from traceability.demo import parties as p
from traceability.demo.seed import payload_bytes, sign_events
from traceability.envelope import GENESIS_PREV, parse_envelope, verify_envelope
from traceability.keys import load_public_key


def test_fast_payload_bytes_are_rfc8785() -> None:
    """For every demo event of six cycles, the fast encoder's bytes equal RFC 8785's, and a
    string outside the BMP (where the two orders differ) falls back to the RFC 8785 bytes."""
    events = list(islice(events_from(0), 320))
    for e in events:
        payload = {"v": 1, "signer": e.party.key_id, "seq": 1, "prev": GENESIS_PREV,
                   "time": "2026-09-08T01:00:00Z", "body": e.body}  # fmt: skip
        assert payload_bytes(payload) == canonical_bytes(payload)
    tricky = {"\U0001f33f": 1, "\uff5e": 2}  # 🌿 sorts after ～ in code points, before in UTF-16
    assert payload_bytes(tricky) == canonical_bytes(tricky)
    assert payload_bytes(tricky) != json.dumps(tricky, ensure_ascii=False, sort_keys=True,
                                               separators=(",", ":")).encode()  # fmt: skip


def test_signed_envelopes_verify_and_chain() -> None:
    """Each signed demo envelope parses, its signature verifies under its signer's public
    key, and each signer's envelopes run seq 1, 2, 3 … with `prev` naming the one before."""
    state: dict[str, tuple[int, str]] = {}
    heads: dict[str, tuple[int, str]] = {}
    keys = {s.key_id: load_public_key(s.public_key) for s in p.SIGNERS}
    for wire in sign_events(islice(events_from(0), 200), state):
        env = parse_envelope(wire)
        verify_envelope(env, keys[env.signer])
        seq, prev = heads.get(env.signer, (0, GENESIS_PREV))
        assert (env.seq, env.prev) == (seq + 1, prev)
        heads[env.signer] = (env.seq, env.envelope_hash.hex())
    assert heads == state
    assert set(heads) == {s.key_id for s in p.SIGNERS}
