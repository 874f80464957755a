"""The seam between the rules and the herb catalogue: yields, storage ranges, quality limits.

The rules ask `HerbRules`; `CatalogueRules` answers from `traceability.catalogue.lookup` (loaded on
first use), and tests may hand in any other implementation.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from traceability.errors import NotFound
from traceability.settings import Settings

if TYPE_CHECKING:
    from traceability.catalogue.lookup import Catalogue


@dataclass(frozen=True, slots=True)
class YieldLimit:
    """The most output per input mass a step may give, and where that figure comes from."""

    max_yield: Decimal
    source: str


@dataclass(frozen=True, slots=True)
class StorageRange:
    """Where a herb may be kept: °C bounds, relative humidity bounds (%), minutes of tolerance."""

    temperature_min: Decimal | None
    temperature_max: Decimal | None
    humidity_min: Decimal | None
    humidity_max: Decimal | None
    tolerance_minutes: int
    source: str = ""


@dataclass(frozen=True, slots=True)
class QuantityLimit:
    """The most one event may name for one batch: kilograms, square metres, pieces or head."""

    max_mass_kg: Decimal
    max_area_m2: Decimal
    max_count: Decimal
    source: str


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One measured item as the rules see it: name, value, unit, below detection."""

    item: str
    value: str
    unit: str
    below_detection: bool = False


@dataclass(frozen=True, slots=True)
class LimitBreach:
    """A measured item outside the catalogue's limit for the herb."""

    item: str
    value: str
    unit: str
    limit: str
    detail: str
    source: str = ""


class HerbRules(Protocol):
    """What the rules need from the herb catalogue."""

    def max_yield(self, herb: str, step: str) -> YieldLimit | None:
        """The step's maximum yield for the herb; None when the catalogue gives none."""
        ...

    def storage(self, herb: str) -> StorageRange | None:
        """The herb's storage range; None when the catalogue gives none."""
        ...

    def breaches(self, herb: str, items: Sequence[ItemResult]) -> list[LimitBreach]:
        """The items that break the herb's limits (items without a limit pass).

        Raises InvalidInput when a value's unit cannot be converted to the item's unit.
        """
        ...

    def quantity_limit(self, herb: str | None) -> QuantityLimit:
        """The herb's quantity bounds; the catalogue-wide default for None or an unknown herb."""
        ...


class CatalogueRules:
    """HerbRules answered by `traceability.catalogue.lookup`, loaded on first use (thread-safe)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._catalogue: Catalogue | None = None

    def catalogue(self) -> Catalogue:
        """The loaded catalogue (InvalidInput if its file is unreadable or inconsistent)."""
        with self._lock:
            if self._catalogue is None:
                from traceability.catalogue.lookup import load_catalogue

                self._catalogue = load_catalogue(settings=self._settings)
            return self._catalogue

    def max_yield(self, herb: str, step: str) -> YieldLimit | None:
        try:
            found = self.catalogue().max_yield(herb, step)
        except NotFound:
            return None
        return YieldLimit(found.max_yield, found.source)

    def storage(self, herb: str) -> StorageRange | None:
        try:
            s = self.catalogue().storage(herb)
        except (NotFound, KeyError):
            return None
        return StorageRange(
            temperature_min=s.temperature_min,
            temperature_max=s.temperature_max,
            humidity_min=s.humidity_min,
            humidity_max=s.humidity_max,
            tolerance_minutes=s.tolerance_minutes,
            source=s.source,
        )

    def quantity_limit(self, herb: str | None) -> QuantityLimit:
        catalogue = self.catalogue()
        bound = catalogue.default_quantities
        if herb is not None:
            with contextlib.suppress(NotFound):
                bound = catalogue.quantity_bound(herb)
        return QuantityLimit(bound.max_mass_kg, bound.max_area_m2, bound.max_count, bound.source)

    def breaches(self, herb: str, items: Sequence[ItemResult]) -> list[LimitBreach]:
        catalogue = self.catalogue()
        out: list[LimitBreach] = []
        for m in items:
            try:
                verdict = catalogue.check_item(herb, m.item, Decimal(m.value), m.unit)
            except NotFound:  # an herb or item the catalogue does not know has no limit
                continue
            limit = verdict.limit
            if verdict.status != "fail" or limit is None:
                continue
            if m.below_detection and limit.min is None:
                continue  # 未检出: the true value is below the detection limit
            bounds = [f"min {limit.min}"] * (limit.min is not None)
            bounds += [f"max {limit.max}"] * (limit.max is not None)
            out.append(
                LimitBreach(
                    item=m.item,
                    value=m.value,
                    unit=m.unit,
                    limit=f"{' and '.join(bounds)} {limit.unit}",
                    detail=verdict.detail,
                    source=limit.source,
                )
            )
        return out
