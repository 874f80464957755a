"""Growing age: a claimed age must agree with the planting event's date."""

from __future__ import annotations

import pytest
from read_support import read
from story import COOP, FARM, World, body

from traceability.domain.alerts import list_alerts
from traceability.domain.batches import read_batch
from traceability.domain.rules.growing_age import completed_years


@pytest.mark.parametrize(
    ("start", "end", "years"),
    [
        ("2020-04-25", "2026-09-15", 6),
        ("2020-09-20", "2026-09-15", 5),
        ("2024-02-29", "2025-02-28", 0),
    ],
)
def test_completed_years_count_anniversaries(start: str, end: str, years: int) -> None:
    """Completed years count the anniversaries passed, leap days included."""
    from datetime import date

    assert completed_years(date.fromisoformat(start), date.fromisoformat(end)) == years


def test_a_claim_must_agree_with_the_planting_date(world: World) -> None:
    """Planted 2020-04-25, harvested 2026-09-15: 6 or 7 years agree, 5 and 8 do not."""
    world.ok(COOP, body("planting"))
    refused = world.refused(COOP, body("harvest", growing_years=8), "growing_age")
    assert "6 completed years" in (refused.detail or "")
    world.refused(COOP, body("harvest", growing_years=5), "growing_age")
    world.ok(COOP, body("harvest", batch="H-6", growing_years=6))
    world.ok(COOP, body("harvest", batch="H-7", growing_years=7))
    world.ok(COOP, body("harvest", batch="H-none", growing_years=None))
    assert read(world.domain.engine, read_batch, "H-6").growing_years == 6
    (alert, other) = read(world.domain.engine, list_alerts, kind="growing_age")
    assert {alert.evidence["claimed"], other.evidence["claimed"]} == {8, 5}


def test_a_harvest_cannot_precede_its_planting(world: World) -> None:
    """A harvest dated before the planting is refused."""
    world.ok(COOP, body("planting"))
    world.refused(
        COOP, body("harvest", harvested_on="2020-04-24", growing_years=None), "growing_age"
    )


def test_a_claim_without_a_planting_is_refused(world: World) -> None:
    """Velvet from a herd claims no age the log can support."""
    herd = body(
        "husbandry", herd="SY-HERD-03", activity="established", herb="lurong", certificate=None
    )
    world.ok(FARM, herd)
    velvet = body(
        "harvest",
        batch="SY-LR-2026-001",
        origin="SY-HERD-03",
        herb="lurong",
        site="site-shuangyang-farm",
        quantity={"value": "12", "unit": "kg"},
    )
    world.refused(FARM, velvet, "growing_age")
    world.ok(FARM, velvet | {"growing_years": None})
