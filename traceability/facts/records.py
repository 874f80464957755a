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

All of that but the other units' sales depends on the packed batch alone, so it is read
once per batch (`lineage_facts`) and a unit's facts are made from it (`facts_of`); the
records lookup keeps it by batch while the batch's lineage stays the same.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
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
    HerbName,
    Location,
    OriginRecord,
    ProductFacts,
    QualityResult,
    Recall,
    Region,
    StepRecord,
)
from traceability.facts.quality import catalogue_for, herb_name, quality_result
from traceability.log.reading import log_size
from traceability.log.signers import signers_by_id
from traceability.settings import Settings
from traceability.storage.db import read_transaction


class FactsLookup(Protocol):
    """Finds the facts of a batch (no serial) or unit; NotFound when nothing is recorded."""

    def __call__(self, link: DigitalLink) -> ProductFacts: ...


class SizedFactsLookup(FactsLookup, Protocol):
    """A FactsLookup that also tells the log size the facts were read at."""

    def sized(self, link: DigitalLink) -> tuple[int, ProductFacts]:
        """The log's size, read first, and the facts, read after it in the same transaction
        (so never older than that size); NotFound when nothing is recorded."""
        ...


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


@dataclass(frozen=True, slots=True)
class LineageFacts:
    """What the records say about a packed batch and its lineage, shared by all its units.

    Every step is kept, each retail sale's with the serials it sold (None for the other
    steps), so a unit's facts are these with the other units' sales left out (`facts_of`).
    """

    batch: str
    herb: str | None
    herb_name: HerbName | None
    recall: Recall | None
    origin: OriginRecord | None
    steps: tuple[tuple[StepRecord, frozenset[str] | None], ...]
    tests: tuple[QualityResult, ...]
    custody: tuple[CustodianRecord, ...]
    lineage: tuple[str, ...]


def lineage_facts(
    conn: Connection, batch_id: str, catalogue: Catalogue, kept: EntryPayloads | None
) -> LineageFacts:
    """Read what the records say about the packed batch `batch_id` and its lineage."""
    packed = state.get_batch(conn, batch_id)
    herb = packed.herb if packed else None
    trace = trace_backward(conn, batch_id)
    events = events_at(conn, [e.log_index for e in trace.events], kept)
    signers = signers_by_id(conn, {e.signer for e in events.values()})
    labs = {e.body.lab for e in events.values() if isinstance(e.body, QualityTest)}
    orgs = _organisations(conn, {s.organisation for s in signers.values()} | labs, kept)
    steps: list[tuple[StepRecord, frozenset[str] | None]] = []
    held_by: list[tuple[StepRecord, Registered]] = []
    tests: list[QualityResult] = []
    recall: Recall | None = None
    for traced in trace.events:
        event = events[traced.log_index]
        body = event.body
        if isinstance(body, Alert):
            continue
        signer = signers.get(event.signer)
        org = _named(orgs, signer.organisation if signer else "")
        step = _step(event, traced.type, org, signer.name if signer else None)
        steps.append((step, frozenset(body.serials) if isinstance(body, RetailSale) else None))
        if _holds(body):
            held_by.append((step, org))
        if isinstance(body, QualityTest):
            lab = _named(orgs, body.lab)
            tests.append(
                quality_result(catalogue, herb, body, (lab.name, lab.name_en), event.index)
            )
        if isinstance(body, RecallEvent):
            recall = Recall(level=body.level, reason=body.reason, on=_date(event))
    return LineageFacts(
        batch=batch_id,
        herb=herb,
        herb_name=herb_name(catalogue, herb),
        recall=recall,
        origin=_origin(conn, trace.batches, orgs, kept),
        steps=tuple(steps),
        tests=tuple(tests),
        custody=tuple(_custody(held_by)),
        lineage=tuple(b.id for b in trace.batches),
    )


def facts_of(link: DigitalLink, lineage: LineageFacts) -> ProductFacts:
    """The facts of the batch or unit `link` names, whose packed batch's are `lineage`: a
    unit's leave out the sales of the batch's other units (sales hold no material, so the
    chain of custody is the batch's)."""
    serial = link.serial
    steps = [
        step for step, sold in lineage.steps if sold is None or serial is None or serial in sold
    ]
    return ProductFacts(
        gtin=link.gtin,
        lot=link.lot or "",
        serial=serial,
        batch=lineage.batch,
        product_name=next((s.summary for s in steps if s.type == "pack"), None),
        herb=lineage.herb,
        herb_name=lineage.herb_name,
        recall=lineage.recall,
        origin=lineage.origin,
        steps=steps,
        tests=list(lineage.tests),
        custody=list(lineage.custody),
        lineage=list(lineage.lineage),
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
        return facts_of(link, lineage_facts(conn, _batch_of(conn, link), catalogue, kept))


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


MAX_LINEAGES = 4096
"""Packed batches whose lineage facts a records lookup keeps (about a hundred units each)."""


@dataclass(frozen=True, slots=True)
class _Held:
    size: int
    facts: LineageFacts


class _LineageKeeper:
    """A records lookup that keeps each packed batch's lineage facts, so that the first
    lookup of a unit whose batch was looked up before reads two rows, not its whole lineage.

    Kept facts read when the log held N entries hold while nothing from N on is recorded
    on their lineage nor registers an organisation or site again (`unchanged_since`): each
    lookup reads the log's size first, in the same read transaction as the check and the
    facts, so facts kept under a size are never older than it. Least recently used
    batches are dropped first. Thread-safe.
    """

    def __init__(self, engine: Engine, catalogue: Catalogue, max_batches: int) -> None:
        self.engine = engine
        self.catalogue = catalogue
        self.max_batches = max_batches
        self.kept = EntryPayloads()
        self._lock = threading.Lock()
        self._held: OrderedDict[str, _Held] = OrderedDict()

    def __call__(self, link: DigitalLink) -> ProductFacts:
        return self.sized(link)[1]

    def sized(self, link: DigitalLink) -> tuple[int, ProductFacts]:
        """The log's size and the facts of `link`, read after it (SizedFactsLookup)."""
        with read_transaction(self.engine) as conn:
            size = log_size(conn)
            batch_id = _batch_of(conn, link)
            with self._lock:
                held = self._held.get(batch_id)
            if held is None or not (
                held.size == size
                or (
                    held.size < size
                    and len(held.facts.lineage) <= MAX_LINEAGE
                    and not recorded_since(conn, held.size, held.facts.lineage)
                )
            ):
                facts = lineage_facts(conn, batch_id, self.catalogue, self.kept)
            else:
                facts = held.facts
        self._keep(batch_id, _Held(size, facts))
        return size, facts_of(link, facts)

    def _keep(self, batch_id: str, held: _Held) -> None:
        with self._lock:
            current = self._held.get(batch_id)
            if current is None or current.size <= held.size:
                self._held[batch_id] = held
            self._held.move_to_end(batch_id)
            while len(self._held) > self.max_batches:
                self._held.popitem(last=False)


def records_lookup(
    engine: Engine, settings: Settings | None = None, max_batches: int = MAX_LINEAGES
) -> SizedFactsLookup:
    """Return the lookup that answers from the records in `engine`'s database, judging tests
    with the catalogue `settings` name (default: the packaged one), keeping the events it
    decodes and each packed batch's lineage facts (up to `max_batches`) for its later
    calls."""
    catalogue = catalogue_for(settings or Settings.model_construct(catalogue_path=None))
    return _LineageKeeper(engine, catalogue, max_batches)
