"""Imported events: an importer speaks for the organisations its events name, registered ones
only, and every rule but who-may-sign still applies."""

from __future__ import annotations

from read_support import read
from story import COOP, LAB, PHARMACY, PLANT, World, body

from traceability.domain.alerts import get_alert, list_alerts
from traceability.domain.batches import read_batch

PLATFORM = "org-national-platform"
"""The importer's own organisation: not a registered organisation, and never a party."""

IMPORTER = "importer"


def imported(world: World, event: dict[str, object]) -> int:
    """Record `event` as the importer's, which must be accepted; its log index."""
    return world.ok(PLATFORM, event, IMPORTER)


def chain_to_plant(world: World) -> None:
    """The importer brings in the cooperative's planting, harvest and fresh processing, the
    shipment to the plant and its receipt."""
    imported(world, body("planting"))
    imported(world, body("harvest"))
    imported(world, body("fresh_processing"))
    imported(world, body("ship", shipment="SHP-I-1", batches=["FS-XS-2026-001"], to=PLANT))
    receive = body(
        "receive",
        shipment="SHP-I-1",
        batches=["FS-XS-2026-001"],
        sender=COOP,
        site="site-jian-plant",
    )
    imported(world, receive)


def test_an_importer_records_a_supply_chain_for_the_parties_it_names(world: World) -> None:
    """Batches are made, held and shipped by the organisations the events name, never by the
    importer's; a native signer then carries on where the import left off."""
    chain_to_plant(world)
    harvested = read(world.domain.engine, read_batch, "FS-RS-2026-001")
    assert (harvested.owner, harvested.custodian, harvested.growing_years) == (COOP, COOP, 6)
    fresh = read(world.domain.engine, read_batch, "FS-XS-2026-001")
    assert (fresh.owner, fresh.custodian, fresh.shipment) == (COOP, PLANT, None)
    imported(world, body("processing"))
    imported(world, body("quality_test"))
    imported(world, body("split"))
    imported(world, body("pack"))
    red = read(world.domain.engine, read_batch, "JA-HS-2026-001")
    assert (red.owner, red.custodian, red.quality) == (PLANT, PLANT, "passed")
    packed = read(world.domain.engine, read_batch, "JA-HS-2026-001-P")
    assert (packed.owner, packed.custodian, packed.quality) == (PLANT, PLANT, "passed")
    world.ok(PLANT, body("retail_sale", batch="JA-HS-2026-001-P"), "operator")
    world.refused(COOP, body("retail_sale", serials=["0003"]), "custody", "operator")
    with world.domain.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT owner, custodian FROM batches").all()
    assert PLATFORM not in {org for row in rows for org in row}


def test_an_imported_event_names_registered_parties_only(world: World) -> None:
    """Unregistered sites, recipients and laboratories are refused, and a laboratory must be
    registered as one."""
    world.refused(PLATFORM, body("planting", site="site-nowhere"), "unknown_site", IMPORTER)
    unknown = body("site", id="site-x", organisation="org-nobody")
    world.refused(PLATFORM, unknown, "unknown_organisation", IMPORTER)
    imported(world, body("planting"))
    imported(world, body("harvest"))
    ship = body("ship", shipment="SHP-I-2", batches=["FS-RS-2026-001"], to="org-nobody")
    world.refused(PLATFORM, ship, "unknown_organisation", IMPORTER)
    test = body("quality_test", batch="FS-RS-2026-001")
    world.refused(PLATFORM, {**test, "lab": "org-nolab"}, "unknown_organisation", IMPORTER)
    refused = world.refused(PLATFORM, {**test, "lab": PLANT}, "unauthorised", IMPORTER)
    assert "registered as a processor, not as a testing_lab" in (refused.detail or "")
    imported(world, test)


