"""Reading packed units with their Digital Links, and names that were never recorded."""

from __future__ import annotations

import pytest
from read_support import read
from story import PHARMACY, PLANT, World, body

from traceability.domain.alerts import get_alert
from traceability.domain.batches import read_batch
from traceability.domain.lineage import trace_forward
from traceability.domain.units import batch_units, get_unit
from traceability.errors import InvalidInput, NotFound

GTIN = "06901234567892"


def test_a_unit_has_its_gs1_digital_link_and_status(world: World) -> None:
    """A packed unit names its GTIN, lot and serial in its Digital Link; a sale marks it sold."""
    world.packed()
    world.ok(PLANT, body("ship", carrier=None))
    world.ok(PHARMACY, body("receive"))
    sold = world.ok(PHARMACY, body("retail_sale"))
    # the GTIN-13 names the same unit
    unit = read(
        world.domain.engine, get_unit, GTIN[1:], "0002", world.domain.settings.digital_link_host
    )
    assert unit.digital_link == f"https://id.herbtrace.local/01/{GTIN}/10/HS2026001/21/0002"
    assert (unit.status, unit.sold_index, unit.batch) == ("sold", sold, "JA-HS-2026-001-P")
    assert [u.status for u in read(world.domain.engine, batch_units, "JA-HS-2026-001-P")] == [
        "packed",
        "sold",
        "packed",
    ]
    packed = read(world.domain.engine, read_batch, "JA-HS-2026-001-P")
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
        read(world.domain.engine, read_batch, "NOPE")
    with pytest.raises(NotFound):
        read(world.domain.engine, get_unit, GTIN, "0001")
    with pytest.raises(InvalidInput):
        read(world.domain.engine, get_unit, "123", "0001")
    with pytest.raises(InvalidInput, match="check digit"):
        read(world.domain.engine, get_unit, "06901234567891", "0001")
    with pytest.raises(NotFound):
        read(world.domain.engine, trace_forward, "NOPE")
    with pytest.raises(NotFound):
        read(world.domain.engine, get_alert, "AL-none")
