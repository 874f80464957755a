"""Signed envelopes: sign/parse/verify round trips, the signing prefix, and every field rule."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.envelope import Envelope, EnvelopePayload
from traceability.canonical import canonical_bytes
from traceability.envelope import (
    GENESIS_PREV,
    SIGNING_PREFIX,
    ParsedEnvelope,
    envelope_hash,
    parse_envelope,
    sign_envelope,
    verify_envelope,
)
from traceability.errors import InvalidInput, SignatureInvalid
from traceability.keys import key_id_for, raw_public_key

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEY_ID = key_id_for(raw_public_key(KEY))


def _payload(**overrides: Any) -> dict[str, Any]:
    """Return a valid seq-1 payload for KEY, with any member replaced."""
    payload: dict[str, Any] = {
        "v": 1,
        "signer": KEY_ID,
        "seq": 1,
        "prev": GENESIS_PREV,
        "time": "2026-09-20T08:30:00Z",
        "body": {"type": "harvest", "herb": "人参", "quantity": {"value": "182.500", "unit": "kg"}},
    }
    payload.update(overrides)
    return payload


def _with(payload: dict[str, Any]) -> dict[str, Any]:
    """Wrap a payload (valid or not) in an envelope with a well-formed but arbitrary signature."""
    return {"payload": payload, "sig": base64.b64encode(bytes(64)).decode()}


def test_sign_parse_verify_round_trip() -> None:
    """A signed envelope parses to its signer, seq, prev and canonical bytes, and verifies."""
    payload = _payload()
    envelope = sign_envelope(KEY, payload)
    parsed = parse_envelope(json.dumps(envelope).encode())
    assert parsed.signer == KEY_ID
    assert parsed.seq == 1
    assert parsed.prev == GENESIS_PREV
    assert parsed.payload_bytes == canonical_bytes(payload)
    assert parsed.envelope_hash == hashlib.sha256(canonical_bytes(payload)).digest()
    assert parsed.envelope_hash == envelope_hash(parsed.payload_bytes)
    assert parsed.signed_message() == b"herbtrace/v1/envelope\n" + parsed.payload_bytes
    verify_envelope(parsed, KEY.public_key())
    assert parsed.to_json() == envelope


def test_signature_is_over_the_prefixed_canonical_bytes() -> None:
    """sign_envelope's signature verifies against SIGNING_PREFIX || RFC 8785 payload bytes."""
    payload = _payload()
    envelope = sign_envelope(KEY, payload)
    signature = base64.b64decode(envelope["sig"])
    KEY.public_key().verify(signature, SIGNING_PREFIX + canonical_bytes(payload))
    assert envelope["payload"] is payload


@settings(max_examples=100, deadline=None)
@given(
    seq=st.integers(min_value=1, max_value=2**53 - 1),
    prev=st.binary(min_size=32, max_size=32),
    extra=st.dictionaries(
        st.text(max_size=8).filter(lambda k: k != "type"),
        st.one_of(st.text(), st.integers(-(2**53 - 1), 2**53 - 1), st.booleans(), st.none()),
        max_size=4,
    ),
    ensure_ascii=st.booleans(),
    indent=st.sampled_from([None, 2]),
)
def test_bytes_and_dict_parse_alike(
    seq: int, prev: bytes, extra: dict[str, Any], ensure_ascii: bool, indent: int | None
) -> None:
    """Parsing the JSON text or the dict of an envelope gives the same bytes, hash and fields."""
    payload = _payload(seq=seq, prev=prev.hex(), body={**extra, "type": "inspect.v2"})
    envelope = sign_envelope(KEY, payload)
    text = json.dumps(envelope, ensure_ascii=ensure_ascii, indent=indent).encode()
    from_bytes = parse_envelope(text)
    from_dict = parse_envelope(envelope)
    assert from_bytes == from_dict
    assert from_bytes.payload_bytes == canonical_bytes(payload)
    verify_envelope(from_bytes, KEY.public_key())


def test_bytes_and_dict_parse_alike_outside_the_fast_path() -> None:
    """Floats, astral-plane keys and escaped pairs in the body give identical bytes either way."""
    payload = _payload(body={"type": "note", "\U0001f33f": "草", "\ufb33": 1, "ratio": 0.5})
    envelope = sign_envelope(KEY, payload)
    from_escaped = parse_envelope(json.dumps(envelope).encode())
    from_raw = parse_envelope(json.dumps(envelope, ensure_ascii=False).encode())
    from_dict = parse_envelope(envelope)
    assert from_escaped == from_raw == from_dict
    assert from_dict.payload_bytes.index("\U0001f33f".encode()) < from_dict.payload_bytes.index(
        "\ufb33".encode()
    )
    verify_envelope(from_dict, KEY.public_key())


