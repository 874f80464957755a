"""What several handlers share: new batches, taking portions, the kinds a step accepts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from traceability.domain import quantities as q
from traceability.domain.context import Context
from traceability.domain.state import BatchRecord

RAW_KINDS = ("planting", "herd")
"""Origin batches: the crop in the field, the living herd. They are harvested, not processed."""


def new_batch(
    ctx: Context,
    batch_id: str,
    *,
    herb: str,
    kind: str,
    quantity: str,
    unit: str,
    owner: str | None = None,
    origin_site: str | None = None,
    quality: str = "untested",
    gtin: str | None = None,
    lot: str | None = None,
    planted_on: str | None = None,
    harvested_on: str | None = None,
    growing_years: int | None = None,
) -> BatchRecord:
    """A new batch made by the signer's organisation (its custodian, and owner by default)."""
    return BatchRecord(
        id=batch_id,
        herb=herb,
        kind=kind,
        origin_site=origin_site,
        owner=owner or ctx.org,
        custodian=ctx.org,
        quantity=quantity,
        unit=unit,
        remaining=q.text(Decimal(quantity)),
        status="active",
        quality=quality,
        shipment=None,
        gtin=gtin,
        lot=lot,
        planted_on=planted_on,
        harvested_on=harvested_on,
        growing_years=growing_years,
        created_index=ctx.index,
    )


def require_processable(ctx: Context, batches: Iterable[BatchRecord], what: str) -> None:
    """Refuse (`wrong_batch_kind`) origin batches and packed batches as material to `what`."""
    for b in batches:
        if b.kind in RAW_KINDS or b.kind == "packed":
            ctx.refuse(
                "wrong_batch_kind",
                f"batch {b.id} is a {b.kind} batch and cannot be {what}",
                batch=b.id,
                kind=b.kind,
            )


def require_one_herb(ctx: Context, batches: Sequence[BatchRecord]) -> str:
    """The herb all the batches share; refuses `herb_mismatch` when they differ."""
    herbs = sorted({b.herb for b in batches})
    if len(herbs) != 1:
        ctx.refuse(
            "herb_mismatch",
            f"batches of different herbs ({', '.join(herbs)}) cannot be combined",
            herbs=", ".join(herbs),
        )
    return herbs[0]


def shared(values: Iterable[str | int | None]) -> str | int | None:
    """The value every batch agrees on, else None."""
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else None


def write_remaining(ctx: Context, found: dict[str, BatchRecord], left: dict[str, Decimal]) -> None:
    """Store what is left of each batch; a batch with nothing left is consumed."""
    for batch_id, amount in left.items():
        values: dict[str, str] = {"remaining": q.text(amount)}
        if amount == 0 and found[batch_id].status == "active":
            values["status"] = "consumed"
        ctx.state.update_batch(batch_id, **values)
