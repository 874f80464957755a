"""Reading batches: one by ID as its stored record, and filtered lists paged by ID."""

from __future__ import annotations

import pytest
from read_support import read
from story import COOP, PLANT, World

from traceability.domain.batches import BatchFilter, list_batches, read_batch
from traceability.errors import InvalidInput, NotFound


def test_batches_are_listed_by_id_filtered_and_paged_on_after_an_id(world: World) -> None:
    """A list is in ID order; `after` continues it; an organisation sees what it owns or holds."""
    world.packed()
    engine = world.domain.engine
    everything = read(engine, list_batches, BatchFilter())
    ids = [b.id for b in everything]
    assert ids == sorted(ids)
    assert len(ids) > 3
    first = read(engine, list_batches, BatchFilter(), limit=2)
    assert first == everything[:2]
    assert read(engine, list_batches, BatchFilter(), after=first[-1].id) == everything[2:]
    for org in (COOP, PLANT):
        held = read(engine, list_batches, BatchFilter(organisation=org))
        assert held == [b for b in everything if org in (b.owner, b.custodian)]
    assert read(engine, list_batches, BatchFilter(site="site-fusong-wanliang")) == [
        b for b in everything if b.origin_site == "site-fusong-wanliang"
    ]
    assert read(engine, read_batch, ids[0]) == everything[0]


def test_an_unknown_batch_is_not_found_and_a_page_has_bounds(world: World) -> None:
    """Reading a batch never recorded raises NotFound; a list takes 1 to 1001 rows."""
    engine = world.domain.engine
    with pytest.raises(NotFound):
        read(engine, read_batch, "NOPE")
    with pytest.raises(InvalidInput):
        read(engine, list_batches, BatchFilter(), limit=0)
    with pytest.raises(InvalidInput):
        read(engine, list_batches, BatchFilter(), limit=1002)
