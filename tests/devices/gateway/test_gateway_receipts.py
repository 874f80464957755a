"""Receipts for valid envelopes: accepted, then duplicate, signed by the log key."""

from __future__ import annotations

import hashlib
import json

from ingest_helpers import Ingest

from traceability.canonical import canonical_bytes
from traceability.ingest.receipts import verify_receipt
from traceability.ledger import Ledger


def test_valid_envelope_gets_an_accepted_receipt_matching_the_log(ingest: Ingest) -> None:
    """An enrolled device's envelope is appended; its receipt verifies with the log key and
    names the entry's index, leaf hash and time received; correlation data is its hash."""
    device = ingest.device()
    data = device.send_next()
    message = device.client.next_message()
    receipt = verify_receipt(bytes(message.payload), ingest.verifier.public_key)
    envelope = json.loads(data)
    expected_hash = hashlib.sha256(canonical_bytes(envelope["payload"])).digest()
    assert message.properties.CorrelationData == expected_hash
    assert receipt.status == "accepted"
    assert receipt.envelope_hash == expected_hash.hex()
    assert (receipt.signer, receipt.seq) == (device.device_id, 1)
    assert receipt.log == ingest.settings.log_origin
    with Ledger(ingest.settings, writable=False) as ledger:
        assert receipt.index is not None
        _, leaf_hash, entry = ledger.entry(receipt.index)
    assert receipt.leaf_hash == leaf_hash.hex()
    assert receipt.received == entry.received
    assert entry.payload() == envelope["payload"]


def test_duplicate_gets_the_original_receipt_with_status_duplicate(ingest: Ingest) -> None:
    """The same envelope twice: the second receipt is `duplicate` with the original index,
    leaf hash and time, and the log holds the envelope once."""
    device = ingest.device()
    data = device.send_next()
    first = verify_receipt(device.receipt(), ingest.verifier.public_key)
    device.send_next()
    device.receipt()
    device.publish(data)
    again = verify_receipt(device.receipt(), ingest.verifier.public_key)
    assert first.status == "accepted"
    assert again.status == "duplicate"
    assert again.model_copy(update={"status": "accepted"}) == first
    with Ledger(ingest.settings, writable=False) as ledger:
        assert ledger.size() == 2
