"""Transformations: fresh processing, processing (炮制), split, merge and pack."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import cast

from schemas.events import FreshProcessing, Merge, Pack, Processing, Split
from schemas.events.common import Portion
from traceability.digital_link import gtin_check_digit
from traceability.domain import quantities as q
from traceability.domain.context import Context
from traceability.domain.handlers.common import (
    new_batch,
    require_one_herb,
    require_processable,
    shared,
    write_remaining,
)
from traceability.domain.roles import FIELD_ROLES
from traceability.domain.rules.custody import (
    held,
    require_new_batches,
    require_own_site,
    require_role,
)
from traceability.domain.rules.importer import for_holder
from traceability.domain.rules.mass_balance import check_outputs, in_batch_unit, take, yield_factor
from traceability.domain.rules.quality import inherited, require_not_failed
from traceability.domain.state import BatchRecord
from traceability.domain.working_set import Unit


def transform(ctx: Context, body: FreshProcessing | Processing) -> None:
    """Inputs become new output batches; outputs ≤ inputs × the steps' maximum yields."""
    require_role(ctx, FIELD_ROLES, f"a {body.type}")
    found = held(ctx, [p.batch for p in body.inputs])
    ctx = for_holder(ctx, found)
    parents = list(found.values())
    require_processable(ctx, parents, "processed")
    herb = require_one_herb(ctx, parents)
    require_own_site(ctx, body.site)
    require_new_batches(ctx, [o.batch for o in body.outputs])
    left = _take_inputs(ctx, found, body.inputs)
    check_outputs(
        ctx,
        f"{body.type} at {body.site} ({', '.join(body.steps)})",
        [(p.quantity.value, p.quantity.unit) for p in body.inputs],
        [(o.quantity.value, o.quantity.unit) for o in body.outputs],
        yield_factor(ctx, herb, body.steps),
    )
    write_remaining(ctx, found, left)
    quality = inherited(parents, same_material=False)
    for o in body.outputs:
        ctx.state.insert_batch(
            new_batch(
                ctx,
                o.batch,
                herb=herb,
                kind="processed",
                quantity=o.quantity.value,
                unit=o.quantity.unit,
                origin_site=cast("str | None", shared(b.origin_site for b in parents)),
                quality=quality,
                planted_on=cast("str | None", shared(b.planted_on for b in parents)),
                harvested_on=cast("str | None", shared(b.harvested_on for b in parents)),
                growing_years=cast("int | None", shared(b.growing_years for b in parents)),
            ),
        )
    edges = [
        (p.batch, o.batch, q.text(Decimal(p.quantity.value)), p.quantity.unit)
        for p in body.inputs
        for o in body.outputs
    ]
    ctx.state.add_edges(ctx.index, edges)
    batches = [p.batch for p in body.inputs] + [o.batch for o in body.outputs]
    ctx.state.add_events(ctx.index, body.type, batches)


def _take_inputs(
    ctx: Context, found: dict[str, BatchRecord], inputs: Sequence[Portion]
) -> dict[str, Decimal]:
    """What is left of each input batch once its portion (in its own unit) is taken."""
    portions = [
        (p.batch, in_batch_unit(ctx, found[p.batch], p.quantity.value, p.quantity.unit))
        for p in inputs
    ]
    return take(ctx, found, portions)


def split(ctx: Context, body: Split) -> None:
    """A batch divided into children; the children cannot exceed what is left of it."""
    require_role(ctx, FIELD_ROLES, "a split")
    parent = held(ctx, [body.batch])[body.batch]
    ctx = for_holder(ctx, {parent.id: parent})
    require_processable(ctx, [parent], "split")
    require_new_batches(ctx, [c.batch for c in body.children])
    amount = sum(
        (in_batch_unit(ctx, parent, c.quantity.value, c.quantity.unit) for c in body.children),
        Decimal(0),
    )
    left = take(ctx, {parent.id: parent}, [(parent.id, amount)])
    write_remaining(ctx, {parent.id: parent}, left)
    for c in body.children:
        ctx.state.insert_batch(
            new_batch(
                ctx,
                c.batch,
                herb=parent.herb,
                kind="split",
                quantity=c.quantity.value,
                unit=c.quantity.unit,
                owner=parent.owner,
                origin_site=parent.origin_site,
                quality=inherited([parent], same_material=True),
                planted_on=parent.planted_on,
                harvested_on=parent.harvested_on,
                growing_years=parent.growing_years,
            ),
        )
    edges = [
        (parent.id, c.batch, q.text(Decimal(c.quantity.value)), c.quantity.unit)
        for c in body.children
    ]
    ctx.state.add_edges(ctx.index, edges)
    ctx.state.add_events(ctx.index, "split", [parent.id, *(c.batch for c in body.children)])


