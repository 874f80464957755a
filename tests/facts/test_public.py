"""The consumer view's coordinates: planting bases are shown to a tenth of a degree."""

from __future__ import annotations

import pytest

from traceability.facts.public import coarsen


@pytest.mark.parametrize(
    ("degrees", "coarse"),
    [
        ("42.2871365", "42.3"),
        ("127.25", "127.2"),
        ("127.35", "127.4"),
        ("-0.04", "-0.0"),
        ("5", "5.0"),
    ],
)
def test_coordinates_are_coarsened_to_a_tenth_of_a_degree(degrees: str, coarse: str) -> None:
    """coarsen rounds decimal degrees to 0.1° (half to even), keeping them decimal strings."""
    assert coarsen(degrees) == coarse
