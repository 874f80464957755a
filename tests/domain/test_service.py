"""The Domain service's queries: batches, units and their Digital Links, traces with log indexes."""

from __future__ import annotations

import json

import pytest
from story import PHARMACY, PLANT, World, body

from traceability.errors import InvalidInput, NotFound

GTIN = "06901234567892"


def test_a_unit_has_its_gs1_digital_link_and_status(world: World) -> None:
    """A packed unit names its GTIN, lot and serial in its Digital Link; a sale marks it sold."""
    world.packed()
    world.ok(PLANT, body("ship", carrier=None))
    world.ok(PHARMACY, body("receive"))
    sold = world.ok(PHARMACY, body("retail_sale"))
    unit = world.domain.unit(GTIN[1:], "0002")  # the GTIN-13 names the same unit
    assert unit.digital_link == f"https://id.herbtrace.local/01/{GTIN}/10/HS2026001/21/0002"
    assert (unit.status, unit.sold_index, unit.batch) == ("sold", sold, "JA-HS-2026-001-P")
    assert [u.status for u in world.domain.units("JA-HS-2026-001-P")] == [
        "packed",
        "sold",
        "packed",
    ]
    packed = world.domain.batch("JA-HS-2026-001-P")
    assert (packed.quantity, packed.remaining, packed.gtin, packed.lot) == (
        "3",
        "2",
        GTIN,
        "HS2026001",
    )
    world.refused(PHARMACY, body("retail_sale"), "unit_sold_twice")
    world.refused(PHARMACY, body("retail_sale", serials=["0404"]), "unknown_unit")


def test_unknown_names_are_not_found_and_malformed_ones_invalid(world: World) -> None:
    """Queries for what was never recorded raise NotFound; a malformed GTIN raises InvalidInput."""
    with pytest.raises(NotFound):
        world.domain.batch("NOPE")
    with pytest.raises(NotFound):
        world.domain.unit(GTIN, "0001")
    with pytest.raises(InvalidInput):
        world.domain.unit("123", "0001")
    with pytest.raises(InvalidInput, match="check digit"):
        world.domain.unit("06901234567891", "0001")
    with pytest.raises(NotFound):
        world.domain.trace_forward("NOPE")
    with pytest.raises(NotFound):
        world.domain.alert("AL-none")


def test_a_backward_trace_names_each_events_log_index(world: World) -> None:
    """Every event on a unit's trace is the log entry of that type, concerning those batches."""
    world.packed()
    trace = world.domain.trace_back(GTIN, "0001")
    assert [b.id for b in trace.origins] == ["FS-PL-2020-001"]
    assert [e.type for e in trace.events] == [
        "planting", "harvest", "fresh_processing", "ship", "receive",
        "processing", "quality_test", "split", "pack",
    ]  # fmt: skip
    for event in trace.events:
        _leaf, _hash, entry = world.domain.ledger.entry(event.log_index)
        assert json.loads(entry.payload_bytes)["body"]["type"] == event.type
    data = trace.to_json()
    assert data["events"][0]["batches"] == ["FS-PL-2020-001"]
    assert json.dumps(data)  # plain JSON data
