"""Growing age: a harvest's claimed age (six-year ginseng) must agree with its planting event.

The age is counted from the planting batch's `planted_on` to the harvest's `harvested_on`:
with Y the completed years between them, a claim of Y or Y + 1 years agrees (the planting
season counts). A claim on a harvest whose origin has no planting date (a herd) has nothing
to agree with and is refused, as is a harvest dated before its planting.
"""

from __future__ import annotations

from datetime import date

from traceability.domain.context import Context
from traceability.domain.state import BatchRecord


def completed_years(start: date, end: date) -> int:
    """Whole years from `start` to `end` (anniversaries passed)."""
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def check_harvest(
    ctx: Context, origin: BatchRecord, harvested_on: str, claimed: int | None
) -> None:
    """Refuse (`growing_age`) a harvest before planting, or a claimed age the dates deny."""
    planted = None if origin.planted_on is None else date.fromisoformat(origin.planted_on)
    harvested = date.fromisoformat(harvested_on)
    if planted is not None and harvested < planted:
        ctx.refuse(
            "growing_age",
            f"harvested on {harvested_on}, before {origin.id} was planted on {origin.planted_on}",
            origin=origin.id,
            planted_on=origin.planted_on,
            harvested_on=harvested_on,
        )
    if claimed is None:
        return
    if planted is None:
        ctx.refuse(
            "growing_age",
            f"claims {claimed} growing years, but origin {origin.id} ({origin.kind}) has no "
            "planting event to support an age",
            origin=origin.id,
            claimed=claimed,
        )
    years = completed_years(planted, harvested)
    if not years <= claimed <= years + 1:
        ctx.refuse(
            "growing_age",
            f"claims {claimed} growing years, but {origin.id} was planted on "
            f"{origin.planted_on} and harvested on {harvested_on}: {years} completed years, "
            f"so {years} or {years + 1} agree",
            origin=origin.id,
            claimed=claimed,
            planted_on=origin.planted_on,
            harvested_on=harvested_on,
            completed_years=years,
        )
