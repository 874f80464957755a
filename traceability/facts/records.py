"""A product's facts, read from the supply-chain records (traceability/domain) and the log.

A unit link `/01/{gtin}/10/{lot}/21/{serial}` names a row of `units` (whose lot must match);
a batch link `/01/{gtin}/10/{lot}` names the packed batch with that GTIN and lot. From that
batch the backward trace gives every upstream batch and every log entry recorded on them.

The entries' signed events (`schemas.events`) give dates, steps, tests and recalls; the
signer registry says who signed. A unit's facts leave out sales of other units of its
batch; alerts are for regulators and are left out too. Tests are judged against the herb
catalogue (`traceability.facts.quality`).

The origin is the harvest batch's site, with its region, location and GAP status from the
site's own registration entry; organisations' English names come from their registration
entries too. The chain of custody is the organisations that held the material: each
origin event's (planting, husbandry, harvest) and each receipt's, in log order, repeats
dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.engine import Connection, Engine

from schemas.events import EventBody
from schemas.events.alert import Alert
from schemas.events.custody import Recall as RecallEvent
from schemas.events.custody import Receive, RetailSale, Ship
from schemas.events.origin import Harvest, Husbandry, Planting
from schemas.events.processing import FreshProcessing, Pack, Processing
from schemas.events.quality import QualityTest
from schemas.events.registry import OrganisationRegistered, SiteRegistered
from traceability.catalogue.lookup import Catalogue
from traceability.digital_link import DigitalLink
from traceability.domain import state
from traceability.domain.batches import lot_batch
from traceability.domain.history import recorded_since
from traceability.domain.lineage import trace_backward
from traceability.domain.organisations import organisations_by_id
from traceability.domain.sites import site_by_id
from traceability.domain.state import BatchRecord
from traceability.domain.units import unit_batch
from traceability.errors import NotFound
from traceability.facts.entries import EntryPayloads, LoggedEvent, events_at
from traceability.facts.models import (
    CustodianRecord,
    Location,
    OriginRecord,
    ProductFacts,
    QualityResult,
    Recall,
    Region,
    StepRecord,
)
from traceability.facts.quality import catalogue_for, herb_name, quality_result
from traceability.log.signers import signers_by_id
from traceability.settings import Settings
from traceability.storage.db import read_transaction


class FactsLookup(Protocol):
    """Finds the facts of a batch (no serial) or unit; NotFound when nothing is recorded."""

    def __call__(self, link: DigitalLink) -> ProductFacts: ...


@dataclass(frozen=True, slots=True)
class Registered:
    """An organisation as the facts name it: its names, its kind, whether it is one person."""

    name: str
    name_en: str | None
    kind: str | None
    is_person: bool


def _batch_of(conn: Connection, link: DigitalLink) -> str:
    """Return the ID of the batch the link names; NotFound if nothing is recorded under it."""
    what = f"GTIN {link.gtin} lot {link.lot}"
    if link.serial is not None:
        batch = unit_batch(conn, link.gtin, link.lot, link.serial)
        if batch is None:
            raise NotFound(f"no unit is recorded under {what} serial {link.serial}")
        return batch
    batch = lot_batch(conn, link.gtin, link.lot)
    if batch is None:
        raise NotFound(f"no batch is recorded under {what}")
    return batch


def _organisations(
    conn: Connection, ids: set[str], kept: EntryPayloads | None
) -> dict[str, Registered]:
    """The organisations among `ids` as their latest registration entries name them."""
    rows = organisations_by_id(conn, ids)
    events = events_at(conn, [r.updated_index for r in rows.values()], kept)
    found: dict[str, Registered] = {}
    for org_id, row in rows.items():
        event = events.get(row.updated_index)
        body = event.body if event is not None else None
        registered = body if isinstance(body, OrganisationRegistered) else None
        found[org_id] = Registered(
            name=row.name,
            name_en=registered.name_en if registered else None,
            kind=row.kind,
            is_person=registered.natural_person if registered else False,
        )
    return found


def _named(orgs: dict[str, Registered], org_id: str) -> Registered:
    """The organisation `org_id`, or one named by its ID when it is not registered."""
    return orgs.get(org_id) or Registered(org_id, None, None, False)


def _stated_date(body: EventBody) -> str | None:
    """The date the body gives its step, if it gives one.

    A cultivation input's `applied_on` is not read: it is dated by its envelope.
    """
    match body:
        case Planting():
            return body.planted_on
        case Harvest():
            return body.harvested_on
        case Husbandry():
            return body.on
        case FreshProcessing() | Processing():
            return body.started_on
        case QualityTest():
            return body.tested_on
        case Ship():
            return body.shipped_on
        case Receive():
            return body.received_on
        case Pack():
            return body.packed_on
        case RetailSale():
            return body.sold_on
    return None


def _date(event: LoggedEvent) -> str:
    """The step's date: the body's own, else the day the envelope was signed."""
    return _stated_date(event.body) or event.day


def _mine(body: EventBody, link: DigitalLink) -> bool:
    """Whether an event concerns the unit (or batch) the link names."""
    if isinstance(body, Alert):
        return False
    if isinstance(body, RetailSale) and link.serial is not None:
        return link.serial in body.serials
    return True


def _holds(body: EventBody) -> bool:
    """Whether the signer's organisation holds the material from this event on."""
    return isinstance(body, Planting | Husbandry | Harvest | Receive)


