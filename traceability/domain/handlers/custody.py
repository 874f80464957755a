"""Custody and market events: ship, receive, retail sale, recall."""

from __future__ import annotations

from decimal import Decimal

from schemas.events import Recall, Receive, RetailSale, Ship
from traceability.domain import quantities as q
from traceability.domain.context import Context
from traceability.domain.roles import FIELD_ROLES
from traceability.domain.rules.custody import (
    held,
    require_custodian,
    require_known,
    require_organisation,
    require_own_site,
    require_role,
)
from traceability.domain.rules.importer import acting_for, for_holder
from traceability.domain.rules.quality import require_not_failed
from traceability.domain.rules.recall import apply_recall, require_not_recalled, require_recaller
from traceability.domain.state import BatchRecord
from traceability.domain.working_set import ShipmentLine


def ship(ctx: Context, body: Ship) -> None:
    """The custodian ships batches; custody passes only when the recipient receives them.

    Recalled batches may be shipped only back to their owner, all of them at once (a return:
    recalled goods go back to the producer); they stay recalled.
    """
    require_role(ctx, FIELD_ROLES, "a shipment")
    ids = list(dict.fromkeys(body.batches))
    found = require_known(ctx, ids)
    if not _a_return(ctx, found, body.to):
        found = held(ctx, ids)
    ctx = for_holder(ctx, found)
    for batch in found.values():
        if batch.status != "recalled":
            require_not_failed(ctx, batch, "shipped")
    require_organisation(ctx, body.to)
    if body.to == ctx.org:
        ctx.refuse(
            "shipment_mismatch",
            f"{ctx.org} cannot ship to itself; custody stays where it is",
            to=body.to,
        )
    if body.to_site is not None:
        site_owner = ctx.state.site_organisation(body.to_site)
        if site_owner is None:
            ctx.refuse("unknown_site", f"site {body.to_site} is not registered", site=body.to_site)
        if site_owner != body.to:
            ctx.refuse(
                "shipment_mismatch",
                f"site {body.to_site} belongs to {site_owner}, not to the recipient {body.to}",
                site=body.to_site,
                to=body.to,
            )
    if ctx.state.shipment(body.shipment) is not None:
        ctx.refuse(
            "duplicate_id",
            f"shipment {body.shipment} is already recorded",
            shipment=body.shipment,
        )
    ctx.state.add_shipment(
        body.shipment, [ShipmentLine(b, ctx.org, body.to, body.to_site, ctx.index) for b in ids]
    )
    for b in ids:
        ctx.state.update_batch(b, shipment=body.shipment)
    ctx.state.add_events(ctx.index, "ship", ids)


def _a_return(ctx: Context, found: dict[str, BatchRecord], to: str) -> bool:
    """Whether a shipment of `found` to `to` returns recalled goods to their owner: every
    batch recalled, owned by `to`, and held (not in transit) by the signer's organisation."""
    if not found or any(b.status != "recalled" or b.owner != to for b in found.values()):
        return False
    for batch in found.values():
        require_custodian(ctx, batch)
    return True


