"""The domain reads behind a product's facts, on both databases: the batch a link names,
registered organisations and sites, and whether anything was recorded on a lineage since."""

from __future__ import annotations

from story import COOP, PLANT, World, body

from traceability.domain.batches import lot_batch
from traceability.domain.history import recorded_since
from traceability.domain.organisations import organisations_by_id
from traceability.domain.sites import site_by_id
from traceability.domain.units import unit_batch

GTIN, LOT, PACKED = "06901234567892", "HS2026001", "JA-HS-2026-001-P"
LINEAGE = ["FS-PL-2020-001", "FS-RS-2026-001", "FS-XS-2026-001", "JA-HS-2026-001"]


def test_a_unit_names_its_packed_batch_only_under_its_own_lot(world: World) -> None:
    """A unit is found by GTIN and serial when its lot matches; a lot names its packed batch."""
    world.packed()
    with world.domain.engine.connect() as conn:
        assert unit_batch(conn, GTIN, LOT, "0001") == PACKED
        assert unit_batch(conn, GTIN, "OTHERLOT", "0001") is None
        assert unit_batch(conn, GTIN, LOT, "0009") is None
        assert lot_batch(conn, GTIN, LOT) == PACKED
        assert lot_batch(conn, GTIN, "OTHERLOT") is None


def test_registered_organisations_and_sites_are_read_by_id(world: World) -> None:
    """Only registered IDs are answered, each with the entry that registered it last."""
    with world.domain.engine.connect() as conn:
        orgs = organisations_by_id(conn, {COOP, PLANT, "org-nobody"})
        site = site_by_id(conn, "site-jian-plant")
        assert organisations_by_id(conn, set()) == {}
        assert site_by_id(conn, "site-nowhere") is None
    assert sorted(orgs) == [COOP, PLANT]
    assert orgs[PLANT].kind == "processor"
    assert site is not None
    assert site.organisation == PLANT
    assert site.updated_index > orgs[PLANT].updated_index


def test_only_entries_on_the_lineage_or_registrations_count_as_recorded_since(
    world: World,
) -> None:
    """An entry on another batch does not count; one on the lineage or a registration does."""
    world.red_ginseng()
    size = world.domain.ledger.size()
    with world.domain.engine.connect() as conn:
        assert not recorded_since(conn, size, LINEAGE)
        assert not recorded_since(conn, size, [])
    world.ok(COOP, body("planting", batch="FS-PL-2021-002"))
    with world.domain.engine.connect() as conn:
        assert not recorded_since(conn, size, LINEAGE)
        assert recorded_since(conn, size, ["FS-PL-2021-002"])
    world.ok(COOP, body("organisation", id=COOP, kind="cooperative", credit_code=None), "admin")
    with world.domain.engine.connect() as conn:
        assert recorded_since(conn, size, LINEAGE)
        assert recorded_since(conn, size, [])
