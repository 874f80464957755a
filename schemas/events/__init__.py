"""The domain events: the typed bodies of signed envelopes, validated by `type`."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from schemas.events.alert import Alert, AlertKind
from schemas.events.common import Body, Portion, Quantity, Region
from schemas.events.custody import Recall, Receive, RetailSale, Ship
from schemas.events.origin import CultivationInput, Harvest, Husbandry, Planting
from schemas.events.processing import (
    FreshProcessing,
    Merge,
    Output,
    Pack,
    Processing,
    Product,
    Split,
)
from schemas.events.quality import Measurement, QualityTest, Reading, SensorReadings
from schemas.events.registry import OrganisationRegistered, SiteRegistered

EventBody = Annotated[
    OrganisationRegistered
    | SiteRegistered
    | Planting
    | Husbandry
    | CultivationInput
    | Harvest
    | FreshProcessing
    | Processing
    | Split
    | Merge
    | Pack
    | QualityTest
    | SensorReadings
    | Ship
    | Receive
    | RetailSale
    | Recall
    | Alert,
    Field(discriminator="type"),
]
"""Every domain event body, told apart by its `type`."""

EVENT_TYPES: dict[str, type[Body]] = {
    "organisation": OrganisationRegistered,
    "site": SiteRegistered,
    "planting": Planting,
    "husbandry": Husbandry,
    "cultivation_input": CultivationInput,
    "harvest": Harvest,
    "fresh_processing": FreshProcessing,
    "processing": Processing,
    "split": Split,
    "merge": Merge,
    "pack": Pack,
    "quality_test": QualityTest,
    "sensor_reading": SensorReadings,
    "ship": Ship,
    "receive": Receive,
    "retail_sale": RetailSale,
    "recall": Recall,
    "alert": Alert,
}


@cache
def event_adapter() -> TypeAdapter[EventBody]:
    """The validator of event bodies (built once)."""
    return TypeAdapter(EventBody)


def parse_body(body: dict[str, Any]) -> EventBody:
    """Validate an envelope's body as a domain event; raises pydantic's ValidationError."""
    return event_adapter().validate_python(body)


__all__ = [
    "EVENT_TYPES",
    "Alert",
    "AlertKind",
    "Body",
    "CultivationInput",
    "EventBody",
    "FreshProcessing",
    "Harvest",
    "Husbandry",
    "Measurement",
    "Merge",
    "OrganisationRegistered",
    "Output",
    "Pack",
    "Planting",
    "Portion",
    "Processing",
    "Product",
    "Quantity",
    "Reading",
    "Recall",
    "Receive",
    "Region",
    "RetailSale",
    "SensorReadings",
    "Ship",
    "SiteRegistered",
    "Split",
    "parse_body",
]
