"""The handheld's forms (api/static/handheld/forms.json) against the event JSON Schema.

The page reads patterns, choices and bounds from the schema itself; what could still drift
is forms.json: a path the schema no longer has, a widget of the wrong kind, a required field
no form asks for, a choice the schema refuses or one without a Chinese label. Each such
disagreement fails here. The schema is the one exported from the wire models now, and the
served copy must be the committed export.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from api_support import Callers
from fastapi.testclient import TestClient

from schemas.export import SCHEMA_DIR, render, schemas

FORMS = Path(__file__).parents[2] / "api" / "static" / "handheld" / "forms.json"
SPEC: dict[str, Any] = json.loads(FORMS.read_text(encoding="utf-8"))
SCHEMA: dict[str, Any] = schemas()["event-body.schema.json"]
FIELD_EVENTS = {
    "planting",
    "cultivation_input",
    "harvest",
    "husbandry",
    "fresh_processing",
    "sensor_reading",
    "ship",
    "receive",
    "quality_test",
    "pack",
}
"""What a grower, farm or processor records in the field: each has a form."""
HERB_CODES = set(SCHEMA["$defs"]["Planting"]["properties"]["herb"]["enum"])


def _deref(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _unwrap(node: dict[str, Any]) -> dict[str, Any]:
    node = _deref(node)
    if "anyOf" not in node:
        return node
    parts = [_deref(n) for n in node["anyOf"] if n.get("type") != "null"]
    if len(parts) == 1:
        return parts[0]
    return {"type": "string", "enum": [v for p in parts for v in p["enum"]]}


def _keys(path: str) -> list[str | int]:
    out: list[str | int] = []
    for part in path.split("."):
        m = re.fullmatch(r"([a-z_]+)\[(\d+)\]", part)
        out.extend([m[1], int(m[2])] if m else [part])
    return out


def _field(event_type: str, path: str) -> tuple[dict[str, Any], bool]:
    """The schema of `path` in `event_type` and whether it is required (KeyError if absent)."""
    node = _deref({"$ref": SCHEMA["discriminator"]["mapping"][event_type]})
    required = True
    for key in _keys(path):
        if isinstance(key, int):
            assert node["type"] == "array", f"{event_type}.{path}: not a list"
            node = _unwrap(node["items"])
            continue
        required = required and key in node.get("required", [])
        node = _unwrap(node["properties"][key])
    return node, required


def _required_paths(node: dict[str, Any], prefix: str = "") -> set[str]:
    """Every path an event must have, lists entered at their first element."""
    node = _unwrap(node)
    if node.get("type") == "array" and node.get("minItems", 0) >= 1:
        items = _unwrap(node["items"])
        if items.get("type") == "object":
            return _required_paths(items, f"{prefix}[0]")
        return {prefix}
    if node.get("type") != "object" or "properties" not in node:
        return {prefix}
    out: set[str] = set()
    for key in node.get("required", []):
        out |= _required_paths(node["properties"][key], f"{prefix}.{key}" if prefix else key)
    return out


WIDGET_TYPES = {
    "text": "string",
    "organisation": "string",
    "item": "string",
    "decimal": "string",
    "date": "string",
    "datetime": "string",
    "select": "string",
    "integer": "integer",
    "checkbox": "boolean",
    "checks": "array",
    "lines": "array",
}

FORMS = [pytest.param(form, id=form["id"]) for form in SPEC["forms"]]


def test_every_event_recorded_in_the_field_has_a_form() -> None:
    """Planting, inputs, harvest, husbandry, fresh processing, drying readings, ship and
    receive, quality sampling and packing each have at least one form."""
    assert {form["type"] for form in SPEC["forms"]} >= FIELD_EVENTS


@pytest.mark.parametrize("form", FORMS)
def test_every_form_field_is_a_field_of_its_events_schema_with_a_fitting_widget(
    form: dict[str, Any],
) -> None:
    """Each path exists in the schema, and the widget suits its type: a date field is a
    10-character string, a decimal has the schema's decimal pattern, a list of choices is a
    list of enumerated values, a list of lines a list of strings."""
    for field in form["fields"]:
        node, _required = _field(form["type"], field["path"])
        widget = field["widget"]
        assert node.get("type") == WIDGET_TYPES[widget], (form["id"], field["path"], node)
        if widget == "date":
            assert node.get("maxLength") == 10, field["path"]
        if widget == "decimal":
            assert "pattern" in node, field["path"]
            assert re.fullmatch(node["pattern"], "12.5"), field["path"]
        if widget == "select":
            assert "enum" in node, field["path"]
        if widget == "checks":
            assert "enum" in _unwrap(node["items"]), field["path"]
        if widget == "lines":
            assert _unwrap(node["items"]).get("type") == "string", field["path"]


@pytest.mark.parametrize("form", FORMS)
def test_every_required_field_of_the_schema_is_asked_for_or_filled_in(
    form: dict[str, Any],
) -> None:
    """The fields the grower fills plus the fixed ones (open batch, its herb, the device's
    site, constants) cover every required path of the event; no path appears twice."""
    asked = [f["path"] for f in form["fields"]] + [f["path"] for f in form.get("fixed", [])]
    assert len(asked) == len(set(asked)), form["id"]
    root = {"$ref": SCHEMA["discriminator"]["mapping"][form["type"]]}
    covered = set(asked) | {path.removesuffix("[0]") for path in asked}
    missing = _required_paths(root) - covered - {"type"}
    assert not missing, (form["id"], missing)
    for fixed in form.get("fixed", []):
        node, _ = _field(form["type"], fixed["path"])
        assert ("value" in fixed) != ("from" in fixed), fixed
        assert fixed.get("from", "batch") in {"batch", "herb", "site"}, fixed
        if "value" in fixed:
            assert fixed["value"] in node.get("enum", [fixed["value"]]), fixed


@pytest.mark.parametrize("form", FORMS)
def test_every_choice_is_one_the_schema_accepts_and_has_a_chinese_label(
    form: dict[str, Any],
) -> None:
    """Defaults and narrowed choices are values the schema enumerates; each enumerated
    value a form can offer has a Chinese label (herbs from the catalogue, the rest from
    forms.json); a form only tightens `required`, never loosens it."""
    for field in form["fields"]:
        node, required = _field(form["type"], field["path"])
        values = node.get("enum") or _unwrap(node.get("items", {})).get("enum") or []
        if field["widget"] in {"select", "checks"}:
            offered = field.get("choices", values)
            assert set(offered) <= set(values), field["path"]
            for value in offered:
                assert value in HERB_CODES or value in SPEC["labels"], (field["path"], value)
            if "default" in field:
                assert field["default"] in offered, field["path"]
        assert field.get("required", required) or not required, field["path"]
        assert re.search(r"[\u4e00-\u9fff]", field["label"]), field["path"]


def test_the_page_is_served_the_committed_export_of_the_event_schema(
    sqlite_api: tuple[TestClient, Callers],
) -> None:
    """GET /handheld/event-body.schema.json is the committed file, which is what the wire
    models export now: the forms read the schema the server validates with."""
    client, _ = sqlite_api
    answer = client.get("/handheld/event-body.schema.json")
    assert answer.status_code == 200
    committed = (SCHEMA_DIR / "event-body.schema.json").read_text(encoding="utf-8")
    assert answer.text == committed == render(SCHEMA)


def test_the_catalogue_names_are_served_for_every_herb_code(
    sqlite_api: tuple[TestClient, Callers],
) -> None:
    """GET /handheld/catalogue.json names every herb code of the schema in Chinese."""
    client, _ = sqlite_api
    answer = client.get("/handheld/catalogue.json")
    assert answer.status_code == 200
    herbs = answer.json()["herbs"]
    assert set(herbs) == HERB_CODES
    assert herbs["renshen"]["zh"] == "人参"
    assert answer.json()["items"]["moisture"]["zh"] == "水分"
