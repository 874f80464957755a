"""Value types shared by the event bodies: identifiers, decimals, quantities, dates, codes."""

from __future__ import annotations

import decimal
import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, model_validator

from schemas.envelope import UtcTime

__all__ = [
    "AreaUnit",
    "Body",
    "Coordinates",
    "CountUnit",
    "DateStr",
    "Decimal",
    "GS1Text",
    "Gtin",
    "HerbCode",
    "Identifier",
    "Label",
    "MassUnit",
    "Portion",
    "PositiveDecimal",
    "Quantity",
    "Region",
    "SignedDecimal",
    "StepCode",
    "Text",
    "UtcTime",
]


class Body(BaseModel):
    """Base of every event body: strict types, no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
"""A batch, organisation, site, shipment or sensor ID: ASCII, 1–64 characters."""

_UNSEEN = r"\p{Cc}\p{Cf}\p{Zl}\p{Zp}"
PLAIN_TEXT = rf"^[^{_UNSEEN}]*[^\s{_UNSEEN}][^{_UNSEEN}]*$"
"""Visible text on one line: no control or format character (Unicode Cc, Cf, which hold the
bidirectional overrides and isolates, zero-width characters and the byte-order mark), no line
or paragraph separator, and at least one character that is not white space."""

Text = Annotated[
    str, StringConstraints(min_length=1, max_length=200, strip_whitespace=False, pattern=PLAIN_TEXT)
]
"""Free text (Chinese welcome), one line up to 200 characters, every character visible."""

Label = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=PLAIN_TEXT)]
"""A short name such as a processing parameter's (蒸制温度): plain text up to 64 characters."""

Decimal = Annotated[str, StringConstraints(pattern=r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,6})?$")]
"""A non-negative exact decimal as a string ("180.500"); numbers never travel as floats."""

_POSITIVE_FRACTION = (
    r"[1-9][0-9]{0,5}|0[1-9][0-9]{0,4}|00[1-9][0-9]{0,3}|000[1-9][0-9]{0,2}|0000[1-9][0-9]?"
    r"|00000[1-9]"
)
PositiveDecimal = Annotated[
    str,
    StringConstraints(
        pattern=rf"^([1-9][0-9]{{0,11}}(\.[0-9]{{1,6}})?|0\.({_POSITIVE_FRACTION}))$"
    ),
]
"""A decimal above zero ("0.001", "180.500"): a quantity, area or dose of nothing is no record."""

SignedDecimal = Annotated[str, StringConstraints(pattern=r"^-?(0|[1-9][0-9]{0,5})(\.[0-9]{1,4})?$")]
"""A decimal that may be negative, such as a temperature in °C ("-18.5")."""

_GS1_CHARSET = r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]"
GS1Text = Annotated[str, StringConstraints(pattern=rf"^{_GS1_CHARSET}{{1,20}}$")]
"""A lot (AI 10) or serial (AI 21): 1–20 characters of GS1's 82-character set."""

Gtin = Annotated[str, StringConstraints(pattern=r"^[0-9]{14}$")]
"""A GTIN-14 (shorter GTINs zero-padded); the check digit is checked by the rules."""


def _date(value: str) -> str:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date is YYYY-MM-DD")
    date.fromisoformat(value)
    return value


DateStr = Annotated[str, StringConstraints(max_length=10), AfterValidator(_date)]
"""A calendar date, YYYY-MM-DD (local date at the site)."""

HerbCode = Literal[
    "renshen",
    "lurong",
    "hamayou",
    "xiyangshen",
    "wuweizi",
    "pingbeimu",
    "tianma",
    "beicangzhu",
    "xixin",
    "yinyanghuo",
    "lingzhi",
    "sanghuang",
    "fangfeng",
    "huangqin",
    "huangqi",
    "gancao",
]
"""The herb catalogue's codes (pinyin): 人参 鹿茸 蛤蟆油 西洋参 五味子 平贝母 天麻 北苍术
细辛 淫羊藿 灵芝 桑黄 防风 黄芩 黄芪 甘草."""

StepCode = Literal[
    "cleaning",
    "washing",
    "trimming",
    "soaking",
    "slicing",
    "drying",
    "sun_drying",
    "steaming",
    "boiling",
    "stir_frying",
    "honey_frying",
    "wine_frying",
    "vinegar_frying",
    "grinding",
    "grading",
    "other",
]
"""Processing steps:
净制 洗净 修整 润制 切制 烘干 晒干 蒸制 煮制 清炒 蜜炙 酒炙 醋炙 粉碎 分级 其他."""

MassUnit = Literal["g", "kg", "t"]
AreaUnit = Literal["m2", "mu", "ha"]
"""Area: square metres, 亩 (666.67 m²), hectares."""
CountUnit = Literal["piece", "head"]


class Quantity(Body):
    """An exact amount above zero: a decimal string and its unit.

    Its upper bound depends on the herb and is the catalogue's (traceability/data/herbs.toml,
    `[quantities]`), checked by the rules when the event is admitted.
    """

    value: PositiveDecimal
    unit: MassUnit | AreaUnit | CountUnit


class Region(Body):
    """Administrative region, e.g. 吉林省 白山市 抚松县 (GB/T 2260 code optional)."""

    province: Text
    city: Text
    county: Text
    town: Text | None = None
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = None


class Coordinates(Body):
    """WGS 84 latitude and longitude in decimal degrees, as strings, on the globe."""

    lat: Annotated[str, StringConstraints(pattern=r"^-?[0-9]{1,2}(\.[0-9]{1,7})?$")]
    lon: Annotated[str, StringConstraints(pattern=r"^-?[0-9]{1,3}(\.[0-9]{1,7})?$")]

    @model_validator(mode="after")
    def _on_the_globe(self) -> Coordinates:
        if abs(decimal.Decimal(self.lat)) > 90 or abs(decimal.Decimal(self.lon)) > 180:
            raise ValueError("latitude is within ±90° and longitude within ±180°")
        return self


class Portion(Body):
    """A quantity of one batch taken into, or coming out of, a transformation."""

    batch: Identifier
    quantity: Quantity
