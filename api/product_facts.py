"""What the resolver says about a batch or unit: the facts, their consumer view, and the seam
through which they are looked up.

`ProductFacts` is everything the records say, personal details included; `PublicFacts` is
the only shape anonymous callers get, built by `consumer_view`: no person's name or phone
number (the public model has no field for them), individual growers shown as such rather
than by name (in the steps, the origin and the chain of custody), and planting-base
coordinates rounded to 0.1° (about 11 km). Both carry the herb's names from the catalogue,
each test's items against the catalogue's cited limits, and the organisations that held
the product.

`FactsLookup` is the seam: a callable from a `DigitalLink` (with `serial` for a unit,
without for a batch) to its `ProductFacts`, raising NotFound when nothing is recorded.
The app answers from the supply-chain records (`api/record_facts.py`) unless
`create_app(facts_lookup=…)` names another (tests do).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from traceability.digital_link import DigitalLink

COARSE_DEGREES = Decimal("0.1")
"""Public coordinates are rounded to this many degrees (0.1° of latitude is about 11 km)."""

INDIVIDUAL_GROWER = "个体种植户 (individual grower)"
"""Shown to consumers instead of the name of an organisation that is one person."""


class Region(BaseModel):
    """Administrative region: province, city, county (GB/T 2260)."""

    province: str = Field(examples=["吉林省"])
    city: str = Field(examples=["白山市"])
    county: str = Field(examples=["抚松县"])


class Location(BaseModel):
    """WGS 84 latitude and longitude, decimal degrees as strings."""

    lat: str = Field(examples=["42.3"])
    lon: str = Field(examples=["127.3"])


class HerbName(BaseModel):
    """The herb as the catalogue names it: Chinese, pinyin, Latin, and the part used."""

    code: str = Field(examples=["renshen"])
    zh: str = Field(examples=["人参"])
    pinyin: str = Field(examples=["rénshēn"])
    latin: str = Field(examples=["Panax ginseng C. A. Mey."])
    part: str = Field(examples=["根和根茎"])
    part_en: str = Field(examples=["root and rhizome"])


class QualityLimit(BaseModel):
    """A catalogue limit in the item's unit, and the standard it comes from."""

    min: str | None = Field(default=None, examples=[None])
    max: str | None = Field(default=None, examples=["12.0"])
    unit: str = Field(examples=["%"])
    source: str = Field(examples=["《中华人民共和国药典》2020年版一部 人参〔检查〕水分"])


class MeasuredItem(BaseModel):
    """One measured item of a test, judged against the catalogue's limit."""

    item: str = Field(examples=["moisture"])
    zh: str = Field(examples=["水分"])
    en: str = Field(examples=["moisture"])
    value: str = Field(description="in the limit's unit", examples=["11.2"])
    unit: str = Field(examples=["%"])
    below_detection: bool = Field(default=False, description="未检出: the value is the LOD")
    status: Literal["pass", "fail", "no_limit"]
    limit: QualityLimit | None = None


class QualityResult(BaseModel):
    """A laboratory test of the product or an upstream batch."""

    report_no: str = Field(examples=["JLZY-2026-00001-1"])
    tested_on: str = Field(examples=["2026-09-22"])
    lab: str = Field(examples=["吉林省中药材质量检测中心"])
    lab_en: str | None = None
    method: str = Field(examples=["《中华人民共和国药典》2020年版一部 红参"])
    result: Literal["pass", "fail"]
    items: list[MeasuredItem] = Field(default_factory=list)
    log_index: int | None = None


class Custodian(BaseModel):
    """An organisation that held the product (or its material), from when."""

    organisation: str = Field(examples=["集安市鸭绿江红参加工有限公司"])
    organisation_en: str | None = None
    kind: str | None = Field(default=None, examples=["processor"])
    since: str = Field(description="YYYY-MM-DD", examples=["2026-09-10"])
    log_index: int | None = None


class CustodianRecord(Custodian):
    """A custodian as recorded."""

    organisation_is_person: bool = False


class Origin(BaseModel):
    """Where the herb grew (or the herd lived)."""

    site_name: str = Field(examples=["抚松县东岗镇林下参基地"])
    organisation: str = Field(examples=["抚松县参业合作社"])
    organisation_en: str | None = None
    region: Region
    location: Location | None = None
    gap_status: Literal["certified", "in_progress", "none"] | None = None
    harvested_on: str | None = Field(default=None, examples=["2026-09-20"])
    growing_years: int | None = Field(default=None, examples=[6])


class Step(BaseModel):
    """One recorded step of the product's history, as the public may see it."""

    type: str = Field(description="the event type", examples=["processing"])
    on: str = Field(description="the date, YYYY-MM-DD", examples=["2026-10-02"])
    organisation: str = Field(examples=["集安市红参加工有限公司"])
    organisation_en: str | None = None
    summary: str | None = Field(default=None, examples=["蒸制 (steamed)"])
    methods: list[str] = Field(
        default_factory=list, description="processing step codes", examples=[["steaming"]]
    )
    form: str | None = Field(default=None, description="what processing made", examples=["红参"])
    parameters: dict[str, str] = Field(default_factory=dict, examples=[{"蒸制": "98 °C, 2.5 h"}])
    log_index: int | None = Field(default=None, description="the log entry that records it")