def merge(ctx: Context, body: Merge) -> None:
    """Batches of one herb combined; the output cannot exceed the inputs."""
    require_role(ctx, FIELD_ROLES, "a merge")
    found = held(ctx, [p.batch for p in body.inputs])
    ctx = for_holder(ctx, found)
    parents = list(found.values())
    require_processable(ctx, parents, "merged")
    herb = require_one_herb(ctx, parents)
    require_new_batches(ctx, [body.output.batch])
    left = _take_inputs(ctx, found, body.inputs)
    check_outputs(
        ctx,
        f"merge into {body.output.batch}",
        [(p.quantity.value, p.quantity.unit) for p in body.inputs],
        [(body.output.quantity.value, body.output.quantity.unit)],
    )
    write_remaining(ctx, found, left)
    out = body.output
    ctx.state.insert_batch(
        new_batch(
            ctx,
            out.batch,
            herb=herb,
            kind="merged",
            quantity=out.quantity.value,
            unit=out.quantity.unit,
            origin_site=cast("str | None", shared(b.origin_site for b in parents)),
            quality=inherited(parents, same_material=False),
            planted_on=cast("str | None", shared(b.planted_on for b in parents)),
            harvested_on=cast("str | None", shared(b.harvested_on for b in parents)),
            growing_years=cast("int | None", shared(b.growing_years for b in parents)),
        ),
    )
    edges = [
        (p.batch, out.batch, q.text(Decimal(p.quantity.value)), p.quantity.unit)
        for p in body.inputs
    ]
    ctx.state.add_edges(ctx.index, edges)
    ctx.state.add_events(ctx.index, "merge", [*(p.batch for p in body.inputs), out.batch])


def pack(ctx: Context, body: Pack) -> None:
    """Part of a batch packed into serialised units (GTIN + serial: a GS1 Digital Link each)."""
    require_role(ctx, FIELD_ROLES, "a pack")
    batch = held(ctx, [body.batch])[body.batch]
    ctx = for_holder(ctx, {batch.id: batch})
    require_processable(ctx, [batch], "packed")
    require_not_failed(ctx, batch, "packed")
    gtin = body.product.gtin
    expected = gtin_check_digit(gtin[:-1])
    if expected != int(gtin[-1]):
        ctx.refuse(
            "invalid_gtin",
            f"GTIN {gtin} has check digit {gtin[-1]}; its digits give {expected}",
            gtin=gtin,
        )
    require_new_batches(ctx, [body.packed_batch])
    existing = ctx.state.units(gtin, body.serials)
    if existing:
        taken = next(s for s in body.serials if s in existing)
        ctx.refuse(
            "duplicate_id",
            f"unit {gtin} serial {taken} is already packed",
            gtin=gtin,
            serial=taken,
        )
    count = len(body.serials)
    net = Decimal(body.unit_quantity.value) * count
    amount = in_batch_unit(ctx, batch, q.text(net), body.unit_quantity.unit)
    left = take(ctx, {batch.id: batch}, [(batch.id, amount)])
    write_remaining(ctx, {batch.id: batch}, left)
    ctx.state.insert_batch(
        new_batch(
            ctx,
            body.packed_batch,
            herb=batch.herb,
            kind="packed",
            quantity=str(count),
            unit="piece",
            origin_site=batch.origin_site,
            quality=inherited([batch], same_material=True),
            gtin=gtin,
            lot=body.product.lot,
            planted_on=batch.planted_on,
            harvested_on=batch.harvested_on,
            growing_years=batch.growing_years,
        ),
    )
    ctx.state.add_units(
        gtin,
        {s: Unit(body.product.lot, body.packed_batch, "packed", ctx.index) for s in body.serials},
    )
    ctx.state.add_edges(
        ctx.index,
        [(batch.id, body.packed_batch, q.text(net), body.unit_quantity.unit)],
    )
    ctx.state.add_events(ctx.index, "pack", [batch.id, body.packed_batch])
