"""Signing, parsing and checking signed envelopes (the byte layout is in docs/protocol.md)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from schemas.envelope import Envelope
from traceability.canonical import canonical_bytes, canonical_json_loads, parse_json, plain_bytes
from traceability.errors import InvalidInput, SignatureInvalid
from traceability.keys import key_id_for, raw_public_key
from traceability.signatures import verify_signature
from traceability.types import EnvelopeHash, KeyID

SIGNING_PREFIX = b"herbtrace/v1/envelope\n"
"""Domain separation: an envelope signature can never be mistaken for any other signature."""

GENESIS_PREV = "0" * 64
"""`prev` of a signer's first envelope (seq 1)."""


class ParsedEnvelope(NamedTuple):
    """A structurally valid envelope with its canonical payload bytes; signature not yet checked.

    Small and picklable, so worker processes can parse and check envelopes in parallel.
    """

    signer: KeyID
    seq: int
    prev: str
    payload_bytes: bytes
    signature: bytes
    envelope_hash: EnvelopeHash

    def signed_message(self) -> bytes:
        """Return the exact bytes the Ed25519 signature covers: SIGNING_PREFIX || payload."""
        return SIGNING_PREFIX + self.payload_bytes

    def to_json(self) -> dict[str, Any]:
        """Return the wire form {"payload": …, "sig": …}."""
        return {
            "payload": canonical_json_loads(self.payload_bytes),
            "sig": base64.b64encode(self.signature).decode(),
        }


def envelope_hash(payload_bytes: bytes) -> EnvelopeHash:
    """Return SHA-256(canonical payload bytes): the identity a signer's next `prev` names."""
    return EnvelopeHash(hashlib.sha256(payload_bytes).digest())


def sign_envelope(key: Ed25519PrivateKey, payload: dict[str, Any]) -> dict[str, Any]:
    """Sign a payload (which must name this key as `signer`) and return the wire envelope."""
    if payload.get("signer") != key_id_for(raw_public_key(key)):
        raise InvalidInput("the payload's signer is not this key's key ID")
    data = canonical_bytes(payload)
    sig = key.sign(SIGNING_PREFIX + data)
    return {"payload": payload, "sig": base64.b64encode(sig).decode()}


def parse_envelope(raw: bytes | dict[str, Any]) -> ParsedEnvelope:
    """Validate an envelope's structure and compute its canonical payload bytes.

    `raw` is the JSON text of `{"payload": {...}, "sig": "<base64>"}` or its parsed form.
    Raises InvalidInput (with the offending field) on anything malformed.
    """
    plain = False
    if isinstance(raw, bytes):
        data, plain = parse_json(raw)
    else:
        data = raw
    if not isinstance(data, dict):
        raise InvalidInput("an envelope is a JSON object with 'payload' and 'sig'")
    try:
        model = Envelope.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "envelope"
        raise InvalidInput(f"invalid envelope: {where}: {first['msg']}") from exc
    payload = data["payload"]
    payload_bytes = plain_bytes(payload) if plain else canonical_bytes(payload)
    return ParsedEnvelope(
        signer=KeyID(model.payload.signer),
        seq=model.payload.seq,
        prev=model.payload.prev,
        payload_bytes=payload_bytes,
        signature=base64.b64decode(model.sig),
        envelope_hash=envelope_hash(payload_bytes),
    )


def verify_envelope(envelope: ParsedEnvelope, public_key: bytes | Ed25519PublicKey) -> None:
    """Check the Ed25519 signature over SIGNING_PREFIX || payload; SignatureInvalid if it fails.

    `public_key` is the signer's raw 32-byte key or a loaded one (`signatures` says which
    signatures verify).
    """
    raw = public_key if isinstance(public_key, bytes) else raw_public_key(public_key)
    if not verify_signature(raw, envelope.signature, envelope.signed_message()):
        raise SignatureInvalid(
            f"signature of envelope {envelope.envelope_hash.hex()} does not verify"
        )
