"""The resolver's facts read from the supply-chain records (traceability/domain) and the log.

A unit link `/01/{gtin}/10/{lot}/21/{serial}` names a row of `units` (whose lot must match);
a batch link `/01/{gtin}/10/{lot}` names the packed batch with that GTIN and lot. From that
batch the backward trace gives every upstream batch and every log entry recorded on them;
the entries' signed bodies give dates, steps and recalls, the signer registry who signed.
The origin is the harvest batch's site, with its region, location and GAP status from the
site's own registration entry; organisations' English names come from their registration
entries too. The chain of custody is the organisations that held the material: each origin
event's (planting, husbandry, harvest) and each receipt's, in log order, repeats dropped.
Tests are judged against the herb catalogue (`api/quality_facts.py`). A unit's facts leave
out sales of other units of its batch; alerts are for regulators and are left out too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from api.product_facts import (
    CustodianRecord,
    FactsLookup,
    Location,
    OriginRecord,
    ProductFacts,
    Recall,
    Region,
    StepRecord,
)
from api.quality_facts import catalogue_for, herb_name, quality_result
from traceability.catalogue.lookup import Catalogue
from traceability.digital_link import DigitalLink
from traceability.domain import state
from traceability.domain.lineage import TraceBatch, trace_backward
from traceability.errors import NotFound
from traceability.log.reading import entries_at
from traceability.settings import Settings
from traceability.signers.registry import signers_by_id
from traceability.storage.db import driver_rows, marks, read_transaction

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

CUSTODY_EVENTS = ("planting", "husbandry", "harvest", "receive")
"""Events whose signer's organisation holds the material from then on."""

NOT_FOR_CONSUMERS = ("alert",)
"""Entries on the batches that are for regulators, not part of the product's story."""

PROCESSING = ("fresh_processing", "processing")
"""Events whose body lists processing steps (`steps`: StepCode values)."""

Names = dict[str, tuple[str, str | None]]
"""Organisation ID → (registered name, English name or None)."""


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


class EntryPayloads:
    """Decoded payloads of one log's entries by index, the most recently used kept.

    Entries never change (the log is append-only), so a payload read once stays right: a
    cache miss of the resolver then reads and decodes only the entries it has not seen.
    The payloads are shared: readers must not change them. Thread-safe.
    """

    def __init__(self, max_entries: int = 20_000) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._kept: OrderedDict[int, dict[str, Any]] = OrderedDict()

    def read(self, conn: Connection, indices: list[int]) -> dict[int, dict[str, Any]]:
        """The payload of each entry in `indices` (those the log holds)."""
        found: dict[int, dict[str, Any]] = {}
        with self._lock:
            for i in indices:
                if (payload := self._kept.get(i)) is not None:
                    self._kept.move_to_end(i)
                    found[i] = payload
        missing = [i for i in indices if i not in found]
        if missing:
            read = _read_payloads(conn, missing)
            found |= read
            with self._lock:
                self._kept.update(read)
                while len(self._kept) > self.max_entries:
                    self._kept.popitem(last=False)
        return found


def _read_payloads(conn: Connection, indices: list[int]) -> dict[int, dict[str, Any]]:
    """Read and decode the envelope payload of each log entry in `indices`."""
    return {i: entry.payload() for i, entry in entries_at(conn, indices).items()}


def _payloads(
    conn: Connection, indices: list[int], kept: EntryPayloads | None
) -> dict[int, dict[str, Any]]:
    """Return the envelope payload of each log entry in `indices`, from `kept` if given."""
    return kept.read(conn, indices) if kept is not None else _read_payloads(conn, indices)


def _names(conn: Connection, table: sa.Table, ids: set[str]) -> dict[str, Any]:
    if not ids:
        return {}
    rows = conn.execute(sa.select(table).where(table.c.id.in_(sorted(ids))))
    return {r.id: r for r in rows}


def _organisations(
    conn: Connection, ids: set[str], kept: EntryPayloads | None
) -> tuple[Names, dict[str, str], set[str]]:
    """The organisations' names from their latest registration entries, their kinds, and
    which of them are natural persons (`natural_person` in that entry)."""
    rows = _names(conn, state.organisations, ids)
    bodies = _payloads(conn, [int(r.updated_index) for r in rows.values()], kept)
    names: Names = {}
    persons: set[str] = set()
    for org_id, row in rows.items():
        body = bodies.get(int(row.updated_index), {}).get("body", {})
        names[org_id] = (row.name, body.get("name_en"))
        if body.get("natural_person") is True:
            persons.add(org_id)
    return names, {org_id: str(row.kind) for org_id, row in rows.items()}, persons


def _date(payload: dict[str, Any]) -> str:
    body = payload.get("body", {})
    for name in DATE_FIELDS:
        if isinstance(body.get(name), str):
            return str(body[name])
    return str(payload.get("time", ""))[:10]


def _mine(body: dict[str, Any], link: DigitalLink) -> bool:
    """Whether an entry concerns the unit (or batch) the link names."""
    if body.get("type") in NOT_FOR_CONSUMERS:
        return False
    if body.get("type") == "retail_sale" and link.serial is not None:
        return link.serial in body.get("serials", [])
    return True


def _custody(
    steps: list[StepRecord], kinds: dict[str, str], org_ids: list[str]
) -> list[CustodianRecord]:
    """The organisations that held the material, in order (see the module docstring)."""
    held: list[CustodianRecord] = []
    for step, org_id in zip(steps, org_ids, strict=True):
        if step.type in CUSTODY_EVENTS and (not held or held[-1].organisation != step.organisation):
            held.append(
                CustodianRecord(
                    organisation=step.organisation,
                    organisation_en=step.organisation_en,
                    kind=kinds.get(org_id),
                    since=step.on,
                    log_index=step.log_index,
                    organisation_is_person=step.organisation_is_person,
                )
            )
    return held


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


