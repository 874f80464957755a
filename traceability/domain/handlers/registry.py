"""Registration of organisations and sites, and the logging of alerts (the rules' or imported)."""

from __future__ import annotations

import json

from schemas.events import Alert, OrganisationRegistered, SiteRegistered
from traceability.canonical import canonical_bytes
from traceability.domain.context import Context
from traceability.domain.roles import REGISTRARS
from traceability.domain.rules.custody import require_organisation, require_role
from traceability.domain.rules.importer import is_import


def organisation(ctx: Context, body: OrganisationRegistered) -> None:
    """An admin or regulator registers (or updates) an organisation."""
    require_role(ctx, REGISTRARS, "an organisation")
    ctx.state.register_organisation(body.id, body.name, body.kind, ctx.index)


def site(ctx: Context, body: SiteRegistered) -> None:
    """An admin, a regulator, or an operator of its organisation registers a site."""
    operator = ctx.role == "operator" and ctx.org == body.organisation
    if not (ctx.role in REGISTRARS or operator or is_import(ctx)):
        ctx.refuse(
            "unauthorised",
            f"a site of {body.organisation} is registered by an admin, a regulator or an "
            f"operator of {body.organisation}, not by a {ctx.role} of {ctx.org}",
            role=ctx.role,
            organisation=body.organisation,
        )
    require_organisation(ctx, body.organisation)
    owner = ctx.state.site_organisation(body.id)
    if owner is not None and owner != body.organisation:
        ctx.refuse(
            "duplicate_id",
            f"site {body.id} is already registered to {owner}",
            site=body.id,
            organisation=owner,
        )
    ctx.state.register_site(body.id, body.organisation, body.name, body.kind, ctx.index)


def alert(ctx: Context, body: Alert) -> None:
    """The rules signer logs an alert: it marks the stored alert logged, or stores it.

    An importer's alert is another system's finding: it is stored as a new alert with ID
    `AI-<log index, 12 digits>` (the body's own `id` names it in the other system, and may
    coincide with one of this log's IDs), raised at the envelope's time.
    """
    imported = is_import(ctx)
    if not imported and (ctx.rules_key_id is None or ctx.signer.key_id != ctx.rules_key_id):
        ctx.refuse(
            "unauthorised",
            "alerts are signed only by herbtrace's rules signer (or brought in by an importer)",
            signer=ctx.signer.key_id,
        )
    alert_id = f"AI-{ctx.index:012d}" if imported else body.id or f"AL-{ctx.index}"
    row = ctx.state.alert(alert_id)
    if row is not None and row["logged_index"] is not None:
        ctx.refuse(
            "alert_already_logged",
            f"alert {alert_id} is already logged at entry {row['logged_index']}",
            alert=alert_id,
            logged_index=row["logged_index"],
        )
    if row is not None:
        ctx.state.put_alert({**row, "logged_index": ctx.index})
    else:
        ctx.state.put_alert(
            {
                "id": alert_id,
                "kind": body.kind,
                "severity": body.severity,
                "batch": body.batch,
                "subject": body.subject,
                "detail": body.detail,
                "evidence": canonical_bytes(dict(body.evidence)).decode(),
                "envelopes": json.dumps(list(body.envelopes)),
                "raised_at": ctx.time,
                "source_index": None,
                "logged_index": ctx.index,
            }
        )
    if body.batch is not None and ctx.state.get_batch(body.batch) is not None:
        ctx.state.add_events(ctx.index, "alert", [body.batch])
