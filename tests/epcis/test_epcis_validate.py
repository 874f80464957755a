"""Validation against GS1's EPCIS 2.0 schema with format checking: official examples and faults."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from traceability.epcis.validate import epcis_schema, schema_errors, validate_epcis
from traceability.errors import InvalidInput

VECTORS = Path(__file__).parent.parent / "vectors" / "epcis"
EXAMPLES = sorted((VECTORS / "examples").glob("*.jsonld"))


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "examples" / name).read_text(encoding="utf-8"))
    return data


def test_the_packaged_schema_is_gs1s() -> None:
    """The schema shipped in traceability/epcis is byte-for-byte the official vector copy."""
    packaged = Path(__file__).parents[2] / "traceability" / "epcis" / "EPCIS-JSON-Schema.json"
    assert packaged.read_bytes() == (VECTORS / "EPCIS-JSON-Schema.json").read_bytes()
    assert epcis_schema()["$id"] == "https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json"


def test_all_47_official_examples_are_there() -> None:
    """The vectors hold GS1's 47 JSON-LD examples, so the next test checks all of them."""
    assert len(EXAMPLES) == 47


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_official_example_validates_with_format_checking(path: Path) -> None:
    """Every official GS1 example is valid with uri and date-time formats checked."""
    validate_epcis(json.loads(path.read_text(encoding="utf-8")))


def test_harvesting_is_no_bizstep() -> None:
    """'harvesting' is neither a CBV term nor a URI: it fails here, though a plain run passes it."""
    document = _load("Example_9.6.1-ObjectEvent.jsonld")
    document["epcisBody"]["eventList"][0]["bizStep"] = "harvesting"
    assert not list(Draft7Validator(epcis_schema()).iter_errors(document))  # formats unchecked
    with pytest.raises(InvalidInput, match="eventList/0/bizStep"):
        validate_epcis(document)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bizStep", "https://herbtrace.org/voc/bizstep/paozhi"),
        ("disposition", "https://herbtrace.org/voc/disp/held"),
        ("bizStep", "commissioning"),
    ],
)
def test_custom_uris_and_cbv_terms_pass(field: str, value: str) -> None:
    """A CBV term or an absolute URI of one's own namespace is a valid bizStep or disposition."""
    document = _load("Example_9.6.1-ObjectEvent.jsonld")
    document["epcisBody"]["eventList"][0][field] = value
    validate_epcis(document)


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("epcList", 0), "not a uri", "epcList/0"),
        (("readPoint", "id"), "https://bad host/x", "readPoint/id"),
        (("eventTime",), "2005-04-03 20:33:31", "eventTime"),
        (("eventTime",), "2005-13-03T20:33:31Z", "eventTime"),
        (("bizStep",), "urn:epcglobal:cbv:bizstep:shipping", "bizStep"),
    ],
)
def test_format_faults_fail_and_are_located(path: tuple[Any, ...], value: str, where: str) -> None:
    """Bad URIs, bad date-times and legacy CBV URNs are refused, naming where they are."""
    document = _load("Example_9.6.1-ObjectEvent.jsonld")
    event = document["epcisBody"]["eventList"][0]
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    errors = schema_errors(document)
    assert any(e.startswith(f"epcisBody/eventList/0/{where}") for e in errors), errors


def test_all_faults_are_listed_in_one_error() -> None:
    """The error names each fault, so a bad document can be fixed in one go."""
    document = _load("Example_9.6.1-ObjectEvent.jsonld")
    broken = copy.deepcopy(document)
    broken["epcisBody"]["eventList"][0]["bizStep"] = "harvesting"
    broken["epcisBody"]["eventList"][0]["disposition"] = "drying"
    with pytest.raises(InvalidInput) as caught:
        validate_epcis(broken)
    assert "bizStep" in str(caught.value)
    assert "disposition" in str(caught.value)
    validate_epcis(document)  # the untouched original is still valid
