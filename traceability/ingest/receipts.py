"""Receipts: the log key's signed statement of what became of one submitted envelope.

Byte layout (docs/protocol.md §8)::

    receipt_payload_bytes = RFC 8785 (JCS) UTF-8 bytes of the receipt payload object
                            (all eleven members, null where they do not apply)
    signed_message        = "herbtrace/v1/receipt" || 0x0A || receipt_payload_bytes
    sig                   = Ed25519-Sign(log private key, signed_message)   (RFC 8032)
    receipt               = RFC 8785 bytes of {"payload": <payload object>, "sig": base64(sig)}

The log key is the key that signs checkpoints, so a device or regulator holding the log's
verifier key checks receipts with no other trust. A `duplicate` receipt carries the original
entry's index, leaf hash and time received: it differs from the original `accepted` receipt
in `status` alone.
"""

from __future__ import annotations

import base64
from typing import Any, Protocol

from pydantic import ValidationError

from schemas.mqtt import RECEIPT_SIGNING_PREFIX, Receipt, ReceiptPayload
from traceability.canonical import canonical_bytes, canonical_json_loads, plain_bytes
from traceability.errors import InvalidInput, SignatureInvalid
from traceability.log.results import AppendResult
from traceability.signatures import verify_signature

MAX_DETAIL_CHARS = 300
"""A rejection's human-readable detail is cut to this length."""


class MessageSigner(Protocol):
    """Anything that signs bytes with the log key (a NoteSigner, an Ed25519PrivateKey)."""

    def sign(self, data: bytes, /) -> bytes: ...


def receipt_payload(
    result: AppendResult, log_origin: str, received: str | None = None
) -> ReceiptPayload:
    """Describe an append result as a receipt payload; `received` is the entry's time received."""
    return ReceiptPayload.model_validate(_payload_data(result, log_origin, received))


def sign_result(
    result: AppendResult, log_origin: str, received: str | None, signer: MessageSigner
) -> bytes:
    """Return the signed receipt of an append result: `sign_receipt(receipt_payload(…))`,
    byte for byte, without building the model (the gateway's hot path)."""
    data = _payload_data(result, log_origin, received)
    return _signed(_canonical(data), signer)


def payload_bytes(payload: ReceiptPayload) -> bytes:
    """Return the RFC 8785 bytes of a receipt payload (every member, nulls included)."""
    return _canonical(payload.model_dump(mode="json"))


def sign_receipt(payload: ReceiptPayload, signer: MessageSigner) -> bytes:
    """Sign a receipt payload with the log key and return the receipt's wire bytes."""
    return _signed(payload_bytes(payload), signer)


def verify_receipt(receipt: bytes, log_public_key: bytes) -> ReceiptPayload:
    """Check a receipt's signature with the log's raw 32-byte public key; return its payload.

    Raises InvalidInput when the bytes are not a receipt, SignatureInvalid when the
    signature does not verify over the payload as received.
    """
    data = canonical_json_loads(receipt)
    try:
        model = Receipt.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "receipt"
        raise InvalidInput(f"invalid receipt: {where}: {first['msg']}") from exc
    assert isinstance(data, dict)  # noqa: S101 - the model accepted it as an object
    message = RECEIPT_SIGNING_PREFIX + canonical_bytes(data["payload"])
    if not verify_signature(log_public_key, base64.b64decode(model.sig), message):
        raise SignatureInvalid(
            f"receipt for envelope {model.payload.envelope_hash} is not signed by this log key"
        )
    return model.payload


def _signed(payload: bytes, signer: MessageSigner) -> bytes:
    """The wire form: RFC 8785 of {"payload", "sig"} is exactly this concatenation, since
    "payload" sorts before "sig" and the payload bytes are already canonical."""
    sig = base64.b64encode(signer.sign(RECEIPT_SIGNING_PREFIX + payload))
    return b'{"payload":' + payload + b',"sig":"' + sig + b'"}'


def _payload_data(result: AppendResult, log_origin: str, received: str | None) -> dict[str, Any]:
    """The receipt payload as JSON data: all eleven members, null where they do not apply."""
    rejected = result.status == "rejected"
    detail = None
    if rejected:
        detail = _clean(result.detail or result.reason or "rejected")[:MAX_DETAIL_CHARS]
    return {
        "v": 1,
        "log": log_origin,
        "envelope_hash": None if result.envelope_hash is None else result.envelope_hash.hex(),
        "signer": result.signer,
        "seq": result.seq,
        "status": result.status,
        "reason": result.reason if rejected else None,
        "detail": detail,
        "index": None if rejected else result.index,
        "leaf_hash": None if rejected or result.leaf_hash is None else result.leaf_hash.hex(),
        "received": None if rejected else received,
    }


def _canonical(value: dict[str, Any]) -> bytes:
    """RFC 8785 bytes; the fast encoder is exact here unless a string leaves the BMP."""
    fast = plain_bytes(value)
    if fast.isascii() or not any(ord(c) > 0xFFFF for c in fast.decode()):
        return fast
    return canonical_bytes(value)


def _clean(text: str) -> str:
    """Make a message safe for RFC 8785: valid Unicode, no lone surrogates."""
    return text.encode("utf-8", "replace").decode("utf-8")
