"""Leaf bytes of log entries: build_leaf/parse_leaf round trips, strict parsing, time format."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traceability.errors import InvalidInput
from traceability.log.entry import (
    GENESIS_LEAF_HASH,
    LEAF_MAGIC,
    Entry,
    build_leaf,
    format_time,
    parse_leaf,
)
from traceability.types import LeafHash

PREV = bytes(range(32))
SIG = bytes(range(64, 128))
PAYLOAD = '{"body":{"type":"harvest","herb":"人参"},"seq":1}'.encode()
RECEIVED = "2026-09-20T08:30:00.123456Z"

indexes = st.integers(min_value=0, max_value=10**18 - 1)  # up to 18 decimal digits
received_times = st.datetimes(
    min_value=datetime(1000, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]
    ),
)
payloads = st.binary(max_size=300).map(lambda b: b.replace(b"\n", b" "))


def _lines(**changes: bytes) -> list[bytes]:
    """Return the six lines of a valid leaf, with any named line replaced."""
    lines = {
        "magic": LEAF_MAGIC,
        "index": b"42",
        "prev": PREV.hex().encode(),
        "received": RECEIVED.encode(),
        "sig": base64.b64encode(SIG),
        "payload": PAYLOAD,
    }
    lines.update(changes)
    return list(lines.values())


def _leaf(**changes: bytes) -> bytes:
    """Return leaf bytes built line by line, with any named line replaced."""
    return b"".join(line + b"\n" for line in _lines(**changes))


def test_valid_leaf_layout_is_exact() -> None:
    """build_leaf writes the six newline-terminated lines in the documented order."""
    leaf = build_leaf(42, PREV, RECEIVED, SIG, PAYLOAD)
    assert leaf == _leaf()
    assert leaf.startswith(b"herbtrace/v1/entry\n42\n" + PREV.hex().encode() + b"\n")
    assert leaf.endswith(b"\n" + PAYLOAD + b"\n")
    assert leaf.count(b"\n") == 6


def test_genesis_prev_is_64_zeros() -> None:
    """Entry 0's prev line is 64 '0' characters (the 32 zero bytes of GENESIS_LEAF_HASH)."""
    entry = parse_leaf(build_leaf(0, GENESIS_LEAF_HASH, RECEIVED, SIG, PAYLOAD))
    assert entry.index == 0
    assert entry.prev == bytes(32)
    assert build_leaf(0, GENESIS_LEAF_HASH, RECEIVED, SIG, b"").split(b"\n")[2] == b"0" * 64


@given(
    index=indexes,
    prev=st.binary(min_size=32, max_size=32),
    moment=received_times,
    signature=st.binary(min_size=64, max_size=64),
    payload=payloads,
)
def test_build_then_parse_round_trips(
    index: int, prev: bytes, moment: datetime, signature: bytes, payload: bytes
) -> None:
    """parse_leaf(build_leaf(...)) returns every field unchanged; Entry.leaf() rebuilds it."""
    received = format_time(moment)
    leaf = build_leaf(index, prev, received, signature, payload)
    entry = parse_leaf(leaf)
    assert entry == Entry(index, LeafHash(prev), received, signature, payload)
    assert entry.leaf() == leaf


@given(
    index=indexes,
    prev=st.binary(min_size=32, max_size=32),
    signature=st.binary(min_size=64, max_size=64),
    payload=payloads,
    flip=st.integers(min_value=0, max_value=1000),
    byte=st.integers(min_value=0, max_value=255),
)
def test_accepted_leaves_rebuild_byte_for_byte(
    index: int, prev: bytes, signature: bytes, payload: bytes, flip: int, byte: int
) -> None:
    """Any single-byte change to a leaf that parse_leaf still accepts is visible in the Entry."""
    leaf = bytearray(build_leaf(index, prev, RECEIVED, signature, payload))
    leaf[flip % len(leaf)] = byte
    try:
        entry = parse_leaf(bytes(leaf))
    except InvalidInput:
        return
    assert entry.leaf() == bytes(leaf)


def test_entry_payload_and_json_view() -> None:
    """Entry.payload() parses the payload line and to_json() shows index, prev, time and sig."""
    entry = parse_leaf(_leaf())
    assert entry.payload() == {"body": {"type": "harvest", "herb": "人参"}, "seq": 1}
    assert entry.to_json() == {
        "index": 42,
        "prev": PREV.hex(),
        "received": RECEIVED,
        "envelope": {"payload": entry.payload(), "sig": base64.b64encode(SIG).decode()},
    }


def test_entry_payload_must_be_an_object() -> None:
    """Entry.payload() raises InvalidInput when the payload line is JSON but not an object."""
    with pytest.raises(InvalidInput, match="not a JSON object"):
        parse_leaf(_leaf(payload=b"[1,2]")).payload()


