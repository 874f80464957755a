"""Custody: only the custodian's signers act on a batch; transfers need ship and receive."""

from __future__ import annotations

from read_support import read
from story import COOP, LAB, PHARMACY, PLANT, World, body

from traceability.domain.batches import read_batch


def test_only_the_custodians_signers_record_events_on_a_batch(world: World) -> None:
    """The custodian's device records a cultivation input; another organisation's is refused."""
    world.ok(COOP, body("planting"))
    world.ok(COOP, body("cultivation_input"))
    refused = world.refused(PLANT, body("cultivation_input"), "custody")
    assert "held by org-fusong-coop" in (refused.detail or "")
    world.refused(PLANT, body("harvest"), "custody")
    assert read(world.domain.engine, read_batch, "FS-PL-2020-001").custodian == COOP


def test_a_transfer_needs_the_ship_and_the_receive_side(world: World) -> None:
    """Custody passes only when the named recipient receives exactly what was shipped."""
    world.grow()
    world.ok(COOP, body("fresh_processing"))
    receive = body(
        "receive", shipment="SHP-1", batches=["FS-XS-2026-001"], sender=COOP, site="site-jian-plant"
    )
    world.refused(PLANT, receive, "unknown_shipment")
    world.ok(COOP, body("ship", shipment="SHP-1", batches=["FS-XS-2026-001"], to=PLANT))
    assert read(world.domain.engine, read_batch, "FS-XS-2026-001").shipment == "SHP-1"
    world.refused(PLANT, body("processing"), "custody")  # not PLANT's until received
    world.refused(COOP, body("split", batch="FS-XS-2026-001"), "in_transit")
    world.refused(PHARMACY, receive, "custody")
    world.refused(PLANT, {**receive, "batches": ["FS-RS-2026-001"]}, "shipment_mismatch")
    world.refused(PLANT, {**receive, "sender": LAB}, "shipment_mismatch")
    world.refused(PLANT, {**receive, "site": "site-fusong-wanliang"}, "custody")
    world.ok(PLANT, receive)
    batch = read(world.domain.engine, read_batch, "FS-XS-2026-001")
    assert (batch.custodian, batch.owner, batch.shipment) == (PLANT, COOP, None)
    world.refused(PLANT, receive, "shipment_mismatch")  # received once only
    world.refused(COOP, body("split", batch="FS-XS-2026-001"), "custody")
    world.ok(PLANT, body("processing"))


def test_shipping_needs_a_registered_recipient_and_a_fresh_shipment_id(world: World) -> None:
    """Shipping to an unregistered organisation, to oneself, or under a used ID is refused."""
    world.grow()
    ship = body("ship", shipment="SHP-2", batches=["FS-RS-2026-001"], to="org-nobody")
    world.refused(COOP, ship, "unknown_organisation")
    world.refused(COOP, {**ship, "to": COOP}, "shipment_mismatch")
    world.refused(
        COOP, {**ship, "to": PLANT, "to_site": "site-changchun-pharmacy"}, "shipment_mismatch"
    )
    world.ok(COOP, {**ship, "to": PLANT, "to_site": "site-jian-plant"})
    world.refused(COOP, {**ship, "to": PLANT, "batches": ["FS-PL-2020-001"]}, "duplicate_id")


def test_each_event_type_is_signed_by_the_roles_allowed_to(world: World) -> None:
    """Inspectors do not harvest; devices do not register; operators register their own sites."""
    world.ok(COOP, body("planting"))
    world.refused(COOP, body("harvest"), "unauthorised", role="inspector")
    world.refused(COOP, body("organisation", id="org-x", credit_code=None), "unauthorised")
    site = body("site", id="site-new", organisation=COOP)
    world.refused(PLANT, site, "unauthorised", role="operator")
    world.ok(COOP, site, role="operator")
    world.ok(COOP, body("organisation", id="org-x", credit_code=None), role="regulator")


def test_origin_events_need_a_registered_site_of_the_signers_organisation(world: World) -> None:
    """Planting on an unknown site, or on another organisation's, is refused; IDs are unique."""
    world.refused(COOP, body("planting", site="site-nowhere"), "unknown_site")
    world.refused(COOP, body("planting", site="site-jian-plant"), "custody")
    world.ok(COOP, body("planting"))
    world.refused(COOP, body("planting"), "duplicate_id")
    world.refused(COOP, body("harvest", origin="FS-PL-1999-404"), "unknown_batch")
