"""What the resolver says about a batch or unit: the facts, their consumer view, and the seam
through which they are looked up.

`ProductFacts` is everything the records say, personal details included; `PublicFacts` is
the only shape anonymous callers get, built by `consumer_view`: no person's name or phone
number (the public model has no field for them), individual growers shown as such rather
than by name, and planting-base coordinates rounded to 0.1° (about 11 km).

`FactsLookup` is the seam: a callable from a `DigitalLink` (with `serial` for a unit,
without for a batch) to its `ProductFacts`, raising NotFound when nothing is recorded.
The app answers from the supply-chain records (`api/record_facts.py`) unless
`app.state.facts_lookup` names another (tests do).
"""

from __future__ import annotations

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


class Origin(BaseModel):
    """Where the herb grew (or the herd lived)."""

    site_name: str = Field(examples=["抚松县东岗镇林下参基地"])
    organisation: str = Field(examples=["抚松县参业合作社"])
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
    summary: str | None = Field(default=None, examples=["蒸制 (steamed)"])
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
    product_name: str | None = Field(default=None, examples=["长白山人参 六年生 50 g"])
    herb: str | None = Field(default=None, examples=["renshen"])
    status: Literal["active", "recalled"] = "active"
    recall: Recall | None = None
    origin: Origin | None = None
    steps: list[Step] = Field(default_factory=list)


class ProductFacts(BaseModel):
    """Everything recorded about a batch or unit, personal details included."""

    gtin: str
    lot: str
    serial: str | None = None
    product_name: str | None = None
    herb: str | None = None
    recall: Recall | None = None
    origin: OriginRecord | None = None
    steps: list[StepRecord] = Field(default_factory=list)


def coarsen(degrees: str) -> str:
    """Round a decimal-degree string to COARSE_DEGREES: "42.2871365" becomes "42.3"."""
    return str(Decimal(degrees).quantize(COARSE_DEGREES, rounding=ROUND_HALF_EVEN))


def consumer_view(facts: ProductFacts, uri: str) -> PublicFacts:
    """Return what a consumer may see of `facts`: no persons, coarse coordinates."""
    origin = None
    if facts.origin is not None:
        o = facts.origin
        location = o.location and Location(lat=coarsen(o.location.lat), lon=coarsen(o.location.lon))
        origin = Origin(
            site_name=o.site_name,
            organisation=INDIVIDUAL_GROWER if o.organisation_is_person else o.organisation,
            region=o.region,
            location=location,
            gap_status=o.gap_status,
            harvested_on=o.harvested_on,
            growing_years=o.growing_years,
        )
    steps = [
        Step(
            type=s.type,
            on=s.on,
            organisation=INDIVIDUAL_GROWER if s.organisation_is_person else s.organisation,
            summary=s.summary,
            log_index=s.log_index,
        )
        for s in facts.steps
    ]
    return PublicFacts(
        uri=uri,
        gtin=facts.gtin,
        lot=facts.lot,
        serial=facts.serial,
        product_name=facts.product_name,
        herb=facts.herb,
        status="recalled" if facts.recall else "active",
        recall=facts.recall,
        origin=origin,
        steps=steps,
    )


class FactsLookup(Protocol):
    """Finds the facts of a batch (no serial) or unit; NotFound when nothing is recorded."""

    def __call__(self, link: DigitalLink) -> ProductFacts: ...
