"""docs/protocol.md's worked example is exactly what the code computes."""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from protocol_example import example

from schemas.events import parse_body
from schemas.export import SCHEMA_DIR
from traceability.envelope import SIGNING_PREFIX, parse_envelope
from traceability.errors import TraceabilityError
from traceability.log.checkpoint import open_checkpoint
from traceability.log.note import NoteVerifier
from traceability.log.results import rejected

DOC = (Path(__file__).parent.parent / "docs" / "protocol.md").read_text(encoding="utf-8")
VALUES = example()


@pytest.mark.parametrize("name", sorted(VALUES))
def test_worked_example_value_is_in_the_document(name: str) -> None:
    """Every value of the worked example appears verbatim in the protocol document."""
    value = VALUES[name].rstrip("\n")
    assert value in DOC, f"docs/protocol.md does not show the current {name}"


def test_worked_example_verifies_independently_of_the_log_code() -> None:
    """The example's signature and checkpoint verify with nothing but cryptography's Ed25519."""
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(VALUES["device_public_key"]))
    public.verify(
        base64.b64decode(VALUES["signature1"]),
        SIGNING_PREFIX + VALUES["payload1_canonical"].encode(),
    )
    checkpoint = open_checkpoint(VALUES["checkpoint"], NoteVerifier.from_vkey(VALUES["log_vkey"]))
    assert checkpoint.size == 2
    assert checkpoint.root.hex() == VALUES["root"]


@cache
def _category_class(category: str) -> str:
    """The code points of a Unicode general category as a Python character-class body."""
    points = [cp for cp in range(0x110000) if unicodedata.category(chr(cp)) == category]
    ranges: list[tuple[int, int]] = []
    for cp in points:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges)


def _python_pattern(pattern: str) -> str:
    """An ECMA-262 pattern of the exported schemas in Python's `re` dialect: Python lacks
    the Unicode property escapes `\\p{..}` the schemas use inside character classes."""
    return re.sub(r"\\p\{(\w+)\}", lambda m: _category_class(m.group(1)), pattern)


def ecma_validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A JSON Schema 2020-12 validator whose `pattern` understands `\\p{Cc}` and the like."""

    def pattern(
        _validator: jsonschema.protocols.Validator, value: str, instance: object, _: object
    ) -> Iterator[jsonschema.ValidationError]:
        if isinstance(instance, str) and not re.search(_python_pattern(value), instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {value!r}")

    cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": pattern})
    return cls(schema)


def _worked_example_payloads() -> list[dict[str, object]]:
    """The canonical payloads §7 shows, read from the document itself."""
    section = DOC.split("## 7. Worked example", 1)[1].split("## 8.", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith('{"body":')]
    payloads = [json.loads(line) for line in dict.fromkeys(lines)]  # entry 0 repeats envelope 1
    assert len(payloads) == 2
    return payloads


@pytest.mark.parametrize("position", [0, 1])
def test_worked_example_bodies_are_valid_events_by_both_schemas(position: int) -> None:
    """A device copying §7 sends valid events: each payload passes the exported envelope
    and event-body JSON Schemas, and the body the pydantic contract the log applies."""
    payload = _worked_example_payloads()[position]
    envelope = json.loads((SCHEMA_DIR / "envelope.schema.json").read_text(encoding="utf-8"))
    body = json.loads((SCHEMA_DIR / "event-body.schema.json").read_text(encoding="utf-8"))
    ecma_validator(envelope).validate({"payload": payload, "sig": VALUES["signature1"]})
    ecma_validator(body).validate(payload["body"])
    parse_body(payload["body"])  # type: ignore[arg-type]


def test_the_schema_check_refuses_what_the_old_example_sent() -> None:
    """The check has teeth: a harvest naming its herb in Chinese, without origin, site and
    date, and a ship with `batch` for `batches` and no shipment are refused."""
    body = json.loads((SCHEMA_DIR / "event-body.schema.json").read_text(encoding="utf-8"))
    old = [
        {"type": "harvest", "batch": "B-1", "herb": "人参", "growing_years": 6,
         "quantity": {"value": "182.500", "unit": "kg"}},
        {"type": "ship", "batch": "B-1", "to": "org-jian-processor"},
        {**_worked_example_payloads()[0]["body"], "part": "根\u202e"},  # type: ignore[dict-item]
    ]  # fmt: skip
    for candidate in old:
        assert not ecma_validator(body).is_valid(candidate), candidate


def _envelope_text(seq: str, body: str) -> bytes:
    payload = (
        f'{{"v":1,"signer":"{VALUES["signer"]}","seq":{seq},"prev":"{"0" * 64}",'
        f'"time":"2026-09-20T08:30:00Z","body":{body}}}'
    )
    return f'{{"payload":{payload},"sig":"{VALUES["signature1"]}"}}'.encode()


MALFORMED_AS_DOCUMENTED = {
    "not UTF-8": (b'{"payload": "\xff"}', "invalid_input"),
    "duplicate member": (_envelope_text("1", '{"type":"x","type":"y"}'), "invalid_input"),
    "lone surrogate": (_envelope_text("1", '{"type":"x","n":"\\ud800"}'), "invalid_input"),
    "1e400": (_envelope_text("1", '{"type":"x","n":1e400}'), "invalid_input"),
    "seq 3.0": (_envelope_text("3.0", '{"type":"x"}'), "invalid_input"),
    "integer beyond 2^53": (
        _envelope_text("1", '{"type":"harvest","weight":1152921504606846976}'),
        "canonicalization_error",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_AS_DOCUMENTED))
def test_malformed_envelopes_get_the_reason_section_2_gives(case: str) -> None:
    """Each example §2 gives of `invalid_input` and `canonicalization_error` is refused with
    that code by the envelope parser every front door uses, and §2 names the example."""
    raw, reason = MALFORMED_AS_DOCUMENTED[case]
    with pytest.raises(TraceabilityError) as refused:
        parse_envelope(raw)
    assert rejected(refused.value).reason == reason
    assert "`canonicalization_error` — the message is strict JSON" in DOC
