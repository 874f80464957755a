"""RFC 8785 (JCS) canonical JSON bytes via `rfc8785`, and a strict I-JSON (RFC 7493) parser.

`canonical_bytes(value)` is the exact UTF-8 byte string of RFC 8785 §3.2: no whitespace,
object members sorted by the UTF-16 code units of their names (§3.2.3), minimal string
escaping (§3.2.2.2) and ECMAScript number formatting (§3.2.2.3). The serialisation is done
by `rfc8785.dumps` (trailofbits/rfc8785.py); this module only translates its errors.

RFC 8785 §3.1 restricts input to I-JSON (RFC 7493): numbers are IEEE-754 doubles, so
integers outside ±(2^53 - 1) and NaN/±Infinity have no canonical form, and strings must be
valid Unicode (no lone surrogates). Encode large counters, weights and money as decimal
strings.

`canonical_json_loads(data)` parses UTF-8 JSON text (RFC 8259 §8.1) the way RFC 7493 §2
asks: it rejects invalid UTF-8, a byte-order mark, duplicate object member names (§2.3),
the non-standard `NaN`/`Infinity`/`-Infinity` literals, numbers that overflow a double
(§2.2), and strings holding lone surrogates (§2.1).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NamedTuple, cast

import rfc8785

from traceability.errors import CanonicalizationError, InvalidInput

_MAX_SAFE = 2**53 - 1


def canonical_bytes(value: object) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a dict/list/tuple/str/int/float/bool/None.

    Raises `CanonicalizationError` for values RFC 8785 cannot represent exactly: integers
    outside ±(2^53 - 1), NaN or ±Infinity, non-string object keys, lone surrogates, or
    unsupported types such as bytes, Decimal or set.
    """
    try:
        return rfc8785.dumps(cast(Any, value))
    except rfc8785.IntegerDomainError as exc:
        raise CanonicalizationError(
            "integer outside the RFC 8785 / I-JSON range ±(2^53 - 1); "
            "encode large numbers as decimal strings"
        ) from exc
    except rfc8785.FloatDomainError as exc:
        raise CanonicalizationError("NaN and ±Infinity have no RFC 8785 representation") from exc
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalizationError(f"cannot canonicalize as RFC 8785 JSON: {exc}") from exc
    except UnicodeError as exc:
        raise CanonicalizationError(
            "cannot canonicalize as RFC 8785 JSON: a string is not valid Unicode (lone surrogate)"
        ) from exc
    except (ValueError, TypeError) as exc:
        # ValueError: e.g. an integer too long for Python's int-to-str digit limit, which
        # rfc8785 trips over while formatting its own IntegerDomainError message.
        raise CanonicalizationError(f"cannot canonicalize as RFC 8785 JSON: {exc}") from exc
    except RecursionError as exc:
        raise CanonicalizationError("cannot canonicalize: value is nested too deeply") from exc


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build an object from its members, refusing a repeated member name (RFC 7493 §2.3)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise InvalidInput(f"duplicate JSON object key {duplicate!r}")
    return obj


def _reject_constant(literal: str) -> object:
    """Refuse the non-standard literals NaN, Infinity and -Infinity (RFC 8259 §6)."""
    raise InvalidInput(f"JSON literal {literal} is not allowed (RFC 8259 §6)")


def _parse_finite_float(text: str) -> float:
    """Parse a JSON number with a fraction or exponent, refusing overflow to ±Infinity."""
    number = float(text)
    if not math.isfinite(number):
        raise InvalidInput(f"JSON number {text[:40]} overflows an IEEE-754 double")
    return number


def _check_strings(value: object) -> None:
    """Refuse strings (members or values) that hold lone surrogates (RFC 7493 §2.1)."""
    stack = [value]
    while stack:
        item = stack.pop()
        strings: list[str] = []
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, dict):
            strings.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        for text in strings:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InvalidInput("JSON string contains a lone surrogate escape") from exc


class ParsedJSON(NamedTuple):
    """A parsed JSON value, and whether it lies in the domain where `plain_bytes` is exact."""

    value: object
    plain: bool


_BELOW_4_BYTE_LEAD = bytes(range(0xF0))
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_json(data: bytes) -> ParsedJSON:
    """Parse `data` as strict UTF-8 I-JSON, raising `InvalidInput` with the reason if it is not.

    `plain` is True when the value holds no floats, no integers beyond ±(2^53 - 1) and no
    characters outside the Basic Multilingual Plane: exactly the values for which
    `plain_bytes` equals RFC 8785.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"JSON is not valid UTF-8 (byte offset {exc.start})") from exc
    plain = True

    def parse_float(literal: str) -> float:
        nonlocal plain
        plain = False
        return _parse_finite_float(literal)

    def parse_int(literal: str) -> int:
        nonlocal plain
        number = int(literal)
        if not -_MAX_SAFE <= number <= _MAX_SAFE:
            plain = False
        return number

    try:
        value: object = json.loads(
            text,
            object_pairs_hook=_reject_duplicate_keys,
            parse_constant=_reject_constant,
            parse_float=parse_float,
            parse_int=parse_int,
        )
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidInput("JSON is nested too deeply") from exc
    except ValueError as exc:
        # int() refuses numbers longer than sys.get_int_max_str_digits().
        raise InvalidInput(f"malformed JSON number: {exc}") from exc
    escaped_surrogate = b"\\u" in data and _SURROGATE_ESCAPE.search(data) is not None
    if escaped_surrogate:  # lone surrogates can only come from \\u escapes
        _check_strings(value)
    non_bmp = bool(data.translate(None, _BELOW_4_BYTE_LEAD))  # any lead byte of 4-byte UTF-8
    return ParsedJSON(value, plain and not escaped_surrogate and not non_bmp)


def canonical_json_loads(data: bytes) -> object:
    """Parse `data` as strict UTF-8 I-JSON, raising `InvalidInput` with the reason if it is not."""
    return parse_json(data).value


def plain_bytes(value: object) -> bytes:
    """Return RFC 8785 bytes of a value that `parse_json` found `plain`, using the C encoder.

    For such values the standard library's sorted, compact, non-ASCII-escaping encoder
    produces exactly RFC 8785: integers print alike, strings escape the same characters the
    same way (§3.2.2.2), and code-point order equals UTF-16 order inside the Basic
    Multilingual Plane (§3.2.3). It is several times faster than the general serialiser.
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
