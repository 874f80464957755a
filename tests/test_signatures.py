"""Which Ed25519 signatures herbtrace accepts, held to published edge-case vectors.

Vectors (in tests/vectors/ed25519, each with its licence):

- cctv_ed25519vectors.json: C2SP CCTV, ed25519/ed25519vectors.json (commit 1e3d286), the
  complete set of edge cases for the points A and R (small order, non-canonical encodings,
  mixed order, cofactored-only equations), an extension of H. de Valence's
  "It's 255:19AM" vectors.
- speccheck_cases.json: novifinancial/ed25519-speccheck, cases.json (commit 6551933), the
  twelve cases of "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko, SSR 2020),
  S >= L among them.
- wycheproof_ed25519_test.json: Project Wycheproof (C2SP/wycheproof, commit dac1dd4),
  testvectors_v1/ed25519_test.json, each with its expected result.

The rule checked on every vector: herbtrace accepts a signature exactly when OpenSSL (the
`cryptography` package, which herbtrace verified with before) accepts it, the public key
passes `keys.check_public_key` and R would too (it is not a point of small order). So
herbtrace never accepts what OpenSSL, Go or WebCrypto would refuse, and refuses two kinds
they accept: signatures under small-order keys and signatures whose R has small order.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schemas.mqtt import RECEIPT_SIGNING_PREFIX
from traceability.canonical import canonical_bytes
from traceability.envelope import GENESIS_PREV, SIGNING_PREFIX, parse_envelope, verify_envelope
from traceability.errors import InvalidInput, NoteError, SignatureInvalid
from traceability.ingest.receipts import payload_bytes, receipt_payload, verify_receipt
from traceability.keys import check_public_key, key_id_for, raw_public_key
from traceability.ledger import Ledger
from traceability.log import precheck
from traceability.log.entry import build_leaf
from traceability.log.entry_check import SignerCheck, check_chunk
from traceability.log.note import NoteSigner, NoteVerifier, note_key_id, open_note
from traceability.log.precheck import Failed, Outcome
from traceability.log.results import AppendResult
from traceability.log.signers import register_signer
from traceability.signatures import verify_signature
from traceability.types import EnvelopeHash

VECTORS = Path(__file__).resolve().parent / "vectors" / "ed25519"

L = 2**252 + 27742317777372353535851937790883648493
"""The order of the prime-order subgroup of edwards25519 (RFC 8032 §5.1)."""
IDENTITY = (1).to_bytes(32, "little")
"""The encoding of the identity point, a point of small order (order 1)."""


class Vector(NamedTuple):
    source: str
    public_key: bytes
    signature: bytes
    message: bytes
    expected: str | None  # Wycheproof's result; None where the source gives none


def _vectors() -> list[Vector]:
    out: list[Vector] = []
    for case in json.loads((VECTORS / "cctv_ed25519vectors.json").read_text()):
        out.append(
            Vector(
                f"cctv {case['number']}",
                bytes.fromhex(case["key"]),
                bytes.fromhex(case["sig"]),
                case["msg"].encode(),
                None,
            )
        )
    for n, case in enumerate(json.loads((VECTORS / "speccheck_cases.json").read_text())):
        out.append(
            Vector(
                f"speccheck {n}",
                bytes.fromhex(case["pub_key"]),
                bytes.fromhex(case["signature"]),
                bytes.fromhex(case["message"]),
                None,
            )
        )
    wycheproof = json.loads((VECTORS / "wycheproof_ed25519_test.json").read_text())
    for group in wycheproof["testGroups"]:
        key = bytes.fromhex(group["publicKey"]["pk"])
        for case in group["tests"]:
            out.append(
                Vector(
                    f"wycheproof {case['tcId']}",
                    key,
                    bytes.fromhex(case["sig"]),
                    bytes.fromhex(case["msg"]),
                    case["result"],
                )
            )
    return out


VECTOR_LIST = _vectors()


def _openssl(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """The verdict of `cryptography` (OpenSSL), herbtrace's verifier before libsodium."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _sound_point(encoded: bytes) -> bool:
    """Whether `check_public_key` passes a 32-byte point encoding."""
    try:
        check_public_key(encoded)
    except InvalidInput:
        return False
    return True


def test_the_vectors_are_all_there() -> None:
    """914 CCTV, 12 speccheck and 151 Wycheproof vectors are read."""
    kinds = Counter(v.source.split()[0] for v in VECTOR_LIST)
    assert kinds == {"cctv": 914, "speccheck": 12, "wycheproof": 151}


