"""Mass balance: nothing comes out of a lineage that did not go into it.

* A portion taken from a batch cannot exceed what is left of it.
* A transformation's outputs cannot exceed its inputs × the product of its steps' maximum
  yields (the herb catalogue's; 1 where it gives none), masses compared in kilograms.
* A split's children cannot exceed the parent; a merge's output cannot exceed its inputs;
  units packed × their net content cannot exceed the batch.

This is how mixing non-authentic material into a lineage shows: more comes out than went in.
All arithmetic is exact (decimal). Quantities in units that do not convert (pieces against
kilograms) are compared only where both sides use the same unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from traceability.domain import quantities as q
from traceability.domain.context import Context
from traceability.domain.state import BatchRecord


def in_batch_unit(ctx: Context, batch: BatchRecord, value: str, unit: str) -> Decimal:
    """`value` `unit` in the batch's own unit; refuses `unit_mismatch` when it does not convert."""
    converted = q.convert(Decimal(value), unit, batch.unit)
    if converted is None:
        ctx.refuse(
            "unit_mismatch",
            f"batch {batch.id} is measured in {batch.unit}; {value} {unit} cannot be taken from it",
            batch=batch.id,
            batch_unit=batch.unit,
            unit=unit,
        )
    return converted


def take(
    ctx: Context, found: dict[str, BatchRecord], portions: Sequence[tuple[str, Decimal]]
) -> dict[str, Decimal]:
    """What is left of each batch after taking the portions (in the batch's unit)."""
    left = {b: Decimal(found[b].remaining) for b, _ in portions}
    for batch_id, amount in portions:
        batch = found[batch_id]
        if amount > left[batch_id]:
            ctx.refuse(
                "mass_balance",
                f"takes {q.text(amount)} {batch.unit} of batch {batch_id}, which has only "
                f"{q.text(left[batch_id])} {batch.unit} left",
                batch=batch_id,
                taken=q.text(amount),
                remaining=q.text(left[batch_id]),
                unit=batch.unit,
            )
        left[batch_id] -= amount
    return left


def _comparable(amounts: Sequence[tuple[str, str]]) -> tuple[Decimal, str] | None:
    """The total in kg when all are masses, or in their unit when all share one; else None."""
    units = {u for _, u in amounts}
    if all(q.is_mass(u) for u in units):
        total = q.total(list(amounts), "kg")
        return None if total is None else (total, "kg")
    if len(units) == 1:
        (unit,) = units
        total = q.total(list(amounts), unit)
        return None if total is None else (total, unit)
    return None


def yield_factor(ctx: Context, herb: str, steps: Sequence[str]) -> Decimal:
    """The product of the steps' maximum yields for `herb` (1 for a step without one)."""
    factor = Decimal(1)
    for step in steps:
        limit = ctx.herbs.max_yield(herb, step)
        if limit is not None:
            factor *= limit.max_yield
    return factor


def check_outputs(
    ctx: Context,
    what: str,
    inputs: Sequence[tuple[str, str]],
    outputs: Sequence[tuple[str, str]],
    factor: Decimal = Decimal(1),
) -> None:
    """Refuse (`mass_balance`) when outputs exceed inputs × `factor`."""
    ins, outs = _comparable(inputs), _comparable(outputs)
    if ins is None or outs is None or ins[1] != outs[1]:
        return  # incomparable units: nothing to weigh
    allowed = ins[0] * factor
    if outs[0] > allowed:
        ctx.refuse(
            "mass_balance",
            f"{what}: outputs of {q.text(outs[0])} {outs[1]} exceed the inputs' "
            f"{q.text(ins[0])} {ins[1]} × maximum yield {q.text(factor)} = "
            f"{q.text(allowed)} {ins[1]}",
            inputs=q.text(ins[0]),
            outputs=q.text(outs[0]),
            unit=ins[1],
            max_yield=q.text(factor),
            allowed=q.text(allowed),
        )
