"""The ingest step both channels run: size, the channel's device, refusals kept, receipts."""

from __future__ import annotations

from datetime import UTC, datetime

import support

from traceability.canonical import canonical_bytes
from traceability.errors import InvalidInput
from traceability.ingest.intake import Arrival, Intake
from traceability.ingest.receipts import verify_receipt
from traceability.ingest.rejections import list_rejections
from traceability.ledger import Ledger

NOW = datetime(2026, 9, 20, 8, 31, 2, tzinfo=UTC)


def signer_on(ledger: Ledger) -> support.TestSigner:
    """A fresh signer registered in the ledger's registry."""
    signer = support.TestSigner()
    signer.register(ledger.engine)
    return signer


def test_an_accepted_message_gets_a_receipt_naming_its_entry(ledger: Ledger) -> None:
    """A valid envelope is appended and answered with the log key's receipt: its index,
    leaf hash and the time the log received it; nothing is kept as a refusal."""
    intake = Intake(ledger)
    envelope = canonical_bytes(signer_on(ledger).next())
    submission = intake.submit(Arrival(envelope, "t/test"))
    payload = verify_receipt(submission.receipt, ledger.verifier.public_key)
    _, leaf_hash, entry = ledger.entry(0)
    assert (payload.status, payload.index) == ("accepted", 0)
    assert (payload.leaf_hash, payload.received) == (leaf_hash.hex(), entry.received)
    assert not submission.stored_rejection
    assert list_rejections(ledger.engine) == []


def test_a_message_over_the_limit_is_refused_by_its_whole_length(ledger: Ledger) -> None:
    """The limit applies to the message's whole length, even when only its start was read,
    and before any refusal of the channel's own."""
    intake = Intake(ledger)
    envelope = canonical_bytes(signer_on(ledger).next())
    cut = Arrival(envelope, "t/test", size=intake.max_bytes + 1, refused=InvalidInput("other"))
    (result,) = intake.commit(intake.check([cut]))
    assert (result.status, result.reason) == ("rejected", "invalid_input")
    assert f"over the limit of {intake.max_bytes}" in (result.detail or "")
    assert ledger.size() == 0


def test_a_signer_other_than_the_channels_device_is_refused(ledger: Ledger) -> None:
    """When the channel vouches for a device, an envelope another key signed is refused as
    `topic_mismatch` and kept, charged to that device; the right device's is appended."""
    intake = Intake(ledger)
    device, other = signer_on(ledger), signer_on(ledger)
    arrivals = [
        Arrival(canonical_bytes(other.next()), "t/device", device=device.key_id),
        Arrival(canonical_bytes(device.next()), "t/device", device=device.key_id),
    ]
    results = intake.commit(intake.check(arrivals))
    assert [(r.status, r.reason) for r in results] == [
        ("rejected", "topic_mismatch"),
        ("accepted", None),
    ]
    rows = intake.refusals(arrivals, results, NOW)
    assert [(r.device_id, r.signer, r.topic) for r in rows] == [
        (device.key_id, other.key_id, "t/device")
    ]
    intake.keep(rows)
    assert [r.reason for r in list_rejections(ledger.engine)] == ["topic_mismatch"]


def test_an_anonymous_unsigned_refusal_is_answered_but_not_kept(ledger: Ledger) -> None:
    """An unauthenticated sender's message that is not validly signed is evidence against
    no one: refused, not stored; the same from an authenticated sender is stored, charged to
    the envelope's signer when the channel vouches for no device."""
    intake = Intake(ledger)
    stranger = support.TestSigner()  # not registered: unknown signer
    envelope = canonical_bytes(stranger.next())
    anonymous = intake.submit(Arrival(envelope, "POST /v1/events", authenticated=False))
    assert (anonymous.result.reason, anonymous.stored_rejection) == ("unknown_signer", False)
    known = intake.submit(Arrival(envelope, "POST /v1/events", authenticated=True))
    assert known.stored_rejection
    (row,) = list_rejections(ledger.engine)
    assert (row.device_id, row.topic) == (stranger.key_id, "POST /v1/events")