def _summary(body: EventBody) -> str | None:
    """A step's summary: what processing made, a test's verdict, a packed product's name."""
    match body:
        case FreshProcessing() | Processing():
            forms = [o.form for o in body.outputs if o.form]
            return " → ".join([", ".join(body.steps), *forms]) or None
        case QualityTest():
            return f"{body.result} ({body.report_no})"
        case Pack():
            return body.product.name or None
    return None


def _step(event: LoggedEvent, step_type: str, org: Registered, person: str | None) -> StepRecord:
    """The step `event` records, signed for `org` by `person`."""
    body = event.body
    processed = body if isinstance(body, FreshProcessing | Processing) else None
    return StepRecord(
        type=step_type,
        on=_date(event),
        organisation=org.name,
        organisation_en=org.name_en,
        summary=_summary(body),
        methods=list(processed.steps) if processed else [],
        form=next((o.form for o in processed.outputs if o.form), None) if processed else None,
        parameters=dict(processed.parameters or {}) if processed else {},
        log_index=event.index,
        organisation_is_person=org.is_person,
        person=person,
    )


def _custody(held_by: list[tuple[StepRecord, Registered]]) -> list[CustodianRecord]:
    """The organisations that held the material, in order (see the module docstring)."""
    held: list[CustodianRecord] = []
    for step, org in held_by:
        if not held or held[-1].organisation != step.organisation:
            held.append(
                CustodianRecord(
                    organisation=step.organisation,
                    organisation_en=step.organisation_en,
                    kind=org.kind,
                    since=step.on,
                    log_index=step.log_index,
                    organisation_is_person=step.organisation_is_person,
                )
            )
    return held


def _origin(
    conn: Connection,
    batches: list[BatchRecord],
    orgs: dict[str, Registered],
    kept: EntryPayloads | None,
) -> OriginRecord | None:
    """Where the material grew: the harvest batch's site, else the first batch's with one."""
    harvest = next((b for b in batches if b.kind == "harvest"), None)
    start = harvest or next((b for b in batches if b.origin_site), None)
    if start is None or start.origin_site is None:
        return None
    site = site_by_id(conn, start.origin_site)
    if site is None:
        return None
    event = events_at(conn, [site.updated_index], kept).get(site.updated_index)
    registered = event.body if event is not None else None
    body = registered if isinstance(registered, SiteRegistered) else None
    if site.organisation not in orgs:
        orgs = orgs | _organisations(conn, {site.organisation}, kept)
    org = _named(orgs, site.organisation)
    record = state.get_batch(conn, start.id)
    return OriginRecord(
        site_name=site.name,
        organisation=org.name,
        organisation_en=org.name_en,
        organisation_is_person=org.is_person,
        region=Region(
            province=body.region.province if body else "",
            city=body.region.city if body else "",
            county=body.region.county if body else "",
        ),
        location=Location(lat=body.location.lat, lon=body.location.lon)
        if body and body.location
        else None,
        gap_status=body.gap.status if body and body.gap else None,
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
    `kept` holds events already decoded from this engine's log (default: decode anew).
    """
    catalogue = catalogue or catalogue_for(Settings.model_construct(catalogue_path=None))
    with read_transaction(engine) as conn:
        batch_id = _batch_of(conn, link)
        packed = state.get_batch(conn, batch_id)
        herb = packed.herb if packed else None
        trace = trace_backward(conn, batch_id)
        events = events_at(conn, [e.log_index for e in trace.events], kept)
        signers = signers_by_id(conn, {e.signer for e in events.values()})
        labs = {e.body.lab for e in events.values() if isinstance(e.body, QualityTest)}
        orgs = _organisations(conn, {s.organisation for s in signers.values()} | labs, kept)
        steps: list[StepRecord] = []
        held_by: list[tuple[StepRecord, Registered]] = []
        tests: list[QualityResult] = []
        recall: Recall | None = None
        for traced in trace.events:
            event = events[traced.log_index]
            body = event.body
            if not _mine(body, link):
                continue
            signer = signers.get(event.signer)
            org = _named(orgs, signer.organisation if signer else "")
            step = _step(event, traced.type, org, signer.name if signer else None)
            steps.append(step)
            if _holds(body):
                held_by.append((step, org))
            if isinstance(body, QualityTest):
                lab = _named(orgs, body.lab)
                tests.append(
                    quality_result(catalogue, herb, body, (lab.name, lab.name_en), event.index)
                )
            if isinstance(body, RecallEvent):
                recall = Recall(level=body.level, reason=body.reason, on=_date(event))
        return ProductFacts(
            gtin=link.gtin,
            lot=link.lot or "",
            serial=link.serial,
            batch=batch_id,
            product_name=next((s.summary for s in steps if s.type == "pack"), None),
            herb=herb,
            herb_name=herb_name(catalogue, herb),
            recall=recall,
            origin=_origin(conn, trace.batches, orgs, kept),
            steps=steps,
            tests=tests,
            custody=_custody(held_by),
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
    an entry on that batch. False for an empty or very long lineage: read the facts again.
    """
    if not lineage or len(lineage) > MAX_LINEAGE:
        return False
    with engine.connect() as conn:
        return not recorded_since(conn, since, lineage)


def records_lookup(engine: Engine, settings: Settings | None = None) -> FactsLookup:
    """Return the lookup that answers from the records in `engine`'s database, judging tests
    with the catalogue `settings` name (default: the packaged one), keeping the events it
    decodes for its later calls."""
    catalogue = catalogue_for(settings or Settings.model_construct(catalogue_path=None))
    kept = EntryPayloads()

    def lookup(link: DigitalLink) -> ProductFacts:
        return record_facts(engine, link, catalogue, kept)

    return lookup