class StepRecord(Step):
    """A step as recorded, with the person who did it (never shown to the public)."""

    organisation_is_person: bool = False
    person: str | None = None
    phone: str | None = None


class OriginRecord(Origin):
    """The origin as recorded."""

    organisation_is_person: bool = False


class Recall(BaseModel):
    """A recall covering the product."""

    level: Literal["I", "II", "III"]
    reason: str
    on: str


class PublicFacts(BaseModel):
    """What anyone holding the product may learn from its Digital Link."""

    uri: str = Field(examples=["https://id.herbtrace.local/01/06901234567892/10/FS2026A/21/0001"])
    gtin: str = Field(examples=["06901234567892"])
    lot: str = Field(examples=["FS2026A"])
    serial: str | None = Field(default=None, examples=["0001"])
    batch: str | None = Field(
        default=None, description="the packed batch, whose proofs verify these facts"
    )
    product_name: str | None = Field(default=None, examples=["长白山人参 六年生 50 g"])
    herb: str | None = Field(default=None, examples=["renshen"])
    herb_name: HerbName | None = None
    status: Literal["active", "recalled"] = "active"
    recall: Recall | None = None
    origin: Origin | None = None
    steps: list[Step] = Field(default_factory=list)
    tests: list[QualityResult] = Field(default_factory=list)
    custody: list[Custodian] = Field(default_factory=list)


class ProductFacts(BaseModel):
    """Everything recorded about a batch or unit, personal details included."""

    gtin: str
    lot: str
    serial: str | None = None
    batch: str | None = None
    product_name: str | None = None
    herb: str | None = None
    herb_name: HerbName | None = None
    recall: Recall | None = None
    origin: OriginRecord | None = None
    steps: list[StepRecord] = Field(default_factory=list)
    tests: list[QualityResult] = Field(default_factory=list)
    custody: list[CustodianRecord] = Field(default_factory=list)
    lineage: list[str] = Field(default_factory=list)
    """The batch and every batch upstream of it, whose entries these facts were read from."""


def coarsen(degrees: str) -> str:
    """Round a decimal-degree string to COARSE_DEGREES: "42.2871365" becomes "42.3"."""
    return str(Decimal(degrees).quantize(COARSE_DEGREES, rounding=ROUND_HALF_EVEN))


_ATTRIBUTION = re.compile(r"\s*\[regulator [^\]]*\]\s*$")
"""The office's attribution at the end of a recall reason: `[regulator #ID]`, and in recalls
signed before names were kept out of the log, `[regulator <name> #ID]`."""


def public_reason(reason: str) -> str:
    """A recall reason as the public sees it: without the office's attribution of who asked
    (older log entries carry the regulator's name there; the entry itself stays as signed)."""
    return _ATTRIBUTION.sub("", reason)


def _shown(name: str, name_en: str | None, is_person: bool) -> tuple[str, str | None]:
    """An organisation's names as the public sees them: a person's never."""
    return (INDIVIDUAL_GROWER, None) if is_person else (name, name_en)


def consumer_view(facts: ProductFacts, uri: str) -> PublicFacts:
    """Return what a consumer may see of `facts`: no persons, coarse coordinates."""
    origin = None
    if facts.origin is not None:
        o = facts.origin
        location = o.location and Location(lat=coarsen(o.location.lat), lon=coarsen(o.location.lon))
        name, name_en = _shown(o.organisation, o.organisation_en, o.organisation_is_person)
        origin = Origin(
            site_name=o.site_name,
            organisation=name,
            organisation_en=name_en,
            region=o.region,
            location=location,
            gap_status=o.gap_status,
            harvested_on=o.harvested_on,
            growing_years=o.growing_years,
        )
    steps = []
    for s in facts.steps:
        name, name_en = _shown(s.organisation, s.organisation_en, s.organisation_is_person)
        public = s.model_dump(include=set(Step.model_fields))
        steps.append(Step(**public | {"organisation": name, "organisation_en": name_en}))
    custody = []
    for c in facts.custody:
        name, name_en = _shown(c.organisation, c.organisation_en, c.organisation_is_person)
        public = c.model_dump(include=set(Custodian.model_fields))
        custody.append(Custodian(**public | {"organisation": name, "organisation_en": name_en}))
    return PublicFacts(
        uri=uri,
        gtin=facts.gtin,
        lot=facts.lot,
        serial=facts.serial,
        batch=facts.batch,
        product_name=facts.product_name,
        herb=facts.herb,
        herb_name=facts.herb_name,
        status="recalled" if facts.recall else "active",
        recall=facts.recall
        and facts.recall.model_copy(update={"reason": public_reason(facts.recall.reason)}),
        origin=origin,
        steps=steps,
        tests=facts.tests,
        custody=custody,
    )


class FactsLookup(Protocol):
    """Finds the facts of a batch (no serial) or unit; NotFound when nothing is recorded."""

    def __call__(self, link: DigitalLink) -> ProductFacts: ...
