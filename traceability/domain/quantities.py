"""Exact quantities: decimal strings, unit conversion, and the canonical text stored in indexes."""

from __future__ import annotations

from decimal import Decimal

MASS_IN_KG = {"g": Decimal("0.001"), "kg": Decimal(1), "t": Decimal(1000)}
"""Kilograms per mass unit."""

AREA_IN_M2 = {"m2": Decimal(1), "mu": Decimal(2000) / Decimal(3), "ha": Decimal(10000)}
"""Square metres per area unit (1 亩 = 2000/3 m²)."""


def text(value: Decimal) -> str:
    """The canonical decimal text: plain notation, no exponent, no trailing zeros ("52.8", "0")."""
    if value == 0:
        return "0"
    out = format(value, "f")
    if "." in out:
        out = out.rstrip("0").rstrip(".")
    return out


def is_mass(unit: str) -> bool:
    """Tell whether `unit` is a mass unit (g, kg, t)."""
    return unit in MASS_IN_KG


def convert(value: Decimal, unit: str, to: str) -> Decimal | None:
    """Express `value` `unit` in `to`: exact for mass, same unit always; None if incomparable."""
    if unit == to:
        return value
    if unit in MASS_IN_KG and to in MASS_IN_KG:
        return value * MASS_IN_KG[unit] / MASS_IN_KG[to]
    return None


def in_kg(value: str | Decimal, unit: str) -> Decimal | None:
    """The mass in kilograms, or None when `unit` is not a mass unit."""
    factor = MASS_IN_KG.get(unit)
    return None if factor is None else Decimal(value) * factor


def total(amounts: list[tuple[str, str]], to: str) -> Decimal | None:
    """Sum (value, unit) pairs in unit `to`; None when any of them cannot be converted."""
    out = Decimal(0)
    for value, unit in amounts:
        converted = convert(Decimal(value), unit, to)
        if converted is None:
            return None
        out += converted
    return out
