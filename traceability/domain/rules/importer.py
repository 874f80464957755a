"""Imported events: an `importer` signer speaks for the organisations its events name.

An importer bridges another system (an existing EPCIS repository) into the log. Its
envelopes record what other organisations did, so the checks that tie a signer to an
event — its role, and that its own organisation holds the batch, owns the site, receives
the shipment, is the laboratory — do not apply to it. In their place:

* the signer is registered with role `importer` (the signer registry checked that at
  append; `is_import` only reads the role);
* every organisation the event names is a registered organisation, every site a
  registered site, every batch a recorded batch (the usual `unknown_*` refusals);
* the event acts for one organisation, taken from the event and the indexes rather than
  from the signer: the organisation of the site for a planting or a new herd, the holder
  of the batches for everything done to batches (`custody` when they are held by several:
  an imported event acts for one organisation), the shipment's recipient for a receipt,
  the laboratory for a test. New batches are made, owned and held by that organisation.

Every other rule — shape, mass balance, quality, recall, growing age, cold chain, IDs,
shipments that pair up, and `in_transit` (a shipped batch is held by no one until its
receipt) — applies to imported events exactly as to any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from traceability.domain.context import Context
from traceability.domain.state import BatchRecord

IMPORTER = "importer"
"""The role of a signer that brings another system's events into the log."""


def is_import(ctx: Context) -> bool:
    """Say whether the event being applied was signed by an importer."""
    return ctx.role == IMPORTER


def acting_for(ctx: Context, organisation: str) -> Context:
    """The context of an importer's event acting for `organisation`; any other signer's as is.

    The new context shares everything with `ctx` but the signer's organisation — the
    alerts list included, so alerts raised through it are stored with the event.
    """
    if not is_import(ctx) or organisation == ctx.org:
        return ctx
    return replace(ctx, signer=replace(ctx.signer, organisation=organisation))


def for_holder(ctx: Context, found: Mapping[str, BatchRecord]) -> Context:
    """For an importer: act for the one organisation holding the batches in `found`.

    Refuses `custody` when they are held by several organisations.
    """
    if not is_import(ctx) or not found:
        return ctx
    holders = sorted({b.custodian for b in found.values()})
    if len(holders) > 1:
        ctx.refuse(
            "custody",
            f"batches {', '.join(sorted(found))} are held by {', '.join(holders)}: an imported "
            "event acts for one organisation",
            batches=", ".join(sorted(found)),
            holders=", ".join(holders),
        )
    return acting_for(ctx, holders[0])


def for_site(ctx: Context, site: str) -> Context:
    """For an importer: act for the organisation `site` is registered to (`unknown_site`)."""
    if not is_import(ctx):
        return ctx
    owner = ctx.state.site_organisation(site)
    if owner is None:
        ctx.refuse("unknown_site", f"site {site} is not registered", site=site)
    return acting_for(ctx, owner)