def _origin(
    conn: Connection,
    batches: list[TraceBatch],
    names: Names,
    persons: set[str],
    kept: EntryPayloads | None,
) -> OriginRecord | None:
    harvest = next((b for b in batches if b.kind == "harvest"), None)
    start = harvest or next((b for b in batches if b.origin_site), None)
    if start is None or start.origin_site is None:
        return None
    site = _names(conn, state.sites, {start.origin_site}).get(start.origin_site)
    if site is None:
        return None
    body = _payloads(conn, [int(site.updated_index)], kept).get(int(site.updated_index), {})
    body = body.get("body", {})
    if site.organisation not in names:
        more, _, more_persons = _organisations(conn, {site.organisation}, kept)
        names, persons = names | more, persons | more_persons
    name, name_en = names.get(site.organisation, (site.organisation, None))
    record = state.get_batch(conn, start.id)
    region = body.get("region") or {}
    location = body.get("location")
    return OriginRecord(
        site_name=site.name,
        organisation=name,
        organisation_en=name_en,
        organisation_is_person=site.organisation in persons,
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


def record_facts(
    engine: Engine,
    link: DigitalLink,
    catalogue: Catalogue | None = None,
    kept: EntryPayloads | None = None,
) -> ProductFacts:
    """Return what the records say about the batch or unit `link` names; NotFound if nothing.

    `catalogue` judges the tests and names the herb (default: the packaged catalogue);
    `kept` holds payloads already decoded from this engine's log (default: decode anew).
    """
    catalogue = catalogue or catalogue_for(Settings.model_construct(catalogue_path=None))
    with read_transaction(engine) as conn:
        batch_id = _batch_of(conn, link)
        packed = state.get_batch(conn, batch_id)
        herb = packed.herb if packed else None
        trace = trace_backward(conn, batch_id)
        payloads = _payloads(conn, [e.log_index for e in trace.events], kept)
        signers = signers_by_id(conn, {p["signer"] for p in payloads.values()})
        labs = {str(p["body"]["lab"]) for p in payloads.values() if "lab" in p.get("body", {})}
        orgs = {s.organisation for s in signers.values()} | labs
        names, kinds, persons = _organisations(conn, orgs, kept)
        steps, org_ids, tests = [], [], []
        recall: Recall | None = None
        for event in trace.events:
            payload = payloads[event.log_index]
            body = payload.get("body", {})
            if not _mine(body, link):
                continue
            signer = signers.get(payload["signer"])
            org_id = signer.organisation if signer else ""
            name, name_en = names.get(org_id, (org_id, None))
            steps.append(
                StepRecord(
                    type=event.type,
                    on=_date(payload),
                    organisation=name,
                    organisation_en=name_en,
                    summary=_summary(body),
                    methods=list(body.get("steps", [])) if event.type in PROCESSING else [],
                    form=next((o["form"] for o in body.get("outputs", []) if o.get("form")), None),
                    parameters=dict(body.get("parameters") or {}),
                    log_index=event.log_index,
                    organisation_is_person=org_id in persons,
                    person=signer.name if signer else None,
                )
            )
            org_ids.append(org_id)
            if event.type == "quality_test":
                lab = names.get(str(body.get("lab")), (str(body.get("lab")), None))
                tests.append(quality_result(catalogue, herb, body, lab, event.log_index))
            if event.type == "recall":
                recall = Recall(level=body["level"], reason=body["reason"], on=_date(payload))
        return ProductFacts(
            gtin=link.gtin,
            lot=link.lot or "",
            serial=link.serial,
            batch=batch_id,
            product_name=next((s.summary for s in steps if s.type == "pack"), None),
            herb=herb,
            herb_name=herb_name(catalogue, herb),
            recall=recall,
            origin=_origin(conn, trace.batches, names, persons, kept),
            steps=steps,
            tests=tests,
            custody=_custody(steps, kinds, org_ids),
            lineage=[b.id for b in trace.batches],
        )


MAX_LINEAGE = 500
"""Longer lineages are not checked entry by entry: their facts are read again."""


def unchanged_since(engine: Engine, since: int, lineage: Sequence[str]) -> bool:
    """Tell whether facts read from the first `since` entries, about a unit with `lineage`
    (ProductFacts.lineage), still hold: no entry from index `since` on is recorded on one of
    those batches, and none registers an organisation or a site again (names, regions).

    What record_facts reads changes only so: signers never change once registered, a batch's
    ancestors are fixed when it is made, and every change to a batch's row or its events is
    an entry on that batch (batch_events, keyed by batch and log index). False for an empty
    or very long lineage: read the facts again.
    """
    if not lineage or len(lineage) > MAX_LINEAGE:
        return False
    sql = (
        "SELECT 1 FROM batch_events WHERE log_index >= {m} "  # noqa: S608 - placeholders only
        f"AND batch IN ({marks(len(lineage))}) "
        "UNION ALL SELECT 1 FROM organisations WHERE updated_index >= {m} "
        "UNION ALL SELECT 1 FROM sites WHERE updated_index >= {m} LIMIT 1"
    )
    with engine.connect() as conn:
        return not driver_rows(conn, sql, [since, *lineage, since, since])


def records_lookup(engine: Engine, settings: Settings | None = None) -> FactsLookup:
    """Return the lookup that answers from the records in `engine`'s database, judging tests
    with the catalogue `settings` name (default: the packaged one), keeping the payloads it
    decodes for its later calls."""
    catalogue = catalogue_for(settings or Settings.model_construct(catalogue_path=None))
    kept = EntryPayloads()

    def lookup(link: DigitalLink) -> ProductFacts:
        return record_facts(engine, link, catalogue, kept)

    return lookup
