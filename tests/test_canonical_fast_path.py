"""canonical.py's fast path: whenever parse_json says plain, plain_bytes is RFC 8785."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from traceability.canonical import canonical_bytes, parse_json, plain_bytes
from traceability.errors import InvalidInput

MAX_SAFE = 2**53 - 1

# Characters that stress string escaping and member ordering: JSON's short escapes, the
# control characters, DEL, the JavaScript line separators, the ends of the BMP either side
# of the surrogate block, a byte-order mark, and astral characters (surrogate pairs).
TRICKY_CHARS = [
    '"', "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x00", "\x01", "\x1f", " ", "\x7f",
    "\x80", "é", "中", "\u2028", "\u2029", "\ud7ff", "\ue000", "\ufb33", "\ufeff", "\uffff",
    "\U00010000", "\U0001f600", "\U0010ffff", "u", "d", "8", "0",
]  # fmt: skip

characters = st.one_of(
    st.characters(exclude_categories=("Cs",)),  # any Unicode scalar value
    st.sampled_from(TRICKY_CHARS),
)
strings = st.text(characters, max_size=12)
keys = st.one_of(
    strings,
    st.sampled_from(["", "a", "A", "é", "\ue000", "\uffff", "\U00010000", "\U0001f600"]),
)
integers = st.one_of(
    st.integers(-MAX_SAFE, MAX_SAFE),
    st.integers(-(10**30), 10**30),
    st.sampled_from([0, MAX_SAFE, -MAX_SAFE, MAX_SAFE + 1, -MAX_SAFE - 1, 2**64]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    integers,
    st.floats(allow_nan=False, allow_infinity=False),
    strings,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(keys, children, max_size=5),
    ),
    max_leaves=25,
)


def _strings_in(value: object) -> list[str]:
    """Return every string in a JSON value, object member names included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings_in(item)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings_in(v)]]
    return []


def _numbers_in(value: object) -> list[int | float]:
    """Return every number in a JSON value (booleans excluded)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, list):
        return [n for item in value for n in _numbers_in(item)]
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers_in(item)]
    return []


def _outside_fast_path(value: object) -> bool:
    """Whether a value holds a float, an integer beyond ±(2^53 - 1) or a non-BMP character."""
    numbers = _numbers_in(value)
    return (
        any(isinstance(n, float) for n in numbers)
        or any(abs(n) > MAX_SAFE for n in numbers)
        or any(ord(c) > 0xFFFF for s in _strings_in(value) for c in s)
    )


def _shuffled(value: Any, rnd: random.Random) -> Any:
    """Return the same JSON value with every object's members in a random insertion order."""
    if isinstance(value, list):
        return [_shuffled(item, rnd) for item in value]
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: _shuffled(v, rnd) for k, v in items}
    return value


def _write_string(text: str, rnd: random.Random) -> str:
    """Serialise a string choosing, per character, among its valid JSON spellings."""
    short = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n"}
    short |= {"\r": "\\r", "\t": "\\t"}
    out = ['"']
    for char in text:
        code = ord(char)
        if code > 0xFFFF:
            high = 0xD800 + ((code - 0x10000) >> 10)
            low = 0xDC00 + ((code - 0x10000) & 0x3FF)
            escaped = f"\\u{high:04x}\\u{low:04x}"
            options = [char, escaped, escaped.upper().replace("\\U", "\\u")]
        else:
            escaped = f"\\u{code:04x}"
            options = [escaped, escaped.upper().replace("\\U", "\\u")]
            if char in short:
                options.append(short[char])
            if code >= 0x20 and char not in '"\\':
                options.append(char)
        out.append(rnd.choice(options))
    out.append('"')
    return "".join(out)


def _write(value: Any, rnd: random.Random) -> str:
    """Serialise a JSON value with random whitespace, member order, escapes and number forms."""

    def space() -> str:
        return "".join(rnd.choice(" \t\n\r") for _ in range(rnd.choice([0, 0, 1, 2])))

    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return rnd.choice(["0", "-0"]) if value == 0 else str(value)
    if isinstance(value, float):
        text = repr(value)  # always has a '.' or an 'e', so it parses back as a float
        return rnd.choice([text, text.upper()])
    if isinstance(value, str):
        return _write_string(value, rnd)
    if isinstance(value, list):
        inner = ",".join(space() + _write(item, rnd) + space() for item in value)
        return "[" + (inner or space()) + "]"
    items = list(value.items())
    rnd.shuffle(items)
    members = ",".join(
        space() + _write_string(k, rnd) + space() + ":" + space() + _write(v, rnd) + space()
        for k, v in items
    )
    return "{" + (members or space()) + "}"


def _check(data: bytes, value: object) -> None:
    """Parse `data` (a serialisation of `value`) and check the fast-path claims against it."""
    parsed = parse_json(data)
    assert parsed.value == value
    if parsed.plain:
        expected = rfc8785.dumps(parsed.value)
        assert plain_bytes(parsed.value) == expected
        assert canonical_bytes(parsed.value) == expected
    if _outside_fast_path(value):
        assert parsed.plain is False
    elif not any("\\" in s for s in _strings_in(value)):
        # Only a backslash followed by "ud8…" can make the surrogate-escape scan over-match.
        assert parsed.plain is True


@settings(max_examples=600, deadline=None)
@given(value=json_values, ensure_ascii=st.booleans(), rnd=st.randoms(use_true_random=False))
def test_plain_bytes_match_rfc8785_for_json_dumps_text(
    value: object, ensure_ascii: bool, rnd: random.Random
) -> None:
    """For json.dumps text of any value, plain implies plain_bytes equals RFC 8785 exactly."""
    text = json.dumps(_shuffled(value, rnd), ensure_ascii=ensure_ascii)
    _check(text.encode(), value)