@pytest.mark.parametrize("vector", VECTOR_LIST, ids=[v.source for v in VECTOR_LIST])
def test_herbtrace_accepts_what_openssl_accepts_under_sound_points_only(vector: Vector) -> None:
    """Accepted exactly when OpenSSL accepts and neither A nor R is weak; never beyond OpenSSL."""
    ours = verify_signature(vector.public_key, vector.signature, vector.message)
    openssl = _openssl(vector.public_key, vector.signature, vector.message)
    sound = _sound_point(vector.public_key) and _sound_point(vector.signature[:32])
    assert ours == (openssl and sound)
    if vector.expected is not None:
        assert ours == (vector.expected == "valid")


def test_the_two_verifiers_differ_only_where_herbtrace_refuses() -> None:
    """The differences are the weak-point cases, and each kind is really exercised."""
    differ: Counter[str] = Counter()
    both_refuse = 0
    for v in VECTOR_LIST:
        ours = verify_signature(v.public_key, v.signature, v.message)
        openssl = _openssl(v.public_key, v.signature, v.message)
        assert not ours or openssl, v.source  # never looser than OpenSSL
        if openssl and not ours:
            differ["weak key" if not _sound_point(v.public_key) else "small-order R"] += 1
        both_refuse += not openssl
    assert differ == {"weak key": 125, "small-order R": 44}
    assert both_refuse == 776  # S >= L, non-canonical R, cofactored-only equations, tampering


def test_a_signature_s_at_or_above_l_is_refused() -> None:
    """S + L is the same scalar as S, but RFC 8032 §5.1.7 requires S < L: malleability."""
    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    message = b"herbtrace"
    signature = key.sign(message)
    s = int.from_bytes(signature[32:], "little")
    public = raw_public_key(key)
    assert verify_signature(public, signature, message)
    malleated = signature[:32] + (s + L).to_bytes(32, "little")
    assert not verify_signature(public, malleated, message)
    assert not _openssl(public, malleated, message)


@pytest.mark.parametrize(
    ("key_size", "signature_size"), [(31, 64), (33, 64), (0, 64), (32, 63), (32, 65), (32, 0)]
)
def test_a_key_or_signature_of_the_wrong_length_does_not_verify(
    key_size: int, signature_size: int
) -> None:
    """Wrong lengths are refused, not raised: a 65-byte signature is not 64 bytes and a tail."""
    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    message = b"herbtrace"
    signature = (key.sign(message) + b"\0")[:signature_size]
    public = (raw_public_key(key) + b"\0")[:key_size]
    assert not verify_signature(public, signature, message)


# --- a signer who crafts R = identity: OpenSSL accepts, every herbtrace verifier refuses ---

SEED = bytes(range(32, 64))
CRAFTER = Ed25519PrivateKey.from_private_bytes(SEED)
CRAFTER_PUBLIC = raw_public_key(CRAFTER)


def _small_order_r_signature(message: bytes) -> bytes:
    """Sign with nonce r = 0, so R is the identity and S = k·a: [S]B = R + [k]A holds."""
    digest = hashlib.sha512(SEED).digest()
    scalar = bytearray(digest[:32])
    scalar[0] &= 248
    scalar[31] &= 127
    scalar[31] |= 64
    a = int.from_bytes(scalar, "little")
    k = int.from_bytes(hashlib.sha512(IDENTITY + CRAFTER_PUBLIC + message).digest(), "little")
    return IDENTITY + (k * a % L).to_bytes(32, "little")


def _crafted_envelope() -> dict[str, object]:
    payload = {
        "v": 1,
        "signer": key_id_for(CRAFTER_PUBLIC),
        "seq": 1,
        "prev": GENESIS_PREV,
        "time": "2026-09-20T08:30:00Z",
        "body": {"type": "sensor_reading", "value": 1},
    }
    signature = _small_order_r_signature(SIGNING_PREFIX + canonical_bytes(payload))
    return {"payload": payload, "sig": base64.b64encode(signature).decode()}


def test_openssl_accepts_the_crafted_signature() -> None:
    """The premise: the crafted signature satisfies the cofactorless equation."""
    envelope = parse_envelope(_crafted_envelope())
    assert _openssl(CRAFTER_PUBLIC, envelope.signature, envelope.signed_message())


