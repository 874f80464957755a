"""The herb catalogue: herbs, cited quality limits, processing yields and storage ranges.

The catalogue is a TOML file an operator may edit (`traceability/data/herbs.toml` ships
with herbtrace; `HERBTRACE_CATALOGUE_PATH` names a replacement). Every limit, yield and
storage bound in it cites its source, and the rules quote that source as evidence:

* a quality test passes or fails against `Catalogue.check_item`;
* a transformation's outputs cannot exceed its inputs × `Catalogue.max_yield(herb, step)`;
* readings outside `Catalogue.storage(herb)` for longer than its tolerance raise an alert.
"""

from __future__ import annotations

from decimal import Decimal
from importlib.resources import files
from pathlib import Path

from traceability.catalogue.file import STEP_CODES, parse_catalogue
from traceability.catalogue.models import (
    CatalogueData,
    Herb,
    Kind,
    Limit,
    QualityItem,
    QuantityBound,
    Status,
    StorageRange,
    Unit,
    Verdict,
    Yield,
    convert,
    normalise_unit,
)
from traceability.errors import InvalidInput, NotFound
from traceability.settings import Settings, get_settings

__all__ = [
    "PACKAGED_CATALOGUE",
    "Catalogue",
    "Herb",
    "Kind",
    "Limit",
    "QualityItem",
    "StorageRange",
    "Unit",
    "Verdict",
    "Yield",
    "load_catalogue",
]

PACKAGED_CATALOGUE = "herbs.toml"
"""The catalogue file inside the `traceability.data` package."""


class Catalogue(CatalogueData):
    """A loaded catalogue and its lookups; unknown codes raise NotFound naming the code."""

    def herb(self, code: str) -> Herb:
        """Return the herb with pinyin code `code` (renshen, lurong, …)."""
        try:
            return self.herbs[code]
        except KeyError:
            raise NotFound(f"no herb {code!r} in the catalogue {self.origin}") from None

    def item(self, code: str) -> QualityItem:
        """Return the quality item `code` (moisture, total_ash, lead, …)."""
        try:
            return self.items[code]
        except KeyError:
            raise NotFound(f"no quality item {code!r} in the catalogue {self.origin}") from None

    def limit(self, herb: str, item: str) -> Limit | None:
        """Return the herb's limit for the item, or None when no cited limit is recorded."""
        self.herb(herb)
        self.item(item)
        return self.limits.get(herb, {}).get(item)

    def max_yield(self, herb: str, step: str) -> Yield:
        """Return the most output per input mass that `step` may give for `herb`, with source."""
        self.herb(herb)
        if step not in STEP_CODES:
            raise NotFound(f"no processing step {step!r}; steps are {', '.join(STEP_CODES)}")
        own = self.yields.get(herb, {}).get(step)
        if own is not None:
            return own
        return self.default_yields[step].model_copy(update={"herb": herb})

    def storage(self, herb: str) -> StorageRange:
        """Return the temperature and humidity range the herb must be kept in, with sources."""
        self.herb(herb)
        return self.storage_ranges[herb]

    def quantity_bound(self, herb: str) -> QuantityBound:
        """Return the most one event may name for one batch of `herb`, with its source."""
        self.herb(herb)
        return self.quantities.get(herb, self.default_quantities)

    def check_item(self, herb: str, item: str, value: Decimal, unit: str) -> Verdict:
        """Check a measured `value` in `unit` against the herb's limit for `item`.

        The value is converted exactly into the item's unit (%, mg/g, mg/kg and μg/kg are
        interchangeable powers of ten) and compared exactly as reported: it passes when
        min <= value <= max. Without a recorded limit the verdict is `no_limit`. A value
        that is not a finite, non-negative Decimal, or a unit that cannot be converted,
        raises InvalidInput; an unknown herb or item raises NotFound.
        """
        quality_item = self.item(item)
        self.herb(herb)
        given: object = value  # callers outside the type checker may pass floats or strings
        if not isinstance(given, Decimal) or not given.is_finite() or given < 0:
            raise InvalidInput(
                f"{herb}.{item}: the measured value must be a finite, non-negative Decimal, "
                f"got {value!r}"
            )
        reported_unit = normalise_unit(unit)
        try:
            converted = convert(value, reported_unit, quality_item.unit)
        except InvalidInput as exc:
            raise InvalidInput(f"{herb}.{item}: {exc}") from None
        limit = self.limits.get(herb, {}).get(item)
        status, detail = _judge(converted, quality_item.unit, limit)
        return Verdict(
            status=status,
            herb=herb,
            item=item,
            value=converted,
            unit=quality_item.unit,
            reported_value=value,
            reported_unit=reported_unit,
            limit=limit,
            source=limit.source if limit else None,
            detail=detail,
        )


def _judge(value: Decimal, unit: Unit, limit: Limit | None) -> tuple[Status, str]:
    shown = f"{value:f} {unit}"
    if limit is None:
        return "no_limit", f"{shown}: the catalogue records no limit"
    if limit.min is not None and value < limit.min:
        return "fail", f"{shown} is below the minimum {limit.min} {unit}"
    if limit.max is not None and value > limit.max:
        return "fail", f"{shown} is above the maximum {limit.max} {unit}"
    bounds = [f"min {limit.min}"] * (limit.min is not None)
    bounds += [f"max {limit.max}"] * (limit.max is not None)
    return "pass", f"{shown} is within {' and '.join(bounds)} {unit}"


def load_catalogue(path: Path | None = None, *, settings: Settings | None = None) -> Catalogue:
    """Load the catalogue at `path`, else the setting `catalogue_path`, else the packaged one.

    A file that cannot be read, is not TOML or breaks the catalogue's rules raises
    InvalidInput naming the file, the table (herb, item, step or profile) and the field.
    """
    chosen = path if path is not None else (settings or get_settings()).catalogue_path
    if chosen is None:
        resource = files("traceability.data").joinpath(PACKAGED_CATALOGUE)
        text, origin = (
            resource.read_text(encoding="utf-8"),
            f"traceability/data/{PACKAGED_CATALOGUE}",
        )
    else:
        origin = str(chosen)
        try:
            text = Path(chosen).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{origin}: cannot read the catalogue: {exc}") from None
    data = parse_catalogue(text, origin)
    return Catalogue.model_construct(
        **{name: getattr(data, name) for name in CatalogueData.model_fields}
    )
