"""Custody: who may sign which event, and only the custodian acts on a batch; transfers pair up.

A batch's custodian is the organisation holding it. Origin, processing and custody events on
a batch must be signed by a device or operator of its custodian; while a batch is shipped
and not yet received it is in transit and only the receive side may record custody of it.
An importer's events are exempt from these checks: it speaks for the organisations its
events name (see `importer`), which must be registered.
"""

from __future__ import annotations

from collections.abc import Iterable

from traceability.domain.context import Context
from traceability.domain.rules.importer import is_import
from traceability.domain.rules.recall import require_not_recalled
from traceability.domain.state import BatchRecord


def require_role(ctx: Context, allowed: Iterable[str], what: str) -> None:
    """Refuse (`unauthorised`) unless the signer's role is one of `allowed` (or importer)."""
    roles = tuple(allowed)
    if ctx.role not in roles and not is_import(ctx):
        ctx.refuse(
            "unauthorised",
            f"a {ctx.role} may not record {what}; that needs: {', '.join(roles)}",
            role=ctx.role,
            event=what,
        )


def require_known(ctx: Context, ids: Iterable[str]) -> dict[str, BatchRecord]:
    """The batches named, refusing `unknown_batch` for the first missing one."""
    wanted = list(dict.fromkeys(ids))
    found = ctx.state.get_batches(wanted)
    for batch_id in wanted:
        if batch_id not in found:
            ctx.refuse("unknown_batch", f"batch {batch_id} is not recorded", batch=batch_id)
    return found


def require_active(ctx: Context, batch: BatchRecord) -> None:
    """Refuse recalled (`batch_recalled`) and used-up (`batch_consumed`) batches."""
    require_not_recalled(ctx, batch)
    if batch.status != "active":
        ctx.refuse(
            "batch_consumed",
            f"batch {batch.id} is {batch.status}: none of it is left",
            batch=batch.id,
            status=batch.status,
        )


def require_custodian(ctx: Context, batch: BatchRecord) -> None:
    """Refuse (`custody`) unless the signer's organisation holds the batch and it is not in
    transit (`in_transit`). An importer acts for the holder, so only the second applies to it."""
    if batch.custodian != ctx.org and not is_import(ctx):
        ctx.refuse(
            "custody",
            f"batch {batch.id} is held by {batch.custodian}; a signer of {ctx.org} may not "
            "record events on it",
            batch=batch.id,
            custodian=batch.custodian,
            signer_organisation=ctx.org,
        )
    if batch.shipment is not None:
        ctx.refuse(
            "in_transit",
            f"batch {batch.id} is in transit (shipment {batch.shipment}) until it is received",
            batch=batch.id,
            shipment=batch.shipment,
        )


def held(ctx: Context, ids: Iterable[str]) -> dict[str, BatchRecord]:
    """The batches named, each known, active and held by the signer's organisation."""
    found = require_known(ctx, ids)
    for batch in found.values():
        require_active(ctx, batch)
        require_custodian(ctx, batch)
    return found


def require_own_site(ctx: Context, site: str) -> None:
    """Refuse unless `site` is registered (`unknown_site`) to the signer's organisation
    (`custody`); for an importer, registered is enough."""
    owner = ctx.state.site_organisation(site)
    if owner is None:
        ctx.refuse("unknown_site", f"site {site} is not registered", site=site)
    if owner != ctx.org and not is_import(ctx):
        ctx.refuse(
            "custody",
            f"site {site} belongs to {owner}, not to the signer's organisation {ctx.org}",
            site=site,
            site_organisation=owner,
            signer_organisation=ctx.org,
        )


def require_organisation(ctx: Context, org: str) -> str:
    """The kind of a registered organisation; refuses `unknown_organisation`."""
    kind = ctx.state.organisation_kind(org)
    if kind is None:
        ctx.refuse("unknown_organisation", f"organisation {org} is not registered", org=org)
    return kind


def require_new_batches(ctx: Context, ids: Iterable[str]) -> None:
    """Refuse (`duplicate_id`) a batch ID that is already recorded."""
    taken = ctx.state.existing_batch_ids(ids)
    if taken:
        first = min(taken)
        ctx.refuse("duplicate_id", f"batch {first} is already recorded", batch=first)


def may_observe(ctx: Context, batch: BatchRecord) -> None:
    """Sensor readings come from the custodian or, in transit, from the recipient (or an
    importer)."""
    if batch.custodian == ctx.org or is_import(ctx):
        return
    if batch.shipment is not None:
        lines = ctx.state.shipment(batch.shipment) or []
        if any(line.batch == batch.id and line.recipient == ctx.org for line in lines):
            return
    ctx.refuse(
        "custody",
        f"batch {batch.id} is held by {batch.custodian}; {ctx.org} may not report readings on it",
        batch=batch.id,
        custodian=batch.custodian,
        signer_organisation=ctx.org,
    )
