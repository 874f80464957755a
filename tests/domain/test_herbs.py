"""The herbs seam answered by the real catalogue (traceability/data/herbs.toml)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from traceability.domain.herbs import CatalogueRules, ItemResult
from traceability.errors import InvalidInput


@pytest.fixture(name="herbs", scope="module")
def _herbs() -> CatalogueRules:
    """The catalogue rules, loaded once."""
    return CatalogueRules()


def test_yields_and_storage_come_from_the_catalogue(herbs: CatalogueRules) -> None:
    """A known step has a decimal yield with its source; ginseng's storage range is cited."""
    found = herbs.max_yield("renshen", "steaming")
    assert found is not None
    assert 0 < found.max_yield <= 1
    assert found.source
    storage = herbs.storage("renshen")
    assert storage is not None
    assert storage.temperature_max == Decimal(20)
    assert storage.source
    assert herbs.max_yield("renshen", "levitation") is None


def test_breaches_are_the_items_beyond_their_cited_limits(herbs: CatalogueRules) -> None:
    """Moisture 13 % breaks ginseng's 12 % limit; 11 % and uncatalogued items pass."""
    items = [
        ItemResult("moisture", "13.0", "%"),
        ItemResult("total_ash", "4.0", "%"),
        ItemResult("no_such_item", "99", "%"),
    ]
    (breach,) = herbs.breaches("renshen", items)
    assert breach.item == "moisture"
    assert breach.limit == "max 12.0 %"
    assert breach.source
    assert herbs.breaches("renshen", [ItemResult("moisture", "11.0", "%")]) == []


def test_a_minimum_is_broken_by_an_undetected_marker(herbs: CatalogueRules) -> None:
    """Below detection passes a maximum but not a minimum (a content marker must be found)."""
    marker = ItemResult("ginsenoside_rg1_re", "0.01", "%", below_detection=True)
    assert [b.item for b in herbs.breaches("renshen", [marker])] == ["ginsenoside_rg1_re"]


def test_a_unit_the_item_cannot_take_is_invalid_input(herbs: CatalogueRules) -> None:
    """A swelling degree unit for a percentage item is refused, not guessed."""
    with pytest.raises(InvalidInput):
        herbs.breaches("renshen", [ItemResult("moisture", "3", "mL/g")])