def test_ingest_refuses_a_signature_whose_r_has_small_order() -> None:
    """verify_envelope and the precheck workers refuse it as signature_invalid."""
    envelope = parse_envelope(_crafted_envelope())
    with pytest.raises(SignatureInvalid):
        verify_envelope(envelope, CRAFTER_PUBLIC)
    with pytest.raises(SignatureInvalid):
        verify_envelope(envelope, CRAFTER.public_key())
    [outcome] = precheck.check([_crafted_envelope()], {envelope.signer: CRAFTER_PUBLIC})
    assert isinstance(outcome, Failed)
    assert isinstance(outcome.error, SignatureInvalid)
    good = {"payload": _crafted_envelope()["payload"]}
    good["sig"] = base64.b64encode(CRAFTER.sign(envelope.signed_message())).decode()
    [outcome] = precheck.check([good], {envelope.signer: CRAFTER_PUBLIC})
    assert isinstance(outcome, Outcome)
    assert outcome.verified


def test_the_log_refuses_a_signature_whose_r_has_small_order(ledger: Ledger) -> None:
    """Appending the crafted envelope is refused on both backends; nothing is written."""
    register_signer(
        ledger.engine,
        public_key=CRAFTER_PUBLIC,
        name="crafter",
        organisation="herbtrace tests",
        role="device",
    )
    [result] = ledger.append([_crafted_envelope()])
    assert result.status == "rejected"
    assert result.reason == "signature_invalid"


def test_the_audit_flags_an_entry_whose_r_has_small_order() -> None:
    """An old log holding such an entry fails the audit: the strictest rule wins there too."""
    envelope = parse_envelope(_crafted_envelope())
    received = "2026-09-20T08:30:01.000000Z"
    leaf = build_leaf(0, bytes(32), received, envelope.signature, envelope.payload_bytes)
    keys = {envelope.signer: SignerCheck(CRAFTER_PUBLIC, None, "2026-01-01T00:00:00Z", None)}
    [row] = check_chunk([(0, leaf, None, None, None, None)], keys)
    assert row[-1] == (f"signature by {envelope.signer} does not verify",)
    honest = CRAFTER.sign(envelope.signed_message())
    leaf = build_leaf(0, bytes(32), received, honest, envelope.payload_bytes)
    [row] = check_chunk([(0, leaf, None, None, None, None)], keys)
    assert row[-1] == ()


def test_a_note_signature_whose_r_has_small_order_is_invalid() -> None:
    """open_note refuses a checkpoint signed with R = identity by a known key."""
    verifier = NoteVerifier("crafter", note_key_id("crafter", CRAFTER_PUBLIC), CRAFTER_PUBLIC)
    text = "crafter\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    blob = verifier.key_id.to_bytes(4, "big") + _small_order_r_signature(text.encode())
    note = f"{text}\n\u2014 crafter {base64.b64encode(blob).decode()}\n"
    with pytest.raises(NoteError, match="invalid"):
        open_note(note, [verifier])
    signer = NoteSigner("crafter", CRAFTER)
    blob = verifier.key_id.to_bytes(4, "big") + signer.sign(text.encode())
    honest = f"{text}\n\u2014 crafter {base64.b64encode(blob).decode()}\n"
    assert open_note(honest, [verifier]).verified == [verifier]


def test_a_receipt_signature_whose_r_has_small_order_is_invalid() -> None:
    """verify_receipt refuses a receipt whose R is the identity, even under the right key."""
    result = AppendResult(
        status="accepted",
        envelope_hash=EnvelopeHash(bytes(32)),
        signer=key_id_for(CRAFTER_PUBLIC),
        seq=1,
        index=0,
    )
    payload = payload_bytes(receipt_payload(result, "crafter", "2026-09-20T08:30:01Z"))
    signature = _small_order_r_signature(RECEIPT_SIGNING_PREFIX + payload)
    receipt = b'{"payload":' + payload + b',"sig":"' + base64.b64encode(signature) + b'"}'
    with pytest.raises(SignatureInvalid):
        verify_receipt(receipt, CRAFTER_PUBLIC)
    honest = base64.b64encode(CRAFTER.sign(RECEIPT_SIGNING_PREFIX + payload))
    receipt = b'{"payload":' + payload + b',"sig":"' + honest + b'"}'
    assert verify_receipt(receipt, CRAFTER_PUBLIC).status == "accepted"
