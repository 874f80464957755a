"""Mapping details: exact decimals, units without a UN/CEFACT code, master data without a time."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from epcis_samples import HOST, sample_bodies

from traceability.epcis.export import LoggedBody, build_document
from traceability.epcis.importer import plan
from traceability.epcis.jsonout import dumps, loads
from traceability.errors import InvalidInput


def _logged(bodies: list[dict[str, object]]) -> list[LoggedBody]:
    return [
        LoggedBody(
            n,
            "ab" * 32,
            "2026-10-01T00:00:00.000001Z",
            f"2026-09-20T08:{n:02d}:00Z",
            "cd" * 16,
            f"{n:064x}",
            body,
        )
        for n, body in enumerate(bodies)
    ]


def _harvest() -> dict[str, object]:
    return copy.deepcopy(next(b for b in sample_bodies() if b["type"] == "harvest"))


def test_decimals_are_written_and_read_digit_for_digit() -> None:
    """The largest herbtrace decimal survives JSON text exactly; no binary float on the way."""
    harvest = _harvest()
    harvest["quantity"] = {"value": "999999999999.999999", "unit": "kg"}
    document = build_document(_logged([harvest]), HOST).document
    text = dumps(document)
    assert '"quantity": 999999999999.999999,' in text
    [event] = loads(text)["epcisBody"]["eventList"]
    assert event["quantityList"][0]["quantity"] == Decimal("999999999999.999999")
    [planned], skipped = plan(loads(text), HOST)
    assert skipped == []
    assert planned.body == harvest


def test_units_without_a_code_travel_aside_and_come_back() -> None:
    """A quantity in head (no UN/CEFACT code) leaves quantity/uom out and rides in an extension."""
    harvest = _harvest()
    harvest["quantity"] = {"value": "12", "unit": "head"}
    document = build_document(_logged([harvest]), HOST).document
    [event] = document["epcisBody"]["eventList"]
    assert event["quantityList"] == [{"epcClass": f"https://{HOST}/batch/FS-RS-2026-00001"}]
    assert event["herbtrace:quantities"] == [
        {
            "list": "quantityList",
            "epcClass": f"https://{HOST}/batch/FS-RS-2026-00001",
            "value": "12",
            "unit": "head",
        }
    ]
    [planned], _ = plan(loads(dumps(document)), HOST)
    assert planned.body == harvest


def test_a_count_without_uom_is_pieces() -> None:
    """EPCIS reads a quantity without uom as a count of instances: herbtrace pieces."""
    document = loads(dumps(build_document(_logged([_harvest()]), HOST).document))
    element = document["epcisBody"]["eventList"][0]["quantityList"][0]
    element["quantity"] = 40
    del element["uom"]
    [planned], _ = plan(document, HOST)
    assert planned.body["quantity"] == {"value": "40", "unit": "piece"}


def test_master_data_without_a_time_is_skipped_with_the_reason() -> None:
    """A site element without herbtrace:recorded_at is reported, the other elements import."""
    bodies = [b for b in sample_bodies() if b["type"] in ("site", "organisation")]
    document = loads(dumps(build_document(_logged(bodies), HOST).document))
    site = document["epcisHeader"]["epcisMasterData"]["vocabularyList"][0]
    first = site["vocabularyElementList"][0]
    first["attributes"] = [a for a in first["attributes"] if a["id"] != "herbtrace:recorded_at"]
    planned, skipped = plan(document, HOST)
    assert [(s.source, s.reason) for s in skipped] == [
        (first["id"], f"site {first['id']} has no herbtrace:recorded_at")
    ]
    assert len(planned) == len(bodies) - 1


def test_only_an_epcis_document_imports() -> None:
    """A single event (valid EPCIS on its own) or a query document is no document to import."""
    document = loads(dumps(build_document(_logged([_harvest()]), HOST).document))
    event = {"@context": document["@context"], **document["epcisBody"]["eventList"][0]}
    with pytest.raises(InvalidInput, match="only an EPCISDocument"):
        plan(event, HOST)
