"""Evidence about a batch's condition: laboratory tests and sensor readings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from schemas.events.common import (
    Body,
    DateStr,
    Decimal,
    Identifier,
    SignedDecimal,
    Text,
    UtcTime,
)

ItemCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
"""A quality item of the herb catalogue: moisture, total_ash, lead, ginsenoside_rg1_re…"""


class Measurement(Body):
    """One measured item of a test, in the unit the catalogue's limit uses."""

    item: ItemCode
    value: Decimal
    unit: Literal["%", "mg/g", "mg/kg", "μg/kg", "mL/g"]
    below_detection: bool = Field(default=False, description="未检出: value is the LOD")


class QualityTest(Body):
    """A laboratory's test of a batch; `result` is the lab's verdict, checked against limits."""

    type: Literal["quality_test"]
    batch: Identifier
    lab: Identifier = Field(description="The testing laboratory's organisation ID")
    report_no: Text
    sample_id: Text | None = None
    method: Text = Field(description="Standard applied, e.g. 《中国药典》2020 年版一部")
    tested_on: DateStr
    items: Annotated[list[Measurement], Field(min_length=1, max_length=200)]
    result: Literal["pass", "fail"]

    @model_validator(mode="after")
    def _distinct_items(self) -> QualityTest:
        names = [m.item for m in self.items]
        if len(set(names)) != len(names):
            raise ValueError("an item is measured twice")
        return self


class Reading(Body):
    """One sensor sample."""

    at: UtcTime
    temperature_c: SignedDecimal | None = None
    humidity_pct: Decimal | None = None

    @model_validator(mode="after")
    def _measures_something(self) -> Reading:
        if self.temperature_c is None and self.humidity_pct is None:
            raise ValueError("a reading has a temperature or a humidity")
        return self


class SensorReadings(Body):
    """Readings from a drying-room, warehouse or cold-chain sensor near some batches."""

    type: Literal["sensor_reading"]
    sensor: Identifier
    kind: Literal["drying_room", "warehouse", "cold_chain"]
    batches: Annotated[list[Identifier], Field(min_length=1, max_length=100)]
    site: Identifier | None = None
    readings: Annotated[list[Reading], Field(min_length=1, max_length=1000)]
