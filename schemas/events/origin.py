"""Events at the origin: planting, deer husbandry, cultivation inputs and harvest."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from schemas.events.common import (
    AreaUnit,
    Body,
    DateStr,
    HerbCode,
    Identifier,
    PositiveDecimal,
    Quantity,
    Text,
)


class Area(Body):
    """The area planted (above zero; the catalogue bounds it, see Quantity)."""

    value: PositiveDecimal
    unit: AreaUnit


class Planting(Body):
    """Sowing or planting: creates the origin batch (the crop in the field)."""

    type: Literal["planting"]
    batch: Identifier = Field(description="ID of the new planting batch")
    herb: HerbCode
    site: Identifier = Field(description="The planting base")
    planted_on: DateStr
    seed_source: Text = Field(description="Where the seeds or seedlings came from")
    seed_lot: Text | None = None
    area: Area
    method: Literal["field", "forest_understory", "wild_simulated"] = Field(
        default="field", description="大田 / 林下 / 仿野生"
    )


HusbandryActivity = Literal["established", "quarantine", "velvet_cutting", "veterinary"]


class Husbandry(Body):
    """Deer (or frog) husbandry: a herd is established, quarantined, cut, treated."""

    type: Literal["husbandry"]
    herd: Identifier = Field(description="The herd's batch ID (created by `established`)")
    site: Identifier
    activity: HusbandryActivity
    on: DateStr
    herb: HerbCode | None = Field(default=None, description="Required when established")
    animals: int | None = Field(default=None, ge=1, le=100_000)
    certificate: Text | None = Field(default=None, description="动物检疫合格证明 number")
    note: Text | None = None

    @model_validator(mode="after")
    def _established_names_herb(self) -> Husbandry:
        if self.activity == "established" and self.herb is None:
            raise ValueError("an established herd names its herb")
        if self.activity == "quarantine" and self.certificate is None:
            raise ValueError("a quarantine record names its certificate")
        return self


class Dose(Body):
    """An application rate, above zero."""

    value: PositiveDecimal
    unit: Literal["kg/mu", "g/mu", "ml/mu", "kg/ha", "l/ha"]


class CultivationInput(Body):
    """Fertiliser or pesticide applied to a planting batch."""

    type: Literal["cultivation_input"]
    batch: Identifier
    input: Literal["fertiliser", "pesticide", "herbicide", "fungicide"]
    product: Text
    registration_no: Text | None = Field(default=None, description="农药登记证号 or 肥料登记证号")
    dose: Dose
    applied_on: DateStr
    safety_interval_days: int | None = Field(default=None, ge=0, le=3650)


class Harvest(Body):
    """Harvest (or velvet cutting): a new batch of raw material from an origin batch."""

    type: Literal["harvest"]
    batch: Identifier = Field(description="ID of the new harvested batch")
    origin: Identifier = Field(description="The planting batch or herd it comes from")
    herb: HerbCode
    site: Identifier
    harvested_on: DateStr
    quantity: Quantity
    growing_years: int | None = Field(
        default=None, ge=1, le=100, description="Claimed age, e.g. six-year ginseng"
    )
    part: Text | None = Field(default=None, description="Medicinal part harvested")
