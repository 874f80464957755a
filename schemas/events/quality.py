"""Evidence about a batch's condition: laboratory tests and sensor readings."""

from __future__ import annotations

import decimal
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

_WHOLE = {
    "%": decimal.Decimal(100),
    "mg/g": decimal.Decimal(1000),
    "mg/kg": decimal.Decimal(10) ** 6,
    "μg/kg": decimal.Decimal(10) ** 9,
}
"""The whole sample in each mass-fraction unit: no measured fraction exceeds it."""

ABSOLUTE_ZERO_C = decimal.Decimal("-273.15")

ItemCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
"""A quality item of the herb catalogue: moisture, total_ash, lead, ginsenoside_rg1_re…"""


class Measurement(Body):
    """One measured item of a test, in the unit the catalogue's limit uses."""

    item: ItemCode
    value: Decimal
    unit: Literal["%", "mg/g", "mg/kg", "μg/kg", "mL/g"]
    below_detection: bool = Field(default=False, description="未检出: value is the LOD")

    @model_validator(mode="after")
    def _no_more_than_the_whole(self) -> Measurement:
        whole = _WHOLE.get(self.unit)
        if whole is not None and decimal.Decimal(self.value) > whole:
            raise ValueError(f"a mass fraction cannot exceed the whole ({whole} {self.unit})")
        return self


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
        if self.temperature_c is not None and decimal.Decimal(self.temperature_c) < ABSOLUTE_ZERO_C:
            raise ValueError("a temperature cannot be below absolute zero (-273.15 °C)")
        if self.humidity_pct is not None and decimal.Decimal(self.humidity_pct) > 100:
            raise ValueError("a relative humidity is at most 100 %")
        return self


class SensorReadings(Body):
    """Readings from a drying-room, warehouse or cold-chain sensor near some batches."""

    type: Literal["sensor_reading"]
    sensor: Identifier
    kind: Literal["drying_room", "warehouse", "cold_chain"]
    batches: Annotated[list[Identifier], Field(min_length=1, max_length=100)]
    site: Identifier | None = None
    readings: Annotated[list[Reading], Field(min_length=1, max_length=1000)]
