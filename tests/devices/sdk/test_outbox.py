"""The durable outbox: chaining, atomic recording, settling by receipt, the rejected table."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices.sdk.outbox import Outbox, VerifiedReceipt
from traceability.canonical import canonical_bytes
from traceability.envelope import GENESIS_PREV, envelope_hash, parse_envelope, verify_envelope
from traceability.errors import CanonicalizationError, ConfigurationError, InvalidInput

BODY = {"type": "harvest", "batch": "FS-RS-2026-00001", "quantity": {"value": "12.5", "unit": "kg"}}


@pytest.fixture(name="key")
def _key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(name="outbox")
def _outbox(tmp_path: Path, key: Ed25519PrivateKey) -> Iterator[Outbox]:
    outbox = Outbox(tmp_path / "outbox.db", key)
    yield outbox
    outbox.close()


def receipt(envelope_hash: bytes, status: str, reason: str | None = None) -> VerifiedReceipt:
    return VerifiedReceipt(envelope_hash, status, reason, None, b'{"receipt":1}')


def test_records_signed_chained_envelopes(outbox: Outbox, key: Ed25519PrivateKey) -> None:
    """Each recorded event is a valid signed envelope whose prev names the one before."""
    events = [outbox.record({**BODY, "batch": f"B-{i}"}) for i in range(5)]
    prev = GENESIS_PREV
    for n, event in enumerate(events, start=1):
        parsed = parse_envelope(event.envelope)
        verify_envelope(parsed, key.public_key())
        assert (parsed.seq, parsed.prev, parsed.signer) == (n, prev, outbox.signer)
        assert parsed.envelope_hash == event.envelope_hash
        prev = event.hash_hex
    assert outbox.counts().head_seq == 5


def test_chain_continues_after_reopening(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    """A reopened outbox continues the sequence and prev chain where the last one stopped."""
    first = Outbox(tmp_path / "outbox.db", key)
    last = first.record_many([BODY, BODY, BODY])[-1]
    first.close()
    again = Outbox(tmp_path / "outbox.db", key)
    parsed = parse_envelope(again.record(BODY).envelope)
    assert (parsed.seq, parsed.prev) == (4, last.hash_hex)
    assert [e.seq for e in again.oldest(10)] == [1, 2, 3, 4]


def test_events_are_on_disk_when_record_returns(outbox: Outbox, tmp_path: Path) -> None:
    """Another connection sees the event and the moved head as soon as record returns."""
    event = outbox.record(BODY)
    with sqlite3.connect(tmp_path / "outbox.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        stored = other.execute("SELECT envelope FROM pending WHERE seq = 1").fetchone()[0]
        head = other.execute("SELECT seq, hash FROM head").fetchone()
    assert stored == event.envelope
    assert head == (1, event.hash_hex)


def test_time_and_body_are_signed_as_given(outbox: Outbox) -> None:
    """The envelope carries the body unchanged and the given RFC 3339 time."""
    event = outbox.record(BODY, at="2026-09-20T08:30:00.250Z")
    payload = json.loads(event.envelope)["payload"]
    assert payload["body"] == BODY
    assert payload["time"] == "2026-09-20T08:30:00.250Z"
    assert envelope_hash(canonical_bytes(payload)) == event.envelope_hash


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        (["not", "an", "object"], InvalidInput, "JSON object"),
        ({"batch": "no type"}, InvalidInput, "body.type"),
        ({"type": "Bad Type!"}, InvalidInput, "body.type"),
        ({"type": "reading", "value": 2**60}, CanonicalizationError, "2^53"),
        ({"type": "reading", "value": float("nan")}, CanonicalizationError, "NaN"),
        ({"type": "note", "text": "x" * 70_000}, InvalidInput, "limit"),
    ],
)
def test_bad_bodies_are_refused_and_lose_nothing(
    outbox: Outbox, body: object, error: type[Exception], words: str
) -> None:
    """An unusable body raises a clear error; earlier events and the head stay as they were."""
    kept = outbox.record(BODY)
    with pytest.raises(error, match=words.replace("^", r"\^")):
        outbox.record(body)  # type: ignore[arg-type]
    assert [e.envelope for e in outbox.oldest(10)] == [kept.envelope]
    assert outbox.counts().head_seq == 1
    nxt = parse_envelope(outbox.record(BODY).envelope)
    assert (nxt.seq, nxt.prev) == (2, kept.hash_hex)


def test_record_many_is_all_or_nothing(outbox: Outbox) -> None:
    """A batch with one bad body records none of the batch."""
    with pytest.raises(InvalidInput):
        outbox.record_many([BODY, BODY, {"no": "type"}, BODY])
    counts = outbox.counts()
    assert (counts.head_seq, counts.pending) == (0, 0)


def test_an_outbox_belongs_to_one_key(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    """Opening a device's outbox with another key is refused, naming both."""
    Outbox(tmp_path / "outbox.db", key).close()
    with pytest.raises(ConfigurationError, match="belongs to device"):
        Outbox(tmp_path / "outbox.db", Ed25519PrivateKey.generate())
    with pytest.raises(ConfigurationError, match="device key is needed"):
        Outbox(tmp_path / "new.db")


