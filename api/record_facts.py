"""The resolver's facts read from the supply-chain records (traceability/domain) and the log.

A unit link `/01/{gtin}/10/{lot}/21/{serial}` names a row of `units` (whose lot must match);
a batch link `/01/{gtin}/10/{lot}` names the packed batch with that GTIN and lot. From that
batch the backward trace gives every upstream batch and every log entry recorded on them;
the entries' signed bodies give dates, steps and recalls, the signer registry who signed.
The origin is the harvest batch's site, with its region, location and GAP status from the
site's own registration entry.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from api.product_facts import (
    FactsLookup,
    Location,
    OriginRecord,
    ProductFacts,
    Recall,
    Region,
    StepRecord,
)
from traceability.digital_link import DigitalLink
from traceability.domain import state
from traceability.domain.lineage import TraceBatch, trace_backward
from traceability.errors import NotFound
from traceability.log.entry import parse_leaf
from traceability.signers import signers_by_id
from traceability.storage.db import read_transaction
from traceability.storage.tables import LogEntry

_entries: sa.Table = LogEntry.__table__  # type: ignore[attr-defined]

DATE_FIELDS = (
    "planted_on",
    "harvested_on",
    "started_on",
    "tested_on",
    "shipped_on",
    "received_on",
    "packed_on",
    "sold_on",
    "on",
)
"""Body members that date an event, first found wins; else the envelope's own time."""


def _batch_of(conn: Connection, link: DigitalLink) -> str:
    """Return the ID of the batch the link names; NotFound if nothing is recorded under it."""
    what = f"GTIN {link.gtin} lot {link.lot}"
    if link.serial is not None:
        u = state.units
        row = conn.execute(
            sa.select(u.c.batch).where(
                u.c.gtin == link.gtin, u.c.serial == link.serial, u.c.lot == link.lot
            )
        ).first()
        if row is None:
            raise NotFound(f"no unit is recorded under {what} serial {link.serial}")
        return str(row[0])
    b = state.batches
    row = conn.execute(
        sa.select(b.c.id)
        .where(b.c.gtin == link.gtin, b.c.lot == link.lot)
        .order_by(b.c.created_index)
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(f"no batch is recorded under {what}")
    return str(row[0])


def _payloads(conn: Connection, indices: list[int]) -> dict[int, dict[str, Any]]:
    """Return the envelope payload of each log entry in `indices`."""
    if not indices:
        return {}
    rows = conn.execute(
        sa.select(_entries.c.idx, _entries.c.leaf).where(_entries.c.idx.in_(indices))
    )
    return {int(i): parse_leaf(bytes(leaf)).payload() for i, leaf in rows}


def _names(conn: Connection, table: sa.Table, ids: set[str]) -> dict[str, Any]:
    if not ids:
        return {}
    rows = conn.execute(sa.select(table).where(table.c.id.in_(sorted(ids))))
    return {r.id: r for r in rows}


def _date(payload: dict[str, Any]) -> str:
    body = payload.get("body", {})
    for name in DATE_FIELDS:
        if isinstance(body.get(name), str):
            return str(body[name])
    return str(payload.get("time", ""))[:10]


def _summary(body: dict[str, Any]) -> str | None:
    kind = body.get("type")
    if kind in ("processing", "fresh_processing"):
        forms = [o.get("form") for o in body.get("outputs", []) if o.get("form")]
        return " → ".join([", ".join(body.get("steps", [])), *forms]) or None
    if kind == "quality_test":
        return f"{body.get('result')} ({body.get('report_no')})"
    if kind == "pack":
        return str(body.get("product", {}).get("name") or "") or None
    return None


def _origin(conn: Connection, batches: list[TraceBatch]) -> OriginRecord | None:
    harvest = next((b for b in batches if b.kind == "harvest"), None)
    start = harvest or next((b for b in batches if b.origin_site), None)
    if start is None or start.origin_site is None:
        return None
    site = _names(conn, state.sites, {start.origin_site}).get(start.origin_site)
    if site is None:
        return None
    body = _payloads(conn, [int(site.updated_index)]).get(int(site.updated_index), {})
    body = body.get("body", {})
    org = _names(conn, state.organisations, {site.organisation}).get(site.organisation)
    record = state.get_batch(conn, start.id)
    region = body.get("region") or {}
    location = body.get("location")
    return OriginRecord(
        site_name=site.name,
        organisation=org.name if org else site.organisation,
        region=Region(
            province=region.get("province", ""),
            city=region.get("city", ""),
            county=region.get("county", ""),
        ),
        location=Location(lat=location["lat"], lon=location["lon"]) if location else None,
        gap_status=(body.get("gap") or {}).get("status"),
        harvested_on=record.harvested_on if record else None,
        growing_years=record.growing_years if record else None,
    )


def record_facts(engine: Engine, link: DigitalLink) -> ProductFacts:
    """Return what the records say about the batch or unit `link` names; NotFound if nothing."""
    with read_transaction(engine) as conn:
        batch_id = _batch_of(conn, link)
        packed = state.get_batch(conn, batch_id)
        trace = trace_backward(conn, batch_id)
        payloads = _payloads(conn, [e.log_index for e in trace.events])
        signers = signers_by_id(conn, {p["signer"] for p in payloads.values()})
        orgs = _names(conn, state.organisations, {s.organisation for s in signers.values()})
        steps, recall = [], None
        for event in trace.events:
            payload = payloads[event.log_index]
            body = payload.get("body", {})
            signer = signers.get(payload["signer"])
            org_id = signer.organisation if signer else ""
            org = orgs.get(org_id)
            steps.append(
                StepRecord(
                    type=event.type,
                    on=_date(payload),
                    organisation=org.name if org else org_id,
                    summary=_summary(body),
                    log_index=event.log_index,
                    person=signer.name if signer else None,
                )
            )
            if event.type == "recall":
                recall = Recall(level=body["level"], reason=body["reason"], on=_date(payload))
        return ProductFacts(
            gtin=link.gtin,
            lot=link.lot or "",
            serial=link.serial,
            product_name=next((s.summary for s in steps if s.type == "pack"), None),
            herb=packed.herb if packed else None,
            recall=recall,
            origin=_origin(conn, trace.batches),
            steps=steps,
        )


def records_lookup(engine: Engine) -> FactsLookup:
    """Return the lookup that answers from the records in `engine`'s database."""

    def lookup(link: DigitalLink) -> ProductFacts:
        return record_facts(engine, link)

    return lookup
