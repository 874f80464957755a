"""JSON text and data with exact decimals: EPCIS numbers are written as the decimals they are.

EPCIS quantities and sensor values are JSON numbers, herbtrace's are decimal strings
("182.500"). Export turns them into `decimal.Decimal`, written here digit for digit
(`182.500`), and import reads numbers back as `Decimal`, so no value passes through a
binary float on the way out or in.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from traceability.errors import InvalidInput


def to_decimal(text: str) -> Decimal:
    """Return a herbtrace decimal string as a Decimal (exactly)."""
    return Decimal(text)


def from_decimal(value: object, what: str) -> str:
    """Return a JSON number read by `loads` as a herbtrace decimal string; InvalidInput if not."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InvalidInput(f"{what} must be a number, got {value!r}")
    number = Decimal(value)
    if not number.is_finite():
        raise InvalidInput(f"{what} must be finite, got {value!r}")
    return format(number, "f")


def dumps(value: Any, indent: int = 2) -> str:
    """Return `value` as JSON text (UTF-8 characters kept), Decimals as exact numbers."""
    out: list[str] = []
    _write(value, out, indent, 0)
    return "".join(out)


def _write(value: Any, out: list[str], indent: int, level: int) -> None:
    pad = "\n" + " " * (indent * (level + 1))
    end = "\n" + " " * (indent * level)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidInput(f"{value} cannot be written as a JSON number")
        out.append(format(value, "f"))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        out.append("{")
        for k, (key, item) in enumerate(value.items()):
            out.append(("," if k else "") + pad + json.dumps(str(key), ensure_ascii=False) + ": ")
            _write(item, out, indent, level + 1)
        out.append(end + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        out.append("[")
        for k, item in enumerate(value):
            out.append(("," if k else "") + pad)
            _write(item, out, indent, level + 1)
        out.append(end + "]")
    else:
        out.append(json.dumps(value, ensure_ascii=False))


def loads(text: str | bytes) -> Any:
    """Parse JSON text, reading every non-integer number as an exact Decimal."""
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"not JSON: {exc}") from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
