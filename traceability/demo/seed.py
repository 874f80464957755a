"""Seeding: register the demo signers, then sign and append the next demo events in order.

The demo is one endless, deterministic sequence of events (`stories.events_from`). A log
holding the first k of them, signed by the demo signers, continues with event k: each
signer's `seq` and `prev` chain continues from its newest envelope in the log, so seeding
twice appends exactly what seeding once with the sum would have (the same envelopes,
since Ed25519 signatures are deterministic).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from traceability.canonical import canonical_bytes, plain_bytes
from traceability.demo.parties import SIGNERS
from traceability.demo.stories import events_from, signed_before
from traceability.demo.story import Event, utc_text
from traceability.envelope import GENESIS_PREV, SIGNING_PREFIX, envelope_hash
from traceability.errors import ConfigurationError, InvalidInput
from traceability.log.results import AppendResult
from traceability.log.sequencing import signer_heads
from traceability.log.signers import register_signer

DEMO_VALID_FROM = datetime(2020, 1, 1, tzinfo=UTC)
"""The demo signers are valid from before the stories' first event (March 2020)."""

CHUNK = 10_000
"""Envelopes signed and appended at a time: signing never holds more than this many."""


class Recorder(Protocol):
    """Where demo events go: the `Domain` (its rules and indexes) or a plain `Ledger`."""

    @property
    def engine(self) -> Engine: ...


class _Records(Recorder, Protocol):
    def record(self, envelopes: Sequence[bytes | dict[str, Any]]) -> list[AppendResult]: ...


class _Appends(Recorder, Protocol):
    def append(self, envelopes: Sequence[bytes | dict[str, Any]]) -> list[AppendResult]: ...


DEMO_KEY_LABEL = "（公开演示密钥 public demo key）"
"""Appended to every demo signer's registered name: anyone can derive its private key."""


def register_demo_signers(engine: Engine) -> None:
    """Register every demo signer under its organisation ID; registering again is harmless.

    Each signer's name marks it as a public demo key.
    """
    for s in SIGNERS:
        register_signer(
            engine,
            public_key=s.public_key,
            name=s.name + DEMO_KEY_LABEL,
            organisation=s.organisation,
            role=s.role,
            valid_from=DEMO_VALID_FROM,
        )


def demo_heads(engine: Engine) -> tuple[int, dict[str, tuple[int, str]]]:
    """How many demo events the log holds, and each demo signer's (seq, envelope hash hex).

    ConfigurationError when the demo signers' entries are not a prefix of the demo's
    sequence (a log seeded by another version of the demo, or an event refused midway).
    """
    with engine.connect() as conn:
        heads = signer_heads(conn, {s.key_id for s in SIGNERS})
    state = {k: (h.seq, h.envelope_hash.hex()) for k, h in heads.items()}
    position = sum(seq for seq, _ in state.values())
    expected = signed_before(position)
    wrong = [
        f"{s.label} ({s.key_id}) has {found} (the stories give it {expected[s.label]})"
        for s in SIGNERS
        if (found := state.get(s.key_id, (0, GENESIS_PREV))[0]) != expected[s.label]
    ]
    if wrong:
        raise ConfigurationError(
            f"the log's {position} entries by demo signers are not the demo's first "
            f"{position} events: {'; '.join(wrong)}. Seed a fresh database."
        )
    return position, state


_BELOW_F0 = bytes(range(0xF0))


def payload_bytes(payload: dict[str, Any]) -> bytes:
    """The RFC 8785 bytes of a demo payload, fast.

    Demo payloads hold only objects, lists, strings and integers (quantities are decimal
    strings). For those the C JSON encoder, sorted and compact (`plain_bytes`), writes
    exactly RFC 8785 as long as every string stays in the Basic Multilingual Plane, where
    code-point order is UTF-16 order. A 4-byte UTF-8 sequence (lead byte 0xF0–0xF4) means a
    string left it: then the general serialiser is used.
    """
    data = plain_bytes(payload)
    return canonical_bytes(payload) if data.translate(None, _BELOW_F0) else data


def sign_events(events: Iterable[Event], state: dict[str, tuple[int, str]]) -> Iterator[bytes]:
    """Sign events as wire envelopes, continuing each signer's chain in `state` (updated).

    Each envelope is the UTF-8 JSON text `{"payload":P,"sig":"S"}`, where P is the payload's
    RFC 8785 bytes and S the base64 Ed25519 signature over "herbtrace/v1/envelope" || 0x0A
    || P (docs/protocol.md §2).
    """
    for party, body, moment in events:
        seq, prev = state.get(party.key_id, (0, GENESIS_PREV))
        payload = {
            "v": 1,
            "signer": party.key_id,
            "seq": seq + 1,
            "prev": prev,
            "time": utc_text(moment),
            "body": body,
        }
        data = payload_bytes(payload)
        signature = base64.b64encode(party.key.sign(SIGNING_PREFIX + data))
        state[party.key_id] = (seq + 1, envelope_hash(data).hex())
        yield b'{"payload":' + data + b',"sig":"' + signature + b'"}'


def demo_envelopes(engine: Engine, count: int) -> Iterator[bytes]:
    """The next `count` signed demo envelopes for the log on `engine` (signers registered)."""
    position, state = demo_heads(engine)
    return sign_events(islice(events_from(position), count), state)


def seed_events(target: _Records | _Appends, count: int) -> list[AppendResult]:
    """Register the demo signers and append the next `count` demo events; one result each.

    `target` is the `Domain` (events go through its rules: `record`) or a plain `Ledger`
    (`append`). Events are signed and appended CHUNK at a time.
    """
    if count < 0:
        raise InvalidInput(f"the number of demo events cannot be negative, got {count}")
    register_demo_signers(target.engine)
    submit = target.record if hasattr(target, "record") else target.append
    envelopes = demo_envelopes(target.engine, count)
    results: list[AppendResult] = []
    while chunk := list(islice(envelopes, CHUNK)):
        results.extend(submit(chunk))
    return results
