"""Exact quantities: canonical decimal text and unit conversion."""

from __future__ import annotations

from decimal import Decimal

import pytest

from traceability.domain import quantities as q


@pytest.mark.parametrize(
    ("value", "text"),
    [("180.500", "180.5"), ("100", "100"), ("1E+2", "100"), ("0.000", "0"), ("0.0010", "0.001")],
)
def test_text_is_plain_and_without_trailing_zeros(value: str, text: str) -> None:
    """The stored text of a decimal has no exponent and no trailing zeros."""
    assert q.text(Decimal(value)) == text


def test_masses_convert_exactly_and_other_units_do_not() -> None:
    """g, kg and t convert without rounding; pieces and areas convert to nothing else."""
    assert q.convert(Decimal("22800"), "g", "kg") == Decimal("22.8")
    assert q.convert(Decimal("0.0528"), "t", "kg") == Decimal("52.8")
    assert q.convert(Decimal("3"), "piece", "piece") == Decimal(3)
    assert q.convert(Decimal("3"), "piece", "kg") is None
    assert q.convert(Decimal("12.5"), "mu", "kg") is None
    assert q.total([("1", "kg"), ("500", "g")], "kg") == Decimal("1.5")
    assert q.total([("1", "kg"), ("2", "piece")], "kg") is None
    assert q.in_kg("2", "t") == Decimal(2000)
