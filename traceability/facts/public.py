"""The consumer view of a product's facts: no persons, coarse coordinates, no office's name.

`consumer_view` makes the `PublicFacts` anonymous callers get from the `ProductFacts` the
records give: no person's name or phone number (the public model has no field for them),
individual growers shown as such rather than by name (in the steps, the origin and the
chain of custody), planting-base coordinates rounded to 0.1° (about 11 km), and a recall's
reason without the attribution of the office that asked for it.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

from traceability.facts.models import (
    Custodian,
    Location,
    Origin,
    ProductFacts,
    PublicFacts,
    Step,
)

COARSE_DEGREES = Decimal("0.1")
"""Public coordinates are rounded to this many degrees (0.1° of latitude is about 11 km)."""

INDIVIDUAL_GROWER = "个体种植户 (individual grower)"
"""Shown to consumers instead of the name of an organisation that is one person."""


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
