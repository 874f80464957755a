"""Recalls: nothing may be recorded on a recalled batch; a recall reaches everything downstream.

A recall is signed by a regulator, by an operator of the batch's owner, or by an importer
(speaking for one of them). It marks the
batch, every batch downstream of it and every unit packed from them as recalled, and
indexes the recall under each of those batches. Units already sold when the recall arrives
are in consumers' hands: the recall then raises a `recalled_batch` alert counting them.
"""

from __future__ import annotations

from traceability.domain.context import Context
from traceability.domain.lineage import downstream_ids
from traceability.domain.roles import RECALLER_ROLES
from traceability.domain.rules.importer import is_import
from traceability.domain.state import BatchRecord

SEVERITY = {"I": "critical", "II": "warning", "III": "info"}
"""Alert severity of a recall level (一级 二级 三级)."""


def require_not_recalled(ctx: Context, batch: BatchRecord) -> None:
    """Refuse (`batch_recalled`) any event on a recalled batch."""
    if batch.status == "recalled":
        ctx.refuse(
            "batch_recalled",
            f"batch {batch.id} is recalled: nothing more may be recorded on it",
            batch=batch.id,
        )


def require_recaller(ctx: Context, batch: BatchRecord) -> None:
    """Refuse (`unauthorised`) unless a regulator, an operator of the owner, or an importer
    signed."""
    if ctx.role in RECALLER_ROLES or (ctx.role == "operator" and ctx.org == batch.owner):
        return
    if is_import(ctx):
        return
    ctx.refuse(
        "unauthorised",
        f"a recall of {batch.id} is signed by a regulator or an operator of its owner "
        f"{batch.owner}, not by a {ctx.role} of {ctx.org}",
        batch=batch.id,
        owner=batch.owner,
        role=ctx.role,
    )


def apply_recall(ctx: Context, batch: BatchRecord, level: str, reason: str) -> None:
    """Mark `batch`, everything downstream and their units recalled; alert on sold units."""
    reached = downstream_ids(ctx.state.flushed(), batch.id)
    sold, units = ctx.state.recall(reached)
    ctx.state.add_events(ctx.index, "recall", reached)
    if sold:
        ctx.alert(
            "recalled_batch",
            SEVERITY.get(level, "warning"),
            f"recall (level {level}) of {batch.id} reaches {sold} unit(s) already sold to "
            f"consumers, of {units} unit(s) in {len(reached)} batch(es): {reason}",
            batch=batch.id,
            evidence={
                "sold_units": sold,
                "units": units,
                "batches": len(reached),
                "level": level,
            },
        )
