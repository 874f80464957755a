"""The domain event contracts: every type validates its example and refuses broken variants."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from event_examples import EXAMPLES
from pydantic import ValidationError

from schemas.events import EVENT_TYPES, parse_body


def test_every_event_type_has_an_example() -> None:
    """Each event type the union knows has a valid example, so other tests cover them all."""
    assert set(EXAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_example_validates_as_its_type(kind: str) -> None:
    """An example body parses into the model its `type` names and dumps back unchanged."""
    body = parse_body(copy.deepcopy(EXAMPLES[kind]))
    assert type(body) is EVENT_TYPES[kind]
    assert body.model_dump(mode="json", exclude_defaults=True) == EXAMPLES[kind]


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_unknown_field_is_refused(kind: str) -> None:
    """A body with a field its schema lacks is refused, naming the field."""
    body = copy.deepcopy(EXAMPLES[kind]) | {"owner_phone": "13800000000"}
    with pytest.raises(ValidationError, match="owner_phone"):
        parse_body(body)


BROKEN: list[tuple[str, str, Any, str]] = [
    ("harvest", "quantity", {"value": 180.5, "unit": "kg"}, "string"),
    ("harvest", "quantity", {"value": "1e3", "unit": "kg"}, "pattern"),
    ("harvest", "quantity", {"value": "-1", "unit": "kg"}, "pattern"),
    ("harvest", "herb", "人参", "renshen"),
    ("harvest", "harvested_on", "2026-02-30", "day is out of range"),
    ("harvest", "harvested_on", "20260915", "YYYY-MM-DD"),
    ("harvest", "growing_years", 0, "greater than or equal to 1"),
    ("harvest", "growing_years", True, "integer"),
    ("harvest", "batch", "批次 1", "pattern"),
    ("planting", "area", {"value": "12.5", "unit": "kg"}, "unit"),
    ("processing", "steps", [], "at least 1"),
    ("processing", "steps", ["dancing"], "steaming"),
    ("pack", "serials", ["0001", "0001"], "distinct"),
    ("pack", "serials", ["序列号"], "pattern"),
    ("pack", "product", {"gtin": "6901234567892", "lot": "HS1"}, "pattern"),
    ("quality_test", "items", [], "at least 1"),
    ("quality_test", "result", "ok", "pass"),
    ("sensor_reading", "readings", [{"at": "2026-10-10T02:00:00Z"}], "temperature"),
    ("sensor_reading", "readings", [{"at": "2026-10-10 02:00", "temperature_c": "4"}], "RFC 3339"),
    ("site", "location", {"lat": 42.28, "lon": "127.5"}, "string"),
    ("organisation", "kind", "bank", "cooperative"),
    ("husbandry", "certificate", None, "certificate"),
    ("recall", "level", "IV", "III"),
]


@pytest.mark.parametrize(("kind", "field", "value", "message"), BROKEN)
def test_broken_field_is_refused_with_a_reason(
    kind: str, field: str, value: Any, message: str
) -> None:
    """A body with one bad field is refused, and the error says what is wrong."""
    body = copy.deepcopy(EXAMPLES[kind])
    body[field] = value
    with pytest.raises(ValidationError, match=message):
        parse_body(body)


def test_transform_refuses_a_batch_both_in_and_out() -> None:
    """A processing event cannot list the same batch as input and output."""
    body = copy.deepcopy(EXAMPLES["processing"])
    body["outputs"][0]["batch"] = body["inputs"][0]["batch"]
    with pytest.raises(ValidationError, match="both input and output"):
        parse_body(body)


def test_unknown_type_is_refused() -> None:
    """A body whose type names no event is refused, listing the types there are."""
    with pytest.raises(ValidationError, match="harvest"):
        parse_body({"type": "teleport", "batch": "X"})
