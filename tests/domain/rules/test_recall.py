"""Recall: nothing is recorded on a recalled batch; a recall reaches everything downstream."""

from __future__ import annotations

from read_support import read
from story import COOP, LAB, PHARMACY, PLANT, World, body

from traceability.domain.alerts import list_alerts
from traceability.domain.batches import read_batch
from traceability.domain.history import batch_events
from traceability.domain.units import batch_units


def sold_story(world: World) -> None:
    """The packed story, shipped to the pharmacy, with unit 0002 sold."""
    world.packed()
    world.ok(PLANT, body("ship", carrier=None))
    world.ok(PHARMACY, body("receive"))
    world.ok(PHARMACY, body("retail_sale"))


def test_a_recall_marks_every_downstream_batch_and_unit(world: World) -> None:
    """Recalling 红参 marks its split child, the packed batch and all its units, not upstream."""
    sold_story(world)
    world.ok(COOP, body("recall"), role="regulator")
    domain = world.domain
    for batch in ("JA-HS-2026-001", "JA-HS-2026-001-A", "JA-HS-2026-001-P"):
        assert read(domain.engine, read_batch, batch).status == "recalled"
    assert read(domain.engine, read_batch, "FS-XS-2026-001").status == "consumed"  # upstream stays
    assert {u.status for u in read(domain.engine, batch_units, "JA-HS-2026-001-P")} == {"recalled"}
    assert [e.type for e in read(domain.engine, batch_events, "JA-HS-2026-001-P")][-1] == "recall"
    (alert,) = read(domain.engine, list_alerts, kind="recalled_batch")
    assert alert.evidence["sold_units"] == 1
    assert alert.evidence["units"] == 3
    assert alert.severity == "warning"  # level II


def test_nothing_is_recorded_on_a_recalled_batch(world: World) -> None:
    """Sale, shipment on (to anyone but the owner), readings, tests and a second recall on
    recalled batches are refused."""
    sold_story(world)
    world.ok(COOP, body("recall"), role="regulator")
    world.refused(PHARMACY, body("retail_sale", serials=["0003"]), "batch_recalled")
    world.refused(PHARMACY, body("ship", shipment="SHP-on", to=LAB), "batch_recalled")
    world.refused(PHARMACY, body("sensor_reading"), "batch_recalled")
    world.refused(
        LAB, body("quality_test", batch="JA-HS-2026-001-P"), "batch_recalled", "inspector"
    )
    world.refused(COOP, body("recall"), "batch_recalled", role="regulator")
    alerts = read(world.domain.engine, list_alerts, kind="recalled_batch")
    assert any(a.evidence.get("reason") == "batch_recalled" for a in alerts)


def test_a_recall_is_signed_by_a_regulator_or_the_owners_operator(world: World) -> None:
    """The owner's device and another organisation's operator may not recall; the owner may."""
    world.packed()
    world.refused(PLANT, body("recall"), "unauthorised")
    world.refused(COOP, body("recall"), "unauthorised", role="operator")
    world.ok(PLANT, body("recall"), role="operator")
    assert read(world.domain.engine, read_batch, "JA-HS-2026-001-P").status == "recalled"
    assert read(world.domain.engine, list_alerts, kind="recalled_batch") == []  # nothing sold yet


def test_goods_recalled_in_transit_are_received_and_stay_recalled(world: World) -> None:
    """A batch recalled while shipped is received (custody moves to where the goods are),
    stays recalled with nothing more recorded on it, and the receipt alerts regulators."""
    world.packed()
    world.ok(PLANT, body("ship", carrier=None))
    world.ok(COOP, body("recall"), role="regulator")
    world.ok(PHARMACY, body("receive"))
    packed = read(world.domain.engine, read_batch, "JA-HS-2026-001-P")
    assert (packed.status, packed.custodian, packed.shipment) == ("recalled", PHARMACY, None)
    events = [e.type for e in read(world.domain.engine, batch_events, "JA-HS-2026-001-P")]
    assert events[-3:] == ["recall", "receive", "alert"]  # the alert is logged on it too
    (alert,) = read(world.domain.engine, list_alerts, kind="recalled_batch")
    assert alert.batch == "JA-HS-2026-001-P"
    assert alert.evidence["shipment"] == "SHP-2026-1010-01"
    assert alert.evidence["site"] == "site-changchun-pharmacy"
    world.refused(PHARMACY, body("retail_sale", serials=["0003"]), "batch_recalled")
    world.refused(PHARMACY, body("ship", shipment="SHP-on", to=LAB), "batch_recalled")
    report = world.domain.reindex(check=True)  # replaying the log gives the same state
    assert report.changed == []


def test_recalled_goods_go_back_to_their_owner(world: World) -> None:
    """The holder of recalled goods may ship them back to their owner only; the owner
    receives them, they stay recalled, and the receipt's alert says they were returned."""
    sold_story(world)
    packed = read(world.domain.engine, read_batch, "JA-HS-2026-001-P")
    assert packed.owner == PLANT
    world.ok(COOP, body("recall"), role="regulator")
    back = body("ship", shipment="SHP-back", to=PLANT, to_site="site-jian-plant", carrier=None)
    world.ok(PHARMACY, back)
    returned = body("receive", shipment="SHP-back", sender=PHARMACY, site="site-jian-plant")
    world.refused(LAB, returned | {"site": "site-jilin-lab"}, "custody")
    world.ok(PLANT, returned)
    packed = read(world.domain.engine, read_batch, "JA-HS-2026-001-P")
    assert (packed.status, packed.custodian, packed.shipment) == ("recalled", PLANT, None)
    (alert,) = [
        a
        for a in read(world.domain.engine, list_alerts, kind="recalled_batch")
        if "shipment" in a.evidence
    ]
    assert alert.evidence["shipment"] == "SHP-back"
    assert "returned to its owner" in alert.detail
    world.refused(PLANT, body("ship", shipment="SHP-again", to=PHARMACY), "batch_recalled")
    assert world.domain.reindex(check=True).changed == []


def test_only_the_holder_ships_a_return(world: World) -> None:
    """A return is a shipment like any other: only the goods' custodian may send it."""
    sold_story(world)
    world.ok(COOP, body("recall"), role="regulator")
    world.refused(COOP, body("ship", shipment="SHP-back", to=PLANT), "custody")
    world.refused(PLANT, body("ship", shipment="SHP-back", to=PLANT), "custody")
