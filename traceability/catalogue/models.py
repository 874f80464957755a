"""The herb catalogue's typed, frozen records: herbs, quality items, limits, yields, storage."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from traceability.errors import InvalidInput

Kind = Literal["plant", "animal", "fungus"]
"""What the medicinal material comes from: 植物, 动物, 真菌."""

Unit = Literal["%", "mg/g", "mg/kg", "μg/kg", "mL/g"]
"""Units of quality items; the first four are mass fractions and convert exactly."""

UNIT_ALIASES: dict[str, Unit] = {
    "%": "%",
    "mg/g": "mg/g",
    "mg/kg": "mg/kg",
    "μg/kg": "μg/kg",  # U+03BC GREEK SMALL LETTER MU
    "µg/kg": "μg/kg",  # U+00B5 MICRO SIGN, as many keyboards type it
    "ug/kg": "μg/kg",
    "mL/g": "mL/g",
    "ml/g": "mL/g",
}

# A mass fraction in each unit is 10**exponent mg/kg: 1 % = 10^4 mg/kg, 1 μg/kg = 10^-3 mg/kg.
_MG_PER_KG_EXPONENT: dict[Unit, int] = {"%": 4, "mg/g": 3, "mg/kg": 0, "μg/kg": -3}


def normalise_unit(unit: str) -> Unit:
    """Return the catalogue's spelling of `unit`, or raise InvalidInput naming it."""
    try:
        return UNIT_ALIASES[unit]
    except KeyError:
        known = ", ".join(sorted(set(UNIT_ALIASES.values())))
        raise InvalidInput(f"unknown unit {unit!r}; known units: {known}") from None


def convert(value: Decimal, unit: Unit, to: Unit) -> Decimal:
    """Convert `value` from `unit` to `to` exactly (powers of ten), or raise InvalidInput."""
    if unit == to:
        return value
    if unit in _MG_PER_KG_EXPONENT and to in _MG_PER_KG_EXPONENT:
        return value.scaleb(_MG_PER_KG_EXPONENT[unit] - _MG_PER_KG_EXPONENT[to])
    raise InvalidInput(f"a value in {unit} cannot be compared with a limit in {to}")


class Record(BaseModel):
    """Base of the catalogue's records: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class QualityItem(Record):
    """A quality test item, e.g. moisture 水分 in %."""

    code: str
    zh: str
    en: str
    unit: Unit


class Herb(Record):
    """One authentic herb: names, source species, medicinal part and kind."""

    code: str
    zh: str
    pinyin: str
    latin: str
    other_species: tuple[str, ...] = ()
    part: str
    part_en: str
    kind: Kind


class Limit(Record):
    """A herb's limit for one item: min and/or max in the item's unit, and its source."""

    herb: str
    item: str
    unit: Unit
    min: Decimal | None = None
    max: Decimal | None = None
    source: str


class Yield(Record):
    """The most output mass a processing step may give per unit of input mass, and why."""

    herb: str
    step: str
    max_yield: Decimal
    source: str
    default: bool
    """True when the value is the catalogue-wide default, not the herb's own."""


class StorageRange(Record):
    """Where a herb may be kept: temperature (°C) and relative humidity (%) bounds, each cited.

    A bound that is None is not limited. `tolerance_minutes` is how long readings may stay
    outside the range before a cold-chain alert; `source` is the herb's own storage text.
    """

    herb: str
    profile: str
    label: str
    temperature_min: Decimal | None = None
    temperature_max: Decimal | None = None
    temperature_source: str | None = None
    humidity_min: Decimal | None = None
    humidity_max: Decimal | None = None
    humidity_source: str | None = None
    tolerance_minutes: int
    tolerance_source: str
    source: str

    def out_of_range(
        self, temperature_c: Decimal | None = None, humidity_pct: Decimal | None = None
    ) -> list[str]:
        """Return one sentence per bound a reading crosses; empty when the reading is inside."""
        found: list[str] = []
        checks = (
            ("temperature", temperature_c, "°C", self.temperature_min, self.temperature_max),
            ("humidity", humidity_pct, "%", self.humidity_min, self.humidity_max),
        )
        for name, value, unit, low, high in checks:
            if value is None:
                continue
            if low is not None and value < low:
                found.append(f"{name} {value} {unit} is below the minimum {low} {unit}")
            if high is not None and value > high:
                found.append(f"{name} {value} {unit} is above the maximum {high} {unit}")
        return found


class QuantityBound(Record):
    """The most one event may name for one batch of a herb, per kind of unit, and why.

    `herb` is "*" for the catalogue-wide default. Mass is in kilograms, area in square
    metres, counts (pieces, head) in units.
    """

    herb: str
    max_mass_kg: Decimal
    max_area_m2: Decimal
    max_count: Decimal
    source: str


Status = Literal["pass", "fail", "no_limit"]
"""A verdict: within the limit, outside it, or no cited limit to apply."""


class Verdict(Record):
    """The outcome of checking one measured value against the catalogue, with its evidence.

    `value` is the measurement converted into the item's `unit`; `limit` and `source` are
    the limit applied (None when the catalogue holds no limit for the herb and item).
    """

    status: Status
    herb: str
    item: str
    value: Decimal
    unit: Unit
    reported_value: Decimal
    reported_unit: Unit
    limit: Limit | None
    source: str | None
    detail: str


class CatalogueData(Record):
    """Everything a catalogue file holds, keyed by code; `origin` names the file."""

    origin: str
    items: dict[str, QualityItem]
    herbs: dict[str, Herb]
    limits: dict[str, dict[str, Limit]]
    default_yields: dict[str, Yield]
    yields: dict[str, dict[str, Yield]]
    storage_ranges: dict[str, StorageRange]
    default_quantities: QuantityBound
    quantities: dict[str, QuantityBound]
