"""Mass balance: outputs never exceed inputs × yields; splits and packs never exceed the batch."""

from __future__ import annotations

from typing import Any

from read_support import read
from story import COOP, PLANT, World, body

from traceability.domain.alerts import list_alerts
from traceability.domain.batches import read_batch
from traceability.domain.units import batch_units


def portion(batch: str, value: str, unit: str = "kg") -> dict[str, Any]:
    """A portion of a batch."""
    return {"batch": batch, "quantity": {"value": value, "unit": unit}}


def steam(output: str) -> dict[str, Any]:
    """Steam and dry 176 kg of fresh ginseng into `output` kg of 红参 (max yield 0.9 × 0.35)."""
    return body(
        "processing",
        outputs=[{**portion("JA-HS-2026-001", output), "form": "红参"}],
    )


def test_a_transformation_may_not_yield_more_than_its_steps_allow(world: World) -> None:
    """176 kg × 0.9 × 0.35 = 55.44 kg: 55.441 kg is refused, exactly 55.44 kg accepted."""
    world.grow()
    world.ok(COOP, body("fresh_processing"))
    world.to_plant("FS-XS-2026-001", "SHP-1")
    refused = world.refused(PLANT, steam("55.441"), "mass_balance")
    assert "55.44 kg" in (refused.detail or "")
    world.ok(PLANT, steam("55.44"))
    assert read(world.domain.engine, read_batch, "FS-XS-2026-001").status == "consumed"


def test_a_portion_cannot_exceed_what_is_left_of_its_batch(world: World) -> None:
    """Taking 180.501 kg of a 180.5 kg harvest is refused; grams convert exactly."""
    world.grow()
    fresh = body("fresh_processing")
    world.refused(COOP, fresh | {"inputs": [portion("FS-RS-2026-001", "180.501")]}, "mass_balance")
    world.refused(
        COOP, fresh | {"inputs": [portion("FS-RS-2026-001", "2", "piece")]}, "unit_mismatch"
    )
    grams = fresh | {
        "inputs": [portion("FS-RS-2026-001", "100000", "g")],
        "outputs": [portion("FS-XS-2026-001", "99")],
    }
    world.ok(COOP, grams)
    assert read(world.domain.engine, read_batch, "FS-RS-2026-001").remaining == "80.5"
    world.refused(
        COOP,
        grams
        | {
            "outputs": [portion("FS-XS-2026-002", "80")],
            "inputs": [portion("FS-RS-2026-001", "81")],
        },
        "mass_balance",
    )


def test_a_splits_children_cannot_exceed_the_parent(world: World) -> None:
    """Children summing to more than the parent are refused; exactly the parent is accepted."""
    world.red_ginseng()
    children = [portion("JA-HS-2026-001-A", "30"), portion("JA-HS-2026-001-B", "22.801")]
    world.refused(PLANT, body("split", children=children), "mass_balance")
    children[1] = portion("JA-HS-2026-001-B", "22800", "g")
    world.ok(PLANT, body("split", children=children))
    parent = read(world.domain.engine, read_batch, "JA-HS-2026-001")
    assert (parent.remaining, parent.status) == ("0", "consumed")
    world.refused(PLANT, body("split", children=[portion("X-1", "1")]), "batch_consumed")


def test_units_packed_cannot_exceed_the_batch(world: World) -> None:
    """121 units of 0.25 kg from a 30 kg batch are refused; 120 are accepted."""
    world.packed()  # packs 3 units of 0.25 kg from JA-HS-2026-001-A (30 kg)
    serials = [f"S{i:04d}" for i in range(120)]
    pack = body("pack", packed_batch="JA-HS-2026-001-Q", serials=[*serials, "S9999"])
    refused = world.refused(PLANT, pack, "mass_balance")
    assert "29.25" in (refused.detail or "")
    world.ok(PLANT, pack | {"serials": serials[:117]})
    assert read(world.domain.engine, read_batch, "JA-HS-2026-001-A").status == "consumed"
    assert len(read(world.domain.engine, batch_units, "JA-HS-2026-001-Q")) == 117


def test_a_merge_cannot_put_out_more_than_went_in(world: World) -> None:
    """Merging 22.8 kg and 20 kg into 42.801 kg is refused; 42.8 kg is accepted."""
    world.red_ginseng()
    world.ok(
        PLANT,
        body(
            "split",
            children=[portion("JA-HS-2026-001-B", "22.8"), portion("JA-HS-2026-002-B", "20")],
        ),
    )
    merge = body("merge")
    merge["output"] = portion("JA-HS-2026-M01", "42.801")
    world.refused(PLANT, merge, "mass_balance")
    merge["output"] = portion("JA-HS-2026-M01", "42.8")
    world.ok(PLANT, merge)
    assert read(world.domain.engine, read_batch, "JA-HS-2026-M01").kind == "merged"


def test_an_impossible_transformation_raises_a_mass_balance_alert(world: World) -> None:
    """A refused mass balance is also an alert for regulators, naming the refused envelope."""
    world.grow()
    fresh = body("fresh_processing", outputs=[portion("FS-XS-2026-001", "181")])
    refused = world.refused(COOP, fresh, "mass_balance")
    (alert,) = read(world.domain.engine, list_alerts, kind="mass_balance")
    assert refused.envelope_hash is not None
    assert alert.envelopes == [refused.envelope_hash.hex()]
    assert alert.logged_index is not None
    assert alert.evidence["reason"] == "mass_balance"
