"""RFC 8785 canonical JSON: cyberphone/json-canonicalization vectors and strict parsing."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import pytest

from traceability.canonical import canonical_bytes, canonical_json_loads
from traceability.errors import CanonicalizationError, InvalidInput

JCS = Path(__file__).parent / "vectors" / "jcs"
NAMES = sorted(path.stem for path in (JCS / "input").glob("*.json"))


def test_vector_set_is_complete() -> None:
    """All six cyberphone inputs are present with their output and outhex files and the licence."""
    assert NAMES == ["arrays", "french", "structures", "unicode", "values", "weird"]
    for name in NAMES:
        assert (JCS / "output" / f"{name}.json").is_file()
        assert (JCS / "outhex" / f"{name}.txt").is_file()
    assert "Apache License" in (JCS / "LICENSE").read_text()


@pytest.mark.parametrize("name", NAMES)
def test_vector_matches_expected_output(name: str) -> None:
    """Parsing an input vector and canonicalizing it yields the expected output bytes exactly."""
    value = canonical_json_loads((JCS / "input" / f"{name}.json").read_bytes())
    assert canonical_bytes(value) == (JCS / "output" / f"{name}.json").read_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_vector_matches_expected_hex(name: str) -> None:
    """Canonical bytes of an input vector equal the bytes listed in its outhex file."""
    value = canonical_json_loads((JCS / "input" / f"{name}.json").read_bytes())
    expected = bytes.fromhex("".join((JCS / "outhex" / f"{name}.txt").read_text().split()))
    assert canonical_bytes(value) == expected


@pytest.mark.parametrize("name", NAMES)
def test_canonical_output_is_a_fixed_point(name: str) -> None:
    """Re-parsing and re-canonicalizing an expected output returns the same bytes."""
    output = (JCS / "output" / f"{name}.json").read_bytes()
    assert canonical_bytes(canonical_json_loads(output)) == output


def test_keys_sort_by_utf16_code_units() -> None:
    """Object members sort by UTF-16 code units, so U+1F600 (a surrogate pair) precedes U+FB33."""
    assert canonical_bytes({"\ufb33": 1, "\U0001f600": 2, "a": 3}) == (
        '{"a":3,"\U0001f600":2,"\ufb33":1}'.encode()
    )


def test_safe_integer_bounds_are_accepted() -> None:
    """Integers of magnitude 2^53 - 1 are inside the I-JSON range and serialize as digits."""
    assert canonical_bytes([2**53 - 1, -(2**53 - 1)]) == b"[9007199254740991,-9007199254740991]"


@pytest.mark.parametrize("number", [2**53, -(2**53), 10**30], ids=["2^53", "-2^53", "10^30"])
def test_integer_beyond_safe_range_is_refused(number: int) -> None:
    """Integers beyond ±(2^53 - 1) raise CanonicalizationError naming the range."""
    with pytest.raises(CanonicalizationError, match="2\\^53"):
        canonical_bytes({"n": number})


def test_integer_too_long_to_print_is_refused() -> None:
    """An integer longer than Python's int-to-str digit limit still raises CanonicalizationError."""
    with pytest.raises(CanonicalizationError):
        canonical_bytes([10**5000])


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_non_finite_float_is_refused(number: float) -> None:
    """NaN and ±Infinity raise CanonicalizationError."""
    with pytest.raises(CanonicalizationError, match="NaN"):
        canonical_bytes([number])


@pytest.mark.parametrize(
    "value",
    [
        {1: "int key"},
        {"bytes": b"\x00"},
        {"decimal": Decimal("1.5")},
        {"set": {1, 2}},
        {"lone surrogate": "\ud800"},
        {"\udfff": "lone surrogate key"},
        object(),
    ],
)
def test_unrepresentable_value_is_refused(value: object) -> None:
    """Non-string keys, unsupported types and lone surrogates raise CanonicalizationError."""
    with pytest.raises(CanonicalizationError):
        canonical_bytes(value)


def test_canonicalization_error_is_invalid_input() -> None:
    """CanonicalizationError is an InvalidInput, so callers can treat it as bad input."""
    with pytest.raises(InvalidInput):
        canonical_bytes({"n": 2**60})


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"a": 1, "a": 2}', "duplicate"),
        (b'{"outer": {"k": true, "k": false}}', "duplicate"),
        (b"[NaN]", "NaN"),
        (b'{"x": Infinity}', "Infinity"),
        (b"-Infinity", "Infinity"),
        (b"[1e400]", "overflows"),
        (b'{"a": "\xff"}', "UTF-8"),
        (b'"\xc3\x28"', "UTF-8"),
        (b'"\xed\xa0\x80"', "UTF-8"),
        (b'"\\ud800"', "surrogate"),
        (b'{"\\udc00": 1}', "surrogate"),
        (b"\xef\xbb\xbf{}", "BOM"),
        (b"{'a': 1}", "malformed"),
        (b"[1,]", "malformed"),
        (b"", "malformed"),
        (b"[" * 100_000 + b"]" * 100_000, "deep"),
    ],
)
def test_strict_loads_refuses_bad_json(data: bytes, reason: str) -> None:
    """Duplicate keys, NaN/Infinity, overflow, bad UTF-8, surrogates or bad syntax: InvalidInput."""
    with pytest.raises(InvalidInput, match=reason):
        canonical_json_loads(data)


def test_strict_loads_accepts_plain_json() -> None:
    """Well-formed JSON with nesting, unicode escapes and numbers parses to Python values."""
    assert canonical_json_loads(b'{"a": [1, 2.5, "\\u00e9", null, true], "b": {}}') == {
        "a": [1, 2.5, "é", None, True],
        "b": {},
    }
