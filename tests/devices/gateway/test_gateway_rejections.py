"""Refused messages: a rejected receipt with a stable reason, evidence kept, gateway unharmed."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from ingest_helpers import Device, Ingest

from schemas.mqtt import ReceiptPayload
from traceability.canonical import canonical_bytes
from traceability.enrolment import revoke_device
from traceability.ingest.receipts import verify_receipt
from traceability.ingest.rejections import list_rejections
from traceability.ledger import Ledger

CORRELATION = b"publisher's own correlation"


def answer(ingest: Ingest, device: Device) -> tuple[ReceiptPayload, bytes | None]:
    """The next receipt of `device`, verified with the log key, and its correlation data."""
    message = device.client.next_message()
    payload = verify_receipt(bytes(message.payload), ingest.verifier.public_key)
    return payload, getattr(message.properties, "CorrelationData", None)


def still_flowing(ingest: Ingest, device: Device) -> None:
    """The gateway still appends a valid envelope of `device` after whatever came before."""
    device.send_next()
    receipt, _ = answer(ingest, device)
    assert receipt.status == "accepted", receipt


def log_size(ingest: Ingest) -> int:
    """The number of entries in the test's log."""
    with Ledger(ingest.settings, writable=False) as ledger:
        return ledger.size()


def _bad_signature(device: Device) -> bytes:
    envelope = device.signer.sign(device.signer.payload(), advance=False)
    sig = bytearray(base64.b64decode(envelope["sig"]))
    sig[0] ^= 1
    return canonical_bytes({**envelope, "sig": base64.b64encode(bytes(sig)).decode()})


def _wrong_type(device: Device) -> bytes:
    payload = device.signer.payload()
    payload["seq"] = "1"
    return json.dumps({"payload": payload, "sig": "A" * 86 + "=="}).encode()


def _too_large_integer(device: Device) -> bytes:
    payload = device.signer.payload(body={"type": "harvest", "weight": 2**60})
    text = json.dumps({"payload": payload, "sig": "A" * 86 + "=="})
    return text.encode()


MALFORMED: dict[str, tuple[Callable[[Device], bytes], str]] = {
    "not JSON": (lambda _d: b"hello, gateway", "invalid_input"),
    "empty": (lambda _d: b"", "invalid_input"),
    "bad UTF-8": (lambda _d: b'{"payload": "\xff\xfe", "sig": "x"}', "invalid_input"),
    "JSON array": (lambda _d: b"[1, 2, 3]", "invalid_input"),
    "JSON null": (lambda _d: b"null", "invalid_input"),
    "wrong types": (_wrong_type, "invalid_input"),
    "integer beyond 2^53": (_too_large_integer, "canonicalization_error"),
    "oversize": (lambda _d: b"{" + b" " * 70_000 + b"}", "invalid_input"),
    "bad signature": (_bad_signature, "signature_invalid"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_payload_is_rejected_and_kept(ingest: Ingest, case: str) -> None:
    """Each malformed payload gets a signed `rejected` receipt with its reason (echoing the
    publisher's correlation data when no envelope hash exists), is stored with its bytes in
    the rejected table, and valid traffic still flows."""
    build, reason = MALFORMED[case]
    device = ingest.device()
    data = build(device)
    device.publish(data, CORRELATION)
    receipt, correlation = answer(ingest, device)
    assert (receipt.status, receipt.reason) == ("rejected", reason), receipt
    assert receipt.detail
    assert receipt.index is None
    assert receipt.leaf_hash is None
    if receipt.envelope_hash is None:
        assert correlation == CORRELATION
    else:
        assert correlation == bytes.fromhex(receipt.envelope_hash)
    [stored] = list_rejections(ingest.engine, device_id=device.device_id)
    assert stored.reason == reason
    assert stored.payload == data[:65_536]
    assert stored.payload_size == len(data)
    assert stored.topic == f"herbtrace/v1/devices/{device.device_id}/events"
    assert log_size(ingest) == 0
    still_flowing(ingest, device)


def test_unknown_signer_is_rejected(ingest: Ingest) -> None:
    """A device with broker credentials but no signer record gets `unknown_signer`."""
    device = ingest.device(enrolled=False)
    device.send_next()
    receipt, _ = answer(ingest, device)
    assert (receipt.status, receipt.reason) == ("rejected", "unknown_signer")
    assert [r.reason for r in list_rejections(ingest.engine)] == ["unknown_signer"]
    assert log_size(ingest) == 0


def test_revoked_signer_is_rejected(ingest: Ingest) -> None:
    """After revocation, the device's next envelope is refused with `signer_not_active`."""
    device = ingest.device()
    still_flowing(ingest, device)
    revoke_device(ingest.engine, device.device_id)
    device.send_next()
    receipt, _ = answer(ingest, device)
    assert (receipt.status, receipt.reason) == ("rejected", "signer_not_active")
    assert log_size(ingest) == 1


def test_replay_of_a_different_envelope_at_the_same_seq_is_equivocation(ingest: Ingest) -> None:
    """A second, different envelope with an already used seq is refused as `equivocation`."""
    device = ingest.device()
    still_flowing(ingest, device)
    rival = device.signer.payload(seq=1, prev="0" * 64, time="2026-09-21T00:00:00Z")
    device.publish(canonical_bytes(device.signer.sign(rival, advance=False)))
    receipt, _ = answer(ingest, device)
    assert (receipt.status, receipt.reason, receipt.seq) == ("rejected", "equivocation", 1)
    assert [r.reason for r in list_rejections(ingest.engine)] == ["equivocation"]
    still_flowing(ingest, device)


def test_envelope_of_another_signer_on_a_device_topic_is_rejected(ingest: Ingest) -> None:
    """Device B publishing A's validly signed envelope on B's own topic gets
    `topic_mismatch`, and A's envelope is not appended."""
    a, b = ingest.device(), ingest.device()
    envelope = canonical_bytes(a.signer.next())
    b.publish(envelope)
    receipt, _ = answer(ingest, b)
    assert (receipt.status, receipt.reason) == ("rejected", "topic_mismatch")
    assert receipt.signer == a.device_id
    [stored] = list_rejections(ingest.engine)
    assert (stored.reason, stored.device_id, stored.signer) == (
        "topic_mismatch",
        b.device_id,
        a.device_id,
    )
    assert log_size(ingest) == 0
    a.publish(envelope)  # the same envelope on its own signer's topic is fine
    receipt, _ = answer(ingest, a)
    assert receipt.status == "accepted"