def test_every_rule_but_who_may_sign_applies_to_an_importer(world: World) -> None:
    """Growing age, mass balance, transit, quality, recall and IDs refuse an importer's events
    as anyone's, and a failed test raises its alert."""
    imported(world, body("planting"))
    world.refused(PLATFORM, body("harvest", growing_years=9), "growing_age", IMPORTER)
    imported(world, body("harvest"))
    world.refused(PLATFORM, body("harvest"), "duplicate_id", IMPORTER)
    too_much = body("fresh_processing")
    too_much["outputs"] = [{**too_much["outputs"][0], "quantity": {"value": "190", "unit": "kg"}}]
    world.refused(PLATFORM, too_much, "mass_balance", IMPORTER)
    imported(world, body("fresh_processing"))
    imported(world, body("ship", shipment="SHP-I-3", batches=["FS-XS-2026-001"], to=PLANT))
    world.refused(PLATFORM, body("processing"), "in_transit", IMPORTER)
    receive = body("receive", shipment="SHP-I-3", batches=["FS-XS-2026-001"], sender=COOP)
    imported(world, {**receive, "site": "site-jian-plant"})
    imported(world, body("processing"))
    cadmium = [{"item": "cadmium", "value": "1.4", "unit": "mg/kg"}]
    failed = body("quality_test", result="fail", items=cadmium)
    imported(world, failed)
    imported(world, body("split"))  # failure follows the material into the children
    world.refused(PLATFORM, body("pack"), "quality_failed", IMPORTER)
    alerts = read(world.domain.engine, list_alerts)
    failed_test = [a for a in alerts if a.kind == "quality_failed" and a.id.startswith("AL-")]
    assert [a.batch for a in failed_test] == ["JA-HS-2026-001"]
    refusals = sorted(a.evidence["reason"] for a in alerts if a.id.startswith("AX-"))
    assert refusals == ["growing_age", "mass_balance", "quality_failed"]  # fraud-like refusals
    imported(world, body("recall"))
    world.refused(PLATFORM, body("quality_test"), "batch_recalled", IMPORTER)


def test_an_imported_event_acts_for_one_organisation(world: World) -> None:
    """A merge of batches held by two organisations names no one party: refused (`custody`)."""
    world.packed()
    imported(world, body("planting", batch="FS-PL-2020-002"))
    harvest = body("harvest", origin="FS-PL-2020-002", batch="FS-RS-2026-002")
    imported(world, harvest)
    fresh = body("fresh_processing")
    fresh["inputs"] = [{"batch": "FS-RS-2026-002", "quantity": {"value": "20", "unit": "kg"}}]
    fresh["outputs"] = [{**fresh["outputs"][0], "batch": "FS-XS-2026-002"}]
    fresh["outputs"][0]["quantity"] = {"value": "20", "unit": "kg"}
    imported(world, fresh)
    merge = body("merge")
    merge["inputs"] = [
        {"batch": "JA-HS-2026-001-B", "quantity": {"value": "22.800", "unit": "kg"}},
        {"batch": "FS-XS-2026-002", "quantity": {"value": "20", "unit": "kg"}},
    ]
    refused = world.refused(PLATFORM, merge, "custody", IMPORTER)
    assert f"held by {COOP}, {PLANT}" in (refused.detail or "")


def test_imported_alerts_are_kept_under_their_own_ids(world: World) -> None:
    """An importer's alert is stored as `AI-<index>` even when its body reuses one of this
    log's alert IDs, which stays as it was; other signers still may not sign alerts."""
    world.packed()
    world.ok(LAB, body("quality_test", result="fail", report_no="R-2"), "inspector")
    [own] = read(world.domain.engine, list_alerts)
    assert own.logged_index is not None
    index = imported(world, body("alert", id=own.id, detail="reported by the other system"))
    theirs = read(world.domain.engine, get_alert, f"AI-{index:012d}")
    assert (theirs.logged_index, theirs.detail) == (index, "reported by the other system")
    assert theirs.raised_at == "2026-09-20T08:30:00Z"  # the envelope's time
    assert read(world.domain.engine, get_alert, own.id) == own
    world.refused(PHARMACY, body("alert"), "unauthorised", "operator")


def test_reindex_rebuilds_what_an_importer_recorded(world: World) -> None:
    """Replaying the log gives the same indexes: an imported event acts for the same party on
    replay as when it was appended."""
    chain_to_plant(world)
    imported(world, body("processing"))
    imported(world, body("alert"))
    report = world.domain.reindex(check=True)
    assert report.changed == []
    assert report.skipped == {}