def test_signature_over_the_bare_payload_fails() -> None:
    """A signature over the payload bytes without SIGNING_PREFIX does not verify."""
    payload = _payload()
    bare = KEY.sign(canonical_bytes(payload))
    envelope = {"payload": payload, "sig": base64.b64encode(bare).decode()}
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_envelope(parse_envelope(envelope), KEY.public_key())


def test_tampered_payload_fails() -> None:
    """Changing any payload member after signing makes verification fail."""
    envelope = sign_envelope(KEY, _payload())
    envelope["payload"] = {**envelope["payload"], "time": "2026-09-20T08:30:01Z"}
    with pytest.raises(SignatureInvalid):
        verify_envelope(parse_envelope(envelope), KEY.public_key())


def test_another_keys_public_key_fails() -> None:
    """An envelope does not verify under a different public key."""
    parsed = parse_envelope(sign_envelope(KEY, _payload()))
    with pytest.raises(SignatureInvalid):
        verify_envelope(parsed, Ed25519PrivateKey.generate().public_key())


def test_sign_envelope_refuses_a_payload_naming_another_key() -> None:
    """sign_envelope raises InvalidInput when the payload's signer is not the key's ID."""
    other = key_id_for(raw_public_key(Ed25519PrivateKey.generate()))
    with pytest.raises(InvalidInput, match="signer"):
        sign_envelope(KEY, _payload(signer=other))
    with pytest.raises(InvalidInput, match="signer"):
        sign_envelope(KEY, {k: v for k, v in _payload().items() if k != "signer"})


def test_parsed_envelope_is_picklable_and_hashable() -> None:
    """A ParsedEnvelope is a plain named tuple (so worker processes can receive it)."""
    parsed = parse_envelope(sign_envelope(KEY, _payload()))
    assert isinstance(parsed, ParsedEnvelope)
    assert ParsedEnvelope(*parsed) == parsed


INVALID_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("v-zero", {"v": 0}, "payload.v"),
    ("v-two", {"v": 2}, "payload.v"),
    ("v-string", {"v": "1"}, "payload.v"),
    ("v-true", {"v": True}, "payload.v"),
    ("v-null", {"v": None}, "payload.v"),
    ("signer-uppercase", {"signer": KEY_ID.upper()}, "payload.signer"),
    ("signer-short", {"signer": KEY_ID[:31]}, "payload.signer"),
    ("signer-long", {"signer": KEY_ID + "0"}, "payload.signer"),
    ("signer-newline", {"signer": KEY_ID + "\n"}, "payload.signer"),
    ("signer-non-hex", {"signer": "g" * 32}, "payload.signer"),
    ("signer-int", {"signer": 1}, "payload.signer"),
    ("seq-zero", {"seq": 0}, "payload.seq"),
    ("seq-negative", {"seq": -1}, "payload.seq"),
    ("seq-2^53", {"seq": 2**53}, "payload.seq"),
    ("seq-true", {"seq": True}, "payload.seq"),
    ("seq-string", {"seq": "1"}, "payload.seq"),
    ("seq-float", {"seq": 1.5}, "payload.seq"),
    ("prev-short", {"prev": "0" * 63}, "payload.prev"),
    ("prev-long", {"prev": "0" * 65}, "payload.prev"),
    ("prev-uppercase", {"prev": "A" * 64}, "payload.prev"),
    ("prev-null", {"prev": None}, "payload.prev"),
    ("time-offset", {"time": "2026-09-20T08:30:00+00:00"}, "payload.time"),
    ("time-no-zone", {"time": "2026-09-20T08:30:00"}, "payload.time"),
    ("time-lowercase-z", {"time": "2026-09-20T08:30:00z"}, "payload.time"),
    ("time-date-only", {"time": "2026-09-20Z"}, "payload.time"),
    ("time-no-seconds", {"time": "2026-09-20T08:30Z"}, "payload.time"),
    ("time-basic-format", {"time": "20260920T083000Z"}, "payload.time"),
    ("time-week-date", {"time": "2026-W38-7T08:30:00Z"}, "payload.time"),
    ("time-month-13", {"time": "2026-13-20T08:30:00Z"}, "payload.time"),
    ("time-hour-24", {"time": "2026-09-20T24:30:00Z"}, "payload.time"),
    ("time-words", {"time": "yesterday Z"}, "payload.time"),
    ("time-too-long", {"time": "2026-09-20T08:30:00." + "0" * 30 + "Z"}, "payload.time"),
    ("time-int", {"time": 1758357000}, "payload.time"),
    ("body-type-uppercase", {"body": {"type": "Harvest"}}, "payload.body.type"),
    ("body-type-digit-first", {"body": {"type": "1harvest"}}, "payload.body.type"),
    ("body-type-dash", {"body": {"type": "har-vest"}}, "payload.body.type"),
    ("body-type-empty", {"body": {"type": ""}}, "payload.body.type"),
    ("body-type-65-chars", {"body": {"type": "a" * 65}}, "payload.body.type"),
    ("body-type-missing", {"body": {"batch": "B-1"}}, "payload.body.type"),
    ("body-type-int", {"body": {"type": 1}}, "payload.body.type"),
    ("body-not-object", {"body": "harvest"}, "payload.body"),
    ("extra-member", {"note": "hi"}, "payload.note"),
]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [pytest.param(o, f, id=name) for name, o, f in INVALID_FIELDS],
)
def test_invalid_payload_field_is_refused(overrides: dict[str, Any], field: str) -> None:
    """Each broken payload rule raises InvalidInput naming the field, from dict and from bytes."""
    envelope = _with(_payload(**overrides))
    with pytest.raises(InvalidInput, match=f"invalid envelope: {field}:"):
        parse_envelope(envelope)
    with pytest.raises(InvalidInput, match=f"invalid envelope: {field}:"):
        parse_envelope(json.dumps(envelope).encode())