def receive(ctx: Context, body: Receive) -> None:
    """The recipient confirms a shipment, naming exactly its batches; custody passes to it.

    A batch recalled while on the way is received too (custody is where the goods are),
    stays recalled, and the receipt raises a `recalled_batch` alert saying where it is.
    """
    require_role(ctx, FIELD_ROLES, "a receipt")
    lines = ctx.state.shipment(body.shipment)
    if lines is None:
        ctx.refuse(
            "unknown_shipment",
            f"shipment {body.shipment} was never shipped: a transfer needs both sides",
            shipment=body.shipment,
        )
    first = lines[0]
    sender, recipient, received = first.sender, first.recipient, first.received_index
    ctx = acting_for(ctx, recipient)
    if received is not None:
        ctx.refuse(
            "shipment_mismatch",
            f"shipment {body.shipment} was already received (entry {received})",
            shipment=body.shipment,
            received_index=received,
        )
    if recipient != ctx.org:
        ctx.refuse(
            "custody",
            f"shipment {body.shipment} goes to {recipient}; {ctx.org} cannot receive it",
            shipment=body.shipment,
            recipient=recipient,
            signer_organisation=ctx.org,
        )
    if body.sender != sender:
        ctx.refuse(
            "shipment_mismatch",
            f"shipment {body.shipment} was sent by {sender}, not {body.sender}",
            shipment=body.shipment,
            sender=sender,
        )
    shipped = sorted(line.batch for line in lines)
    named = sorted(set(body.batches))
    if named != shipped:
        ctx.refuse(
            "shipment_mismatch",
            f"shipment {body.shipment} carried {', '.join(shipped)}; the receipt names "
            f"{', '.join(named)}",
            shipment=body.shipment,
            shipped=", ".join(shipped),
            received=", ".join(named),
        )
    carried = require_known(ctx, shipped)
    recalled = sorted(b.id for b in carried.values() if b.status == "recalled")
    require_own_site(ctx, body.site)
    ctx.state.receive_shipment(body.shipment, ctx.index, body.site)
    for b in shipped:
        ctx.state.update_batch(b, custodian=ctx.org, shipment=None)
    ctx.state.add_events(ctx.index, "receive", shipped)
    if recalled:  # recalled on the way, or returned: where the goods are stays on record
        returned = all(carried[b].owner == ctx.org for b in recalled)
        ctx.alert(
            "recalled_batch",
            "warning",
            f"{ctx.org} received recalled {', '.join(recalled)} (shipment {body.shipment}) at "
            f"{body.site}{' (returned to its owner)' if returned else ''}: held there, "
            "recalled",
            batch=recalled[0],
            evidence={"shipment": body.shipment, "batches": ", ".join(recalled), "site": body.site},
        )


def retail_sale(ctx: Context, body: RetailSale) -> None:
    """Units of a packed batch sold to consumers by its custodian."""
    require_role(ctx, FIELD_ROLES, "a retail sale")
    batch = held(ctx, [body.batch])[body.batch]
    if batch.kind != "packed":
        ctx.refuse(
            "wrong_batch_kind",
            f"batch {batch.id} is a {batch.kind} batch; only packed units are sold",
            batch=batch.id,
            kind=batch.kind,
        )
    require_not_failed(ctx, batch, "sold")
    serials = sorted(set(body.serials))
    gtin = batch.gtin or ""
    found = ctx.state.units(gtin, serials)
    status = {s: u.status for s, u in found.items() if u.batch == batch.id}
    for s in serials:
        if s not in status:
            ctx.refuse(
                "unknown_unit",
                f"batch {batch.id} has no unit with serial {s}",
                batch=batch.id,
                serial=s,
            )
        if status[s] == "sold":
            sold_index = found[s].sold_index
            ctx.refuse(
                "unit_sold_twice",
                f"unit {batch.gtin} serial {s} was already sold (entry {sold_index}): "
                "one of the two sales is of a copied code",
                batch=batch.id,
                gtin=batch.gtin or "",
                serial=s,
                sold_index=sold_index if isinstance(sold_index, int) else "",
            )
        if status[s] != "packed":
            ctx.refuse(
                "unit_not_available",
                f"unit {batch.gtin} serial {s} is already {status[s]}",
                gtin=batch.gtin or "",
                serial=s,
                status=status[s],
            )
    ctx.state.sell_units(gtin, serials, ctx.index)
    left = Decimal(batch.remaining) - len(serials)
    values = {"remaining": q.text(left)}
    if left == 0:
        values["status"] = "consumed"
    ctx.state.update_batch(batch.id, **values)
    ctx.state.add_events(ctx.index, "retail_sale", [batch.id])


def recall(ctx: Context, body: Recall) -> None:
    """A regulator (or the owner's operator) recalls a batch and everything downstream."""
    batch = require_known(ctx, [body.batch])[body.batch]
    require_not_recalled(ctx, batch)
    require_recaller(ctx, batch)
    apply_recall(ctx, batch, body.level, body.reason)
