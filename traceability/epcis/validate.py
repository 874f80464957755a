"""Validation of EPCIS 2.0 JSON-LD documents against GS1's schema, with format checks on.

The schema is GS1's single inlined `EPCIS-JSON-Schema.json` (JSON Schema draft-07, from
the gs1/EPCIS repository), shipped in this package with its LICENSE. It declares custom
vocabulary values (`bizStep`, `disposition`, extension field names, identifiers) as
`format: uri` and times as `format: date-time`.

A plain draft-07 validator treats formats as annotations, so `"bizStep": "harvesting"`
would pass. Here both formats are checked: `uri` as an RFC 3986 URI (scheme required) and
`date-time` as RFC 3339.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from rfc3339_validator import validate_rfc3339  # type: ignore[import-untyped]
from rfc3986_validator import validate_rfc3986  # type: ignore[import-untyped]

from traceability.errors import InvalidInput

SCHEMA_FILE = "EPCIS-JSON-Schema.json"
MAX_REPORTED = 10
"""How many schema violations an error message lists."""


def _is_uri(instance: object) -> bool:
    return not isinstance(instance, str) or bool(validate_rfc3986(instance, rule="URI"))


def _is_date_time(instance: object) -> bool:
    return not isinstance(instance, str) or bool(validate_rfc3339(instance))


def format_checker() -> FormatChecker:
    """Return a format checker that checks exactly the schema's formats: uri and date-time."""
    checker = FormatChecker(formats=())
    checker.checks("uri")(_is_uri)
    checker.checks("date-time")(_is_date_time)
    return checker


@lru_cache(maxsize=1)
def epcis_schema() -> dict[str, Any]:
    """Return GS1's EPCIS 2.0 JSON schema, loaded from this package's data."""
    text = files("traceability.epcis").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=1)
def epcis_validator() -> Draft7Validator:
    """Return a draft-07 validator of GS1's schema with uri and date-time format checking."""
    schema = epcis_schema()
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=format_checker())


def schema_errors(document: object) -> list[str]:
    """Return every schema violation of `document` as 'path: message', in document order."""
    errors = sorted(epcis_validator().iter_errors(document), key=lambda e: list(map(str, e.path)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(document)'}: {e.message}" for e in errors]


def validate_epcis(document: object) -> None:
    """Return None when `document` is valid EPCIS 2.0; otherwise raise InvalidInput listing why."""
    errors = schema_errors(document)
    if errors:
        shown = "; ".join(errors[:MAX_REPORTED])
        more = f" (and {len(errors) - MAX_REPORTED} more)" if len(errors) > MAX_REPORTED else ""
        raise InvalidInput(f"not a valid EPCIS 2.0 document: {shown}{more}")
