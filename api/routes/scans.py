"""Consumer scans: the consumer page records each opening of a unit's page here.

Public and rate-limited like the resolver. Only the page posts scans, so a handheld's or a
regulator's JSON lookup of the same Digital Link is never counted. The answer tells the page
when and roughly where the code was first scanned, and whether it has been scanned too
widely (`traceability/scans/counter.py`); the first time a unit is scanned from more distinct
networks than the threshold (as the server saw them, never places the browser claims),
regulators get an alert.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import EngineDep, Public, SettingsDep
from api.errors import error_responses
from api.ratelimit import client_address
from api.services import DomainDep
from traceability.digital_link import DigitalLink
from traceability.scans.counter import ScanCounter, ScanSummary
from traceability.scans.marks import Place, coarse_place

router = APIRouter(prefix="/v1/scans", tags=["scans"], dependencies=[Public])

Degrees = Annotated[
    Decimal | str,
    Field(description="decimal degrees; kept rounded to 0.1°", examples=["43.9"]),
]


class PlaceIn(BaseModel):
    """Where the scanner is, as the browser's geolocation gave it (with the visitor's consent)."""

    model_config = ConfigDict(extra="forbid")

    lat: Degrees
    lon: Degrees


class ScanIn(BaseModel):
    """A scan of a unit's code: its GTIN, lot and serial, and optionally a rough place."""

    model_config = ConfigDict(extra="forbid")

    gtin: str = Field(pattern=r"^[0-9]{8,14}$", examples=["09520123000110"])
    lot: str = Field(min_length=1, max_length=20, examples=["HS260000000"])
    serial: str = Field(min_length=1, max_length=20, examples=["RS00000000001"])
    place: PlaceIn | None = Field(default=None, description="omitted when the visitor shares none")


class PlaceOut(BaseModel):
    """A place rounded to 0.1°, as decimal-degree strings."""

    lat: str = Field(examples=["43.9"])
    lon: str = Field(examples=["125.3"])


class FirstScanOut(BaseModel):
    """When and roughly where the unit's code was first scanned."""

    at: str = Field(description="RFC 3339 UTC", examples=["2026-10-12T06:30:00Z"])
    place: PlaceOut | None = None


class ScanWarningOut(BaseModel):
    """A counterfeit signal: what was seen over which limit."""

    signal: Literal["many_scanners", "far_apart"]
    observed: int = Field(description="distinct scanners, or km between two places")
    limit: int


class ScanOut(BaseModel):
    """The unit's scans as of this one."""

    number: int = Field(description="this scan's ordinal for the unit: 1 for the first")
    scanners: int = Field(description="distinct scanners (client networks) so far")
    far_km: int = Field(description="the greatest distance in km between two scan places")
    place: PlaceOut | None = Field(description="this scan's place as kept, if one was shared")
    first: FirstScanOut
    warnings: list[ScanWarningOut]
    alerted: bool = Field(description="regulators have a counterfeit_scan alert on this unit")


def _place_out(place: Place | None) -> PlaceOut | None:
    return PlaceOut(lat=place.lat, lon=place.lon) if place else None


def scan_out(summary: ScanSummary) -> ScanOut:
    """The response model of a scan summary."""
    return ScanOut(
        number=summary.number,
        scanners=summary.scanners,
        far_km=summary.far_km,
        place=_place_out(summary.place),
        first=FirstScanOut(
            at=summary.first_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            place=_place_out(summary.first_place),
        ),
        warnings=[
            ScanWarningOut(signal=w.signal, observed=w.observed, limit=w.limit)
            for w in summary.warnings
        ],
        alerted=summary.alerted,
    )


@router.post("", responses=error_responses(400, 404, 422, 429))
def record_scan(
    scan: ScanIn,
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    domain: DomainDep,
) -> ScanOut:
    """Record a consumer's scan of a unit and say how its code has been scanned so far."""
    link = DigitalLink(scan.gtin, lot=scan.lot, serial=scan.serial)
    place = coarse_place(scan.place.lat, scan.place.lon) if scan.place else None
    counter = ScanCounter(settings, engine, domain)
    return scan_out(counter.record(link, client_address(request), place))