def test_read_only_outbox_cannot_record(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    """An outbox opened without the key reports counts but refuses to record."""
    Outbox(tmp_path / "outbox.db", key).record(BODY)
    reader = Outbox(tmp_path / "outbox.db")
    assert reader.counts().pending == 1
    with pytest.raises(ConfigurationError, match="without the device key"):
        reader.record(BODY)


def test_accepted_and_duplicate_receipts_remove_events(outbox: Outbox) -> None:
    """Accepted and duplicate receipts delete their events and count them delivered."""
    a, b, c = outbox.record_many([BODY, BODY, BODY])
    results = outbox.settle(
        [receipt(a.envelope_hash, "accepted"), receipt(c.envelope_hash, "duplicate")]
    )
    assert results == ["delivered", "delivered"]
    assert [e.seq for e in outbox.oldest(10)] == [b.seq]
    counts = outbox.counts()
    assert (counts.pending, counts.delivered, counts.rejected) == (1, 2, 0)


def test_rejected_receipt_keeps_the_event(outbox: Outbox) -> None:
    """A rejected event leaves the pending set but is kept with its reason and receipt."""
    a, b = outbox.record_many([BODY, BODY])
    assert outbox.settle([receipt(a.envelope_hash, "rejected", "unknown_signer")]) == ["rejected"]
    (kept,) = outbox.rejected()
    assert (kept.seq, kept.envelope, kept.reason) == (1, a.envelope, "unknown_signer")
    assert kept.receipt == b'{"receipt":1}'
    assert [e.seq for e in outbox.oldest(10)] == [b.seq]
    assert outbox.counts().rejected == 1


def test_requeue_sends_a_rejected_event_again(outbox: Outbox) -> None:
    """A requeued event is pending again with the same bytes, in sequence order."""
    a, _ = outbox.record_many([BODY, BODY])
    outbox.settle([receipt(a.envelope_hash, "rejected", "unknown_signer")])
    assert outbox.requeue(1).envelope == a.envelope
    assert [e.seq for e in outbox.oldest(10)] == [1, 2]
    assert outbox.rejected() == []
    with pytest.raises(InvalidInput, match="no rejected event"):
        outbox.requeue(2)


def test_each_event_says_where_it_stands(outbox: Outbox, tmp_path: Path) -> None:
    """`state(seq)`: delivered, rejected, pending, or not recorded yet; a reader without the
    device key (another process waiting for this device) sees the same."""
    a, b, _ = outbox.record_many([BODY, BODY, BODY])
    outbox.settle([receipt(a.envelope_hash, "accepted"), receipt(b.envelope_hash, "rejected")])
    reader = Outbox(tmp_path / "outbox.db")
    try:
        for box in (outbox, reader):
            assert [box.state(seq) for seq in (1, 2, 3, 4)] == [
                "delivered",
                "rejected",
                "pending",
                "unrecorded",
            ]
    finally:
        reader.close()


def test_unknown_receipts_change_nothing(outbox: Outbox) -> None:
    """A receipt for an event no longer pending (or never recorded) is a no-op."""
    a = outbox.record(BODY)
    outbox.settle([receipt(a.envelope_hash, "accepted")])
    results = outbox.settle(
        [receipt(a.envelope_hash, "accepted"), receipt(b"\x00" * 32, "rejected")]
    )
    assert results == ["unknown", "unknown"]
    counts = outbox.counts()
    assert (counts.delivered, counts.rejected, counts.pending) == (1, 0, 0)