@pytest.mark.parametrize(
    ("leaf", "match"),
    [
        (_leaf()[:-1], "newline"),
        (b"".join(line + b"\n" for line in _lines()[:5]), "5 lines"),
        (_leaf() + b"extra\n", "7 lines"),
        (_leaf(payload=PAYLOAD[:10] + b"\n" + PAYLOAD[10:]), "7 lines"),
        (_leaf(magic=b"herbtrace/v2/entry"), "herbtrace/v1/entry"),
        (_leaf(magic=b"herbtrace/v1/entry "), "herbtrace/v1/entry"),
        (_leaf(index=b"042"), "index"),
        (_leaf(index=b"00"), "index"),
        (_leaf(index=b"-1"), "index"),
        (_leaf(index=b"+1"), "index"),
        (_leaf(index=b" 42"), "index"),
        (_leaf(index=b""), "index"),
        (_leaf(index=b"1" * 19), "index"),
        (_leaf(prev=PREV.hex().upper().encode()), "prev"),
        (_leaf(prev=PREV.hex().encode()[:-1]), "prev"),
        (_leaf(prev=PREV.hex().encode() + b"0"), "prev"),
        (_leaf(prev=b"g" * 64), "prev"),
        (_leaf(received=b"2026-09-20T08:30:00Z"), "received"),
        (_leaf(received=b"2026-09-20T08:30:00.123Z"), "received"),
        (_leaf(received=b"2026-09-20T08:30:00.123456+00:00"), "received"),
        (_leaf(received=b"2026-09-20 08:30:00.123456Z"), "received"),
        (_leaf(received=b"2026-09-20T08:30:00.123456z"), "received"),
        (_leaf(sig=base64.b64encode(SIG[:63])), "signature"),
        (_leaf(sig=base64.b64encode(SIG + b"\x00")), "signature"),
        (_leaf(sig=base64.b64encode(SIG).rstrip(b"=")), "signature"),
        (_leaf(sig=base64.urlsafe_b64encode(b"\xff" * 64)), "signature"),
        (_leaf(sig=b"*" + base64.b64encode(SIG)[1:]), "signature"),
        (_leaf(sig=b" " + base64.b64encode(SIG)[1:]), "signature"),
        (_leaf(sig=b"A" * 85 + b"B=="), "signature"),
    ],
    ids=[
        "no-trailing-newline",
        "5-lines",
        "7-lines",
        "newline-in-payload",
        "wrong-magic",
        "magic-trailing-space",
        "leading-zero-index",
        "double-zero-index",
        "negative-index",
        "plus-index",
        "space-index",
        "empty-index",
        "19-digit-index",
        "uppercase-prev",
        "short-prev",
        "long-prev",
        "non-hex-prev",
        "time-without-microseconds",
        "time-with-milliseconds",
        "time-with-offset",
        "time-with-space",
        "time-lowercase-z",
        "63-byte-signature",
        "65-byte-signature",
        "unpadded-signature",
        "urlsafe-signature",
        "bad-base64-character",
        "space-in-signature",
        "non-canonical-base64",
    ],
)
def test_malformed_leaf_is_refused(leaf: bytes, match: str) -> None:
    """parse_leaf raises InvalidInput naming the malformed part for each kind of damage."""
    with pytest.raises(InvalidInput, match=match):
        parse_leaf(leaf)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 9, 20, 8, 30, tzinfo=UTC), "2026-09-20T08:30:00.000000Z"),
        (datetime(2026, 9, 20, 8, 30, 5, 123456, tzinfo=UTC), "2026-09-20T08:30:05.123456Z"),
        (datetime(2026, 9, 20, 8, 30, 5, 7, tzinfo=UTC), "2026-09-20T08:30:05.000007Z"),
        (
            datetime(2026, 1, 1, 3, 0, 0, 500000, tzinfo=timezone(timedelta(hours=8))),
            "2025-12-31T19:00:00.500000Z",
        ),
        (
            datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-1))),
            "2026-03-01T00:59:59.999999Z",
        ),
    ],
)
def test_format_time_layout(moment: datetime, text: str) -> None:
    """format_time converts to UTC and writes YYYY-MM-DDTHH:MM:SS.ffffffZ exactly."""
    assert format_time(moment) == text


@given(moment=received_times)
def test_format_time_is_accepted_by_parse_leaf(moment: datetime) -> None:
    """Every formatted time is 27 characters, ends in Z, and names the same instant."""
    text = format_time(moment)
    assert len(text) == 27
    assert text.endswith("Z")
    assert datetime.fromisoformat(text[:-1] + "+00:00") == moment
    assert parse_leaf(_leaf(received=text.encode())).received == text
