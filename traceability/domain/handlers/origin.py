"""Events at the origin: planting, husbandry, cultivation inputs, harvest."""

from __future__ import annotations

from decimal import Decimal

from schemas.events import CultivationInput, Harvest, Husbandry, Planting
from traceability.domain import quantities as q
from traceability.domain.context import Context
from traceability.domain.handlers.common import new_batch
from traceability.domain.roles import FIELD_ROLES
from traceability.domain.rules.custody import (
    held,
    require_new_batches,
    require_own_site,
    require_role,
)
from traceability.domain.rules.growing_age import check_harvest
from traceability.domain.rules.importer import for_holder, for_site
from traceability.domain.state import BatchRecord


def _require_kind(ctx: Context, batch: BatchRecord, kinds: tuple[str, ...], what: str) -> None:
    if batch.kind not in kinds:
        ctx.refuse(
            "wrong_batch_kind",
            f"batch {batch.id} is a {batch.kind} batch; {what} needs a {' or '.join(kinds)}",
            batch=batch.id,
            kind=batch.kind,
        )


def planting(ctx: Context, body: Planting) -> None:
    """Planting creates the origin batch: the crop in the field, measured by its area."""
    require_role(ctx, FIELD_ROLES, "a planting")
    ctx = for_site(ctx, body.site)
    require_own_site(ctx, body.site)
    require_new_batches(ctx, [body.batch])
    ctx.state.insert_batch(
        new_batch(
            ctx,
            body.batch,
            herb=body.herb,
            kind="planting",
            quantity=body.area.value,
            unit=body.area.unit,
            origin_site=body.site,
            planted_on=body.planted_on,
        ),
    )
    ctx.state.add_events(ctx.index, "planting", [body.batch])


def husbandry(ctx: Context, body: Husbandry) -> None:
    """A herd is established (a new origin batch counted in head), or its record grows."""
    require_role(ctx, FIELD_ROLES, "husbandry")
    if body.activity == "established":
        ctx = for_site(ctx, body.site)
        require_own_site(ctx, body.site)
        require_new_batches(ctx, [body.herd])
        assert body.herb is not None  # noqa: S101 - the schema requires it when established
        ctx.state.insert_batch(
            new_batch(
                ctx,
                body.herd,
                herb=body.herb,
                kind="herd",
                quantity=str(body.animals or 0),
                unit="head",
                origin_site=body.site,
            ),
        )
    else:
        herd = held(ctx, [body.herd])[body.herd]
        _require_kind(ctx, herd, ("herd",), "husbandry")
    ctx.state.add_events(ctx.index, "husbandry", [body.herd])


def cultivation_input(ctx: Context, body: CultivationInput) -> None:
    """Fertiliser or pesticide on a planting, recorded by its custodian."""
    require_role(ctx, FIELD_ROLES, "a cultivation input")
    batch = held(ctx, [body.batch])[body.batch]
    _require_kind(ctx, batch, ("planting",), "a cultivation input")
    ctx.state.add_events(ctx.index, "cultivation_input", [body.batch])


def harvest(ctx: Context, body: Harvest) -> None:
    """A harvest from a planting or herd: a new batch, linked to its origin."""
    require_role(ctx, FIELD_ROLES, "a harvest")
    origin = held(ctx, [body.origin])[body.origin]
    ctx = for_holder(ctx, {origin.id: origin})
    _require_kind(ctx, origin, ("planting", "herd"), "a harvest")
    if body.herb != origin.herb:
        ctx.refuse(
            "herb_mismatch",
            f"harvest of {body.herb} from {origin.id}, where {origin.herb} grows",
            origin=origin.id,
            herb=body.herb,
            origin_herb=origin.herb,
        )
    if body.quantity.unit in q.AREA_IN_M2:
        ctx.refuse(
            "unit_mismatch",
            f"a harvest is weighed or counted, not measured in {body.quantity.unit}",
            unit=body.quantity.unit,
        )
    require_own_site(ctx, body.site)
    require_new_batches(ctx, [body.batch])
    check_harvest(ctx, origin, body.harvested_on, body.growing_years)
    ctx.state.insert_batch(
        new_batch(
            ctx,
            body.batch,
            herb=body.herb,
            kind="harvest",
            quantity=body.quantity.value,
            unit=body.quantity.unit,
            origin_site=origin.origin_site,
            planted_on=origin.planted_on,
            harvested_on=body.harvested_on,
            growing_years=body.growing_years,
        ),
    )
    ctx.state.add_edges(
        ctx.index,
        [(origin.id, body.batch, q.text(Decimal(body.quantity.value)), body.quantity.unit)],
    )
    ctx.state.add_events(ctx.index, "harvest", [origin.id, body.batch])
