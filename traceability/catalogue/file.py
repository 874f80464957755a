"""Reads a herb catalogue TOML file and refuses, naming file, table and field, what is wrong."""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from typing import Annotated, Any, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from schemas.events.common import StepCode
from traceability.catalogue.models import (
    CatalogueData,
    Herb,
    Kind,
    Limit,
    QualityItem,
    QuantityBound,
    StorageRange,
    Unit,
    Yield,
)
from traceability.errors import InvalidInput

SCHEMA_VERSION = 1
STEP_CODES: tuple[str, ...] = get_args(StepCode)
MAX_PROBLEMS = 10

_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def _decimal_text(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError(f'write a decimal as a quoted string such as "12.0", not {value!r}')
    if not _DECIMAL.fullmatch(value):
        raise ValueError(f'{value!r} is not a decimal number such as "12.0"')
    return Decimal(value)


DecimalText = Annotated[Decimal, BeforeValidator(_decimal_text)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ItemEntry(_Entry):
    zh: Text
    en: Text
    unit: Unit


class HerbEntry(_Entry):
    zh: Text
    pinyin: Text
    latin: Text
    other_species: list[Text] = []
    part: Text
    part_en: Text
    kind: Kind
    storage: Code
    storage_source: Text


class LimitEntry(_Entry):
    min: DecimalText | None = None
    max: DecimalText | None = None
    source: Text


class YieldEntry(_Entry):
    max_yield: DecimalText
    source: Text


class StorageEntry(_Entry):
    label: Text
    temperature_min: DecimalText | None = None
    temperature_max: DecimalText | None = None
    temperature_source: Text | None = None
    humidity_min: DecimalText | None = None
    humidity_max: DecimalText | None = None
    humidity_source: Text | None = None
    tolerance_minutes: Annotated[int, Field(ge=0)]
    tolerance_source: Text


class QuantityEntry(_Entry):
    max_mass_kg: DecimalText
    max_area_m2: DecimalText
    max_count: DecimalText
    source: Text


class CatalogueFile(_Entry):
    version: int = Field(alias="schema")
    items: dict[Code, ItemEntry]
    herbs: dict[Code, HerbEntry]
    limits: dict[str, dict[str, LimitEntry]] = {}
    yields: dict[str, dict[str, YieldEntry]]
    storage: dict[Code, StorageEntry]
    quantities: dict[Code, QuantityEntry] = {}


def parse_catalogue(text: str, origin: str) -> CatalogueData:
    """Parse catalogue TOML `text` read from `origin`; raise InvalidInput listing every problem."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{origin}: not valid TOML: {exc}") from None
    if raw.get("schema") != SCHEMA_VERSION:
        raise InvalidInput(
            f"{origin}: schema: expected {SCHEMA_VERSION}, got {raw.get('schema')!r}"
        )
    try:
        parsed = CatalogueFile.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(_describe(origin, _pydantic_problems(exc))) from None
    problems = _cross_check(parsed)
    if problems:
        raise InvalidInput(_describe(origin, problems))
    return _build(parsed, origin)


def _describe(origin: str, problems: list[str]) -> str:
    shown = problems[:MAX_PROBLEMS]
    more = len(problems) - len(shown)
    text = "; ".join(shown) + (f"; and {more} more" if more else "")
    return f"{origin}: {text}"


def _pydantic_problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return problems


def _cross_check(parsed: CatalogueFile) -> list[str]:
    problems: list[str] = []
    for code, herb in parsed.herbs.items():
        if herb.storage not in parsed.storage:
            problems.append(f"herbs.{code}.storage: unknown storage profile {herb.storage!r}")
    for herb_code, limits in parsed.limits.items():
        if herb_code not in parsed.herbs:
            problems.append(f"limits.{herb_code}: unknown herb {herb_code!r}")
        for item_code, limit in limits.items():
            where = f"limits.{herb_code}.{item_code}"
            if item_code not in parsed.items:
                problems.append(f"{where}: unknown quality item {item_code!r}")
            problems.extend(_bounds(where, "", limit.min, limit.max, "a min or a max"))
    problems.extend(_check_yields(parsed))
    problems.extend(_check_quantities(parsed))
    for code, profile in parsed.storage.items():
        where = f"storage.{code}"
        t_min, t_max = profile.temperature_min, profile.temperature_max
        h_min, h_max = profile.humidity_min, profile.humidity_max
        problems.extend(_bounds(where, "temperature_", t_min, t_max, None))
        problems.extend(_bounds(where, "humidity_", h_min, h_max, None))
        for name, bound in (("humidity_min", h_min), ("humidity_max", h_max)):
            if bound is not None and not Decimal(0) <= bound <= Decimal(100):
                problems.append(f"{where}.{name}: {bound} is not a relative humidity (0–100 %)")
        if (t_min is not None or t_max is not None) and profile.temperature_source is None:
            problems.append(f"{where}.temperature_source: a temperature bound needs a source")
        if (h_min is not None or h_max is not None) and profile.humidity_source is None:
            problems.append(f"{where}.humidity_source: a humidity bound needs a source")
    return problems


def _bounds(
    where: str, prefix: str, low: Decimal | None, high: Decimal | None, required: str | None
) -> list[str]:
    if low is None and high is None:
        return [f"{where}: give {required}"] if required else []
    if low is not None and high is not None and low > high:
        return [f"{where}.{prefix}min: {low} is greater than {prefix}max {high}"]
    return []


def _check_yields(parsed: CatalogueFile) -> list[str]:
    problems: list[str] = []
    if "default" not in parsed.yields:
        problems.append("yields.default: missing; it gives every step's maximum yield")
    else:
        missing = [step for step in STEP_CODES if step not in parsed.yields["default"]]
        if missing:
            problems.append(f"yields.default: missing steps {', '.join(missing)}")
    for herb_code, steps in parsed.yields.items():
        if herb_code != "default" and herb_code not in parsed.herbs:
            problems.append(f"yields.{herb_code}: unknown herb {herb_code!r}")
        for step, entry in steps.items():
            where = f"yields.{herb_code}.{step}"
            if step not in STEP_CODES:
                problems.append(f"{where}: unknown processing step {step!r}")
            if entry.max_yield <= 0:
                problems.append(f"{where}.max_yield: {entry.max_yield} is not above 0")
    return problems


def _check_quantities(parsed: CatalogueFile) -> list[str]:
    problems: list[str] = []
    if "default" not in parsed.quantities:
        problems.append("quantities.default: missing; it bounds every herb's batch quantities")
    for code, entry in parsed.quantities.items():
        if code != "default" and code not in parsed.herbs:
            problems.append(f"quantities.{code}: unknown herb {code!r}")
        for name in ("max_mass_kg", "max_area_m2", "max_count"):
            if getattr(entry, name) <= 0:
                problems.append(f"quantities.{code}.{name}: {getattr(entry, name)} is not above 0")
    return problems


def _build(parsed: CatalogueFile, origin: str) -> CatalogueData:
    items = {
        code: QualityItem(code=code, zh=e.zh, en=e.en, unit=e.unit)
        for code, e in parsed.items.items()
    }
    herbs = {
        code: Herb(
            code=code,
            zh=e.zh,
            pinyin=e.pinyin,
            latin=e.latin,
            other_species=tuple(e.other_species),
            part=e.part,
            part_en=e.part_en,
            kind=e.kind,
        )
        for code, e in parsed.herbs.items()
    }
    limits = {
        herb: {
            item: Limit(
                herb=herb, item=item, unit=items[item].unit, min=e.min, max=e.max, source=e.source
            )
            for item, e in entries.items()
        }
        for herb, entries in parsed.limits.items()
    }
    yields = {
        herb: {
            step: Yield(
                herb=herb, step=step, max_yield=e.max_yield, source=e.source, default=herb == "*"
            )
            for step, e in entries.items()
        }
        for herb, entries in (
            ("*" if code == "default" else code, steps) for code, steps in parsed.yields.items()
        )
    }
    storage = {
        code: _storage(code, e, parsed.storage[e.storage]) for code, e in parsed.herbs.items()
    }
    bounds = {
        code: QuantityBound(
            herb="*" if code == "default" else code,
            max_mass_kg=e.max_mass_kg,
            max_area_m2=e.max_area_m2,
            max_count=e.max_count,
            source=e.source,
        )
        for code, e in parsed.quantities.items()
    }
    return CatalogueData(
        origin=origin,
        items=items,
        herbs=herbs,
        limits=limits,
        default_yields=yields.pop("*"),
        yields=yields,
        storage_ranges=storage,
        default_quantities=bounds.pop("default"),
        quantities=bounds,
    )


def _storage(herb: str, entry: HerbEntry, profile: StorageEntry) -> StorageRange:
    return StorageRange(
        herb=herb,
        profile=entry.storage,
        label=profile.label,
        temperature_min=profile.temperature_min,
        temperature_max=profile.temperature_max,
        temperature_source=profile.temperature_source,
        humidity_min=profile.humidity_min,
        humidity_max=profile.humidity_max,
        humidity_source=profile.humidity_source,
        tolerance_minutes=profile.tolerance_minutes,
        tolerance_source=profile.tolerance_source,
        source=entry.storage_source,
    )
