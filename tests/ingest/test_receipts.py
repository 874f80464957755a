"""Receipts: exact bytes, signatures by the log key, and refusal of anything tampered with."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from protocol_example import LOG_SEED, ORIGIN, example
from support import deterministic_key

from schemas.mqtt import RECEIPT_SIGNING_PREFIX, ReceiptPayload
from traceability.canonical import canonical_bytes
from traceability.errors import InvalidInput, SignatureInvalid
from traceability.ingest.receipts import (
    payload_bytes,
    receipt_payload,
    sign_receipt,
    sign_result,
    verify_receipt,
)
from traceability.keys import raw_public_key
from traceability.log.results import AppendResult
from traceability.types import EnvelopeHash, LeafHash

LOG_KEY = deterministic_key("receipt test log key")
EXAMPLE = example()
ACCEPTED = AppendResult(
    status="accepted",
    envelope_hash=EnvelopeHash(bytes(range(32))),
    signer="4e46f732106148cb04d355983d546c8b",
    seq=7,
    index=41,
    leaf_hash=LeafHash(bytes(32)),
)
RECEIVED = "2026-09-20T08:31:02.000118Z"


def test_receipt_bytes_are_rfc8785_of_payload_and_signature() -> None:
    """The wire form is RFC 8785 of {payload, sig}; sig is Ed25519 over prefix || payload."""
    payload = receipt_payload(ACCEPTED, "trace.example.cn/herbtrace/log", RECEIVED)
    wire = sign_receipt(payload, LOG_KEY)
    data = json.loads(wire)
    assert wire == canonical_bytes(data)
    assert set(data["payload"]) == set(ReceiptPayload.model_fields)
    assert payload_bytes(payload) == canonical_bytes(data["payload"])
    signature = base64.b64decode(data["sig"])
    LOG_KEY.public_key().verify(signature, RECEIPT_SIGNING_PREFIX + payload_bytes(payload))
    assert data["payload"]["index"] == 41
    assert data["payload"]["leaf_hash"] == "00" * 32
    assert data["payload"]["envelope_hash"] == bytes(range(32)).hex()
    assert data["payload"]["received"] == RECEIVED
    assert data["payload"]["reason"] is None


def test_verify_returns_the_payload_signed() -> None:
    """A receipt verifies with the log's public key and yields what was signed."""
    payload = receipt_payload(ACCEPTED, "test/log", RECEIVED)
    assert verify_receipt(sign_receipt(payload, LOG_KEY), raw_public_key(LOG_KEY)) == payload


def test_rejection_carries_reason_and_no_entry() -> None:
    """A rejected result's receipt has reason and detail, and no index, leaf hash or time."""
    result = AppendResult(status="rejected", reason="invalid_input", detail="bad \ud800 text")
    payload = receipt_payload(result, "test/log", RECEIVED)
    assert (payload.reason, payload.index, payload.leaf_hash, payload.received) == (
        "invalid_input",
        None,
        None,
        None,
    )
    assert payload.detail == "bad ? text"
    verify_receipt(sign_receipt(payload, LOG_KEY), raw_public_key(LOG_KEY))


def test_non_bmp_detail_is_still_canonical() -> None:
    """Text beyond the Basic Multilingual Plane is serialised exactly as RFC 8785 says."""
    result = AppendResult(status="rejected", reason="invalid_input", detail="𠀀 and 😀")
    payload = receipt_payload(result, "test/log")
    data = json.loads(sign_receipt(payload, LOG_KEY))
    assert payload_bytes(payload) == canonical_bytes(data["payload"])


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["payload"].update(index=42),
        lambda d: d["payload"].update(status="duplicate"),
        lambda d: d.update(sig=base64.b64encode(bytes(64)).decode()),
    ],
)
def test_tampered_receipt_is_refused(tamper: object) -> None:
    """Changing any signed member, or the signature, makes verification fail."""
    data = json.loads(sign_receipt(receipt_payload(ACCEPTED, "test/log", RECEIVED), LOG_KEY))
    tamper(data)  # type: ignore[operator]
    with pytest.raises(SignatureInvalid):
        verify_receipt(canonical_bytes(data), raw_public_key(LOG_KEY))


def test_receipt_from_another_key_is_refused() -> None:
    """A receipt signed by any key but the log's does not verify."""
    wire = sign_receipt(receipt_payload(ACCEPTED, "test/log"), Ed25519PrivateKey.generate())
    with pytest.raises(SignatureInvalid):
        verify_receipt(wire, raw_public_key(LOG_KEY))


@pytest.mark.parametrize("wire", [b"", b"[]", b'{"payload": {}, "sig": "x"}', b"\xff"])
def test_malformed_receipt_is_invalid_input(wire: bytes) -> None:
    """Bytes that are not a receipt raise InvalidInput."""
    with pytest.raises(InvalidInput):
        verify_receipt(wire, raw_public_key(LOG_KEY))


@pytest.mark.parametrize(
    "result",
    [
        ACCEPTED,
        AppendResult(status="duplicate", envelope_hash=ACCEPTED.envelope_hash, index=3, seq=1),
        AppendResult(status="rejected", reason="equivocation", detail="人参 😀 \ud800", seq=2),
        AppendResult(status="rejected"),
    ],
)
def test_fast_path_signs_the_same_bytes(result: AppendResult) -> None:
    """`sign_result` (the gateway's path) gives byte for byte what the model path gives."""
    payload = receipt_payload(result, "test/log", RECEIVED)
    assert sign_result(result, "test/log", RECEIVED, LOG_KEY) == sign_receipt(payload, LOG_KEY)


def test_protocol_document_receipts_are_what_the_code_signs() -> None:
    """The receipts shown in docs/protocol.md §8 are exactly what the log key of the worked
    example signs, and they verify with its public key."""
    doc = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")
    log_key = Ed25519PrivateKey.from_private_bytes(LOG_SEED)
    accepted = AppendResult(
        status="accepted",
        envelope_hash=EnvelopeHash(bytes.fromhex(EXAMPLE["envelope1_hash"])),
        signer=EXAMPLE["signer"],
        seq=1,
        index=0,
        leaf_hash=LeafHash(bytes.fromhex(EXAMPLE["leaf0_hash"])),
    )
    received = "2026-09-20T08:31:02.000118Z"
    wire = sign_result(accepted, ORIGIN, received, log_key)
    assert wire.decode() in doc
    duplicate = sign_result(replace(accepted, status="duplicate"), ORIGIN, received, log_key)
    assert json.loads(duplicate)["sig"] in doc
    other = "0123456789abcdef0123456789abcdef"
    refused = replace(
        accepted,
        status="rejected",
        index=None,
        leaf_hash=None,
        reason="topic_mismatch",
        detail=f"envelope signed by {EXAMPLE['signer']} arrived on the topic of device {other}",
    )
    assert sign_result(refused, ORIGIN, None, log_key).decode() in doc
    assert verify_receipt(wire, raw_public_key(log_key)).index == 0
