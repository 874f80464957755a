"""Quality: a failed batch is not packed, shipped or sold until a passing retest."""

from __future__ import annotations

from typing import Any

from read_support import read
from story import LAB, PHARMACY, PLANT, World, body

from traceability.domain.alerts import list_alerts
from traceability.domain.batches import read_batch

CADMIUM = {"item": "cadmium", "value": "1.4", "unit": "mg/kg"}


def lab_test(batch: str, result: str, *items: dict[str, Any]) -> dict[str, Any]:
    """A quality test body of `batch` with `result` and the given items (default: cadmium)."""
    return body("quality_test", batch=batch, result=result, items=list(items) or [CADMIUM])


def test_a_failed_batch_is_held_until_a_passing_retest(world: World) -> None:
    """After a failing test, pack and ship are refused; after a passing retest they work."""
    world.red_ginseng()
    world.ok(LAB, lab_test("JA-HS-2026-001", "fail"), "inspector")
    assert read(world.domain.engine, read_batch, "JA-HS-2026-001").quality == "failed"
    world.ok(PLANT, body("split"))
    # failure follows
    assert read(world.domain.engine, read_batch, "JA-HS-2026-001-A").quality == "failed"
    world.refused(PLANT, body("pack"), "quality_failed")
    ship = body("ship", batches=["JA-HS-2026-001-A"], carrier=None)
    world.refused(PLANT, ship, "quality_failed")
    moisture = {"item": "moisture", "value": "11.0", "unit": "%"}
    world.ok(LAB, lab_test("JA-HS-2026-001-A", "pass", moisture), "inspector")
    world.ok(PLANT, body("pack"))
    world.ok(PLANT, ship | {"batches": ["JA-HS-2026-001-P"]})


def test_a_failed_packed_batch_is_not_sold(world: World) -> None:
    """Units of a packed batch that fails its test cannot be sold until a retest passes."""
    world.packed()
    world.ok(PLANT, body("ship", carrier=None))
    world.ok(PHARMACY, body("receive"))
    world.ok(LAB, lab_test("JA-HS-2026-001-P", "fail"), "inspector")
    world.refused(PHARMACY, body("retail_sale"), "quality_failed")
    world.ok(LAB, lab_test("JA-HS-2026-001-P", "pass", {**CADMIUM, "value": "0.2"}), "inspector")
    world.ok(PHARMACY, body("retail_sale"))


def test_a_lab_pass_against_a_broken_limit_fails_and_says_so(world: World) -> None:
    """A `pass` with an item beyond the catalogue's limit fails the batch; the alert says why."""
    world.red_ginseng()
    index = world.ok(LAB, lab_test("JA-HS-2026-001", "pass"), "inspector")
    assert read(world.domain.engine, read_batch, "JA-HS-2026-001").quality == "failed"
    (alert,) = read(world.domain.engine, list_alerts, kind="quality_failed")
    assert alert.source_index == index
    assert "reported pass" in alert.detail
    assert "cadmium" in alert.detail
    assert alert.evidence["cadmium"] == "1.4 mg/kg (limit max 1)"
    assert alert.batch == "JA-HS-2026-001"


def test_a_passing_test_raises_no_alert(world: World) -> None:
    """A pass within every limit marks the batch passed and raises nothing."""
    world.red_ginseng()
    world.ok(LAB, body("quality_test"), "inspector")
    assert read(world.domain.engine, read_batch, "JA-HS-2026-001").quality == "passed"
    assert read(world.domain.engine, list_alerts) == []


def test_only_a_registered_testing_laboratory_records_tests(world: World) -> None:
    """The signer must belong to the lab the body names, registered as a testing_lab."""
    world.red_ginseng()
    world.refused(PLANT, body("quality_test"), "unauthorised", role="inspector")
    world.refused(PLANT, body("quality_test", lab=PLANT), "unauthorised", role="inspector")
    world.refused(
        "org-ghost-lab",
        body("quality_test", lab="org-ghost-lab"),
        "unknown_organisation",
        role="inspector",
    )
    world.refused(LAB, body("quality_test"), "unauthorised", role="regulator")
    assert read(world.domain.engine, read_batch, "JA-HS-2026-001").quality == "untested"
