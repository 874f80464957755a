"""The tree store's proof arithmetic: the nodes each inclusion proof hash folds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from traceability.log import merkle
from traceability.log.tree_store import inclusion_tiles


def by_ranges(index: int, size: int) -> list[list[merkle.NodeID]]:
    """The tiles of each range of RFC 9162's recursive PATH definition."""
    return [merkle.subtree_nodes(start, end) for start, end in merkle.inclusion_ranges(index, size)]


def test_inclusion_tiles_match_the_rfc_ranges_in_small_trees() -> None:
    """For every entry of every tree up to 300 leaves, the bit arithmetic names the RFC's nodes."""
    for size in range(1, 301):
        for index in range(size):
            assert inclusion_tiles(index, size) == by_ranges(index, size), (index, size)


@given(st.data())
@settings(max_examples=2000)
def test_inclusion_tiles_match_the_rfc_ranges_in_any_tree(data: st.DataObject) -> None:
    """For trees up to 2^62 leaves, the bit arithmetic names the RFC's nodes."""
    size = data.draw(st.integers(1, 2**62), label="size")
    index = data.draw(st.integers(0, size - 1) | st.sampled_from([0, size - 1]), label="index")
    assert inclusion_tiles(index, size) == by_ranges(index, size)