@settings(max_examples=600, deadline=None)
@given(value=json_values, rnd=st.randoms(use_true_random=False))
def test_plain_bytes_match_rfc8785_for_any_spelling(value: object, rnd: random.Random) -> None:
    """For JSON text with arbitrary escapes, whitespace and number spellings, plain is exact."""
    _check(_write(value, rnd).encode(), value)


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_plain_output_is_a_plain_fixed_point(value: object) -> None:
    """Re-parsing plain_bytes output of a plain value is plain again and yields the same bytes."""
    parsed = parse_json(json.dumps(value).encode())
    if parsed.plain:
        again = parse_json(plain_bytes(parsed.value))
        assert again.plain is True
        assert plain_bytes(again.value) == plain_bytes(parsed.value)


@pytest.mark.parametrize(
    "text",
    [
        '{"\\ufb33":1,"\\ud83d\\ude00":2,"\\ue000":3}',
        '{"\ufb33":1,"\U0001f600":2,"\ue000":3}',
        '{"\\uFB33":1,"\\uD83D\\uDE00":2,"\\uE000":3}',
    ],
    ids=["escaped-pair", "raw-utf8", "uppercase-escapes"],
)
def test_astral_keys_leave_the_fast_path(text: str) -> None:
    """Keys that code-point and UTF-16 order differently (astral vs U+E000–U+FFFF) are not plain."""
    parsed = parse_json(text.encode())
    assert parsed.plain is False
    # Code-point order would put U+1F600 last; RFC 8785's UTF-16 order puts it first.
    assert canonical_bytes(parsed.value) == '{"\U0001f600":2,"\ue000":3,"\ufb33":1}'.encode()
    assert plain_bytes(parsed.value) != canonical_bytes(parsed.value)


def test_astral_value_leaves_the_fast_path() -> None:
    """An astral character in a string value, raw or as an escaped pair, makes it not plain."""
    assert parse_json('["\U0001f600"]'.encode()).plain is False
    assert parse_json(b'["\\ud83d\\ude00"]').plain is False


def test_bmp_keys_around_the_surrogate_block_are_plain() -> None:
    """Keys from U+D7FF and U+E000–U+FFFF sort the same either way, so the value stays plain."""
    parsed = parse_json('{"\uffff":1,"\ue000":2,"\ud7ff":3,"a":4}'.encode())
    assert parsed.plain is True
    assert plain_bytes(parsed.value) == '{"a":4,"\ud7ff":3,"\ue000":2,"\uffff":1}'.encode()
    assert plain_bytes(parsed.value) == rfc8785.dumps(parsed.value)


def test_control_characters_escape_alike() -> None:
    """U+0000–U+001F use the short escapes or lowercase \\u00xx; DEL, U+2028, '/' stay literal."""
    text = "".join(chr(c) for c in range(0x20)) + '\x7f\u2028\u2029/"\\'
    parsed = parse_json(json.dumps(text).encode())
    assert parsed.plain is True
    assert plain_bytes(parsed.value) == rfc8785.dumps(text)
    assert b'"\\u001f' not in plain_bytes(parsed.value)
    assert plain_bytes(parse_json(b'"\\u001F"').value) == b'"\\u001f"'
    assert plain_bytes(parse_json(b'"\\u0008\\u000a\\/"').value) == b'"\\b\\n/"'
    assert plain_bytes(parse_json('"\x7f\u2028"'.encode()).value) == '"\x7f\u2028"'.encode()


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        (b"9007199254740991", True),
        (b"-9007199254740991", True),
        (b"9007199254740992", False),
        (b"-9007199254740992", False),
        (b"-0", True),
        (b"1.0", False),
        (b"1e2", False),
        (b"-0.0", False),
        (b"[true,false,null]", True),
    ],
)
def test_number_literals_and_plainness(text: bytes, plain: bool) -> None:
    """Integers within ±(2^53 - 1) are plain; larger integers and any float literal are not."""
    assert parse_json(text).plain is plain


@pytest.mark.parametrize(
    "text",
    [
        b'"\\ud800"',
        b'"\\udc00"',
        b'"\\uDFFF"',
        b'"\\ude00\\ud83d"',
        b'"a\\ud83db"',
        b'{"\\ud800":1}',
        b'[{"k":["\\udbff"]}]',
    ],
)
def test_lone_surrogate_escapes_are_refused(text: bytes) -> None:
    """A \\u escape naming a surrogate that is not part of a valid pair raises InvalidInput."""
    with pytest.raises(InvalidInput, match="surrogate"):
        parse_json(text)


@pytest.mark.parametrize(
    "text",
    [
        b'{"a":1,"a":2}',
        b'{"a":1,"\\u0061":1}',
        b'{"x":{"b":null,"c":0,"b":null}}',
        b'[{"\xc3\xa9":1,"\\u00e9":2}]',
    ],
)
def test_duplicate_keys_are_refused(text: bytes) -> None:
    """An object naming the same member twice, however it is spelled, raises InvalidInput."""
    with pytest.raises(InvalidInput, match="duplicate"):
        parse_json(text)


@pytest.mark.parametrize(
    "text",
    [b"NaN", b"[Infinity]", b"-Infinity", b"1e400", b"\xef\xbb\xbf{}", b'"\xff"', b"{", b""],
)
def test_non_i_json_text_is_refused(text: bytes) -> None:
    """Non-standard literals, number overflow, a BOM, bad UTF-8 or bad syntax raise InvalidInput."""
    with pytest.raises(InvalidInput):
        parse_json(text)