@pytest.mark.parametrize(
    "missing", ["v", "signer", "seq", "prev", "time", "body"], ids=lambda m: f"no-{m}"
)
def test_missing_payload_field_is_refused(missing: str) -> None:
    """A payload lacking any required member raises InvalidInput naming it."""
    payload = {k: v for k, v in _payload().items() if k != missing}
    with pytest.raises(InvalidInput, match=f"invalid envelope: payload.{missing}:"):
        parse_envelope(_with(payload))


@pytest.mark.parametrize(
    "overrides",
    [
        {"seq": 2**53 - 1},
        {"prev": "f" * 64},
        {"time": "2026-09-20T08:30:00.123456789Z"},
        {"time": "2028-02-29T23:59:59.5Z"},
        {"body": {"type": "a"}},
        {"body": {"type": "a" + "b" * 63}},
        {"body": {"type": "lab.assay_v2", "extra": [1, {"x": None}]}},
    ],
    ids=["seq-max", "prev-ff", "time-nanoseconds", "time-leap-day", "type-1", "type-64", "body"],
)
def test_boundary_payloads_are_accepted(overrides: dict[str, Any]) -> None:
    """Values at the edge of each rule are accepted and parse from dict and bytes alike."""
    envelope = sign_envelope(KEY, _payload(**overrides))
    assert parse_envelope(envelope) == parse_envelope(json.dumps(envelope).encode())


@pytest.mark.parametrize(
    ("envelope", "match"),
    [
        ({"payload": _payload()}, "sig"),
        ({"payload": _payload(), "sig": "AAAA"}, "sig"),
        ({"payload": _payload(), "sig": base64.b64encode(bytes(63)).decode()}, "sig"),
        ({"payload": _payload(), "sig": base64.urlsafe_b64encode(b"\xff" * 64).decode()}, "sig"),
        ({"payload": _payload(), "sig": base64.b64encode(bytes(64)).decode(), "x": 1}, "x"),
        ({"sig": base64.b64encode(bytes(64)).decode()}, "payload"),
        ({"payload": [], "sig": base64.b64encode(bytes(64)).decode()}, "payload"),
    ],
    ids=["no-sig", "short-sig", "63-byte-sig", "urlsafe-sig", "extra", "no-payload", "list"],
)
def test_invalid_envelope_shape_is_refused(envelope: dict[str, Any], match: str) -> None:
    """A missing or malformed sig, a missing payload or an extra member raises InvalidInput."""
    with pytest.raises(InvalidInput, match=f"invalid envelope: {match}"):
        parse_envelope(envelope)


@pytest.mark.parametrize(
    "raw", [b"[]", b'"envelope"', b"null", b"{", b'{"payload":1,"payload":2}', b"\xff"]
)
def test_non_object_or_bad_json_is_refused(raw: bytes) -> None:
    """Envelope bytes that are not one strict JSON object raise InvalidInput."""
    with pytest.raises(InvalidInput):
        parse_envelope(raw)


def test_envelope_models_round_trip_extra_body_members() -> None:
    """Envelope.raw_payload keeps extra body members and the model forbids extra payload members."""
    payload = _payload()
    model = Envelope.model_validate(_with(payload))
    assert model.raw_payload() == payload
    assert set(EnvelopePayload.model_fields) == {"v", "signer", "seq", "prev", "time", "body"}
