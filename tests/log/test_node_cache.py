"""The node cache: it holds exactly what the database holds, and cached proofs equal uncached."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import support
import test_tamper as tamper
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Connection

from traceability.errors import ChainBroken
from traceability.ledger import Ledger, initialise
from traceability.log import merkle, node_cache, tree_store
from traceability.log.merkle import NodeID
from traceability.log.node_cache import MIN_LEVEL, NodeCache, cache_for, stored_above
from traceability.storage.db import read_transaction
from traceability.storage.tables import node_id

MASK = (1 << 56) - 1


def grow(ledger: Ledger, signer: support.TestSigner, count: int) -> None:
    """Append `count` envelopes of `signer` and sign a checkpoint of the new size."""
    results = ledger.append([signer.next() for _ in range(count)])
    assert all(r.status == "accepted" for r in results)
    ledger.checkpointer.issue(ledger.engine)


def started(ledger: Ledger, count: int) -> support.TestSigner:
    """Register a signer and append its first `count` envelopes."""
    signer = support.TestSigner()
    signer.register(ledger.engine)
    grow(ledger, signer, count)
    return signer


def stored_nodes(conn: Connection) -> dict[NodeID, bytes]:
    """Every row of tree_nodes, keyed by (level, index)."""
    rows = conn.execute(sa.text("SELECT node_id, hash FROM tree_nodes"))
    return {(n >> 56, n & MASK): bytes(h) for n, h in rows}


def uncached_inclusion(conn: Connection, index: int, size: int) -> list[bytes]:
    """The inclusion proof straight from the database, as before the cache."""
    nodes = tree_store.fetch_nodes(conn, merkle.nodes_for(merkle.inclusion_ranges(index, size)))
    return list(merkle.inclusion_proof(index, size, nodes))


def uncached_consistency(conn: Connection, first: int, second: int) -> list[bytes]:
    """The consistency proof straight from the database, as before the cache."""
    ranges = merkle.consistency_ranges(first, second)
    return list(
        merkle.consistency_proof(
            first, second, tree_store.fetch_nodes(conn, merkle.nodes_for(ranges))
        )
    )


@given(st.integers(0, 3000), st.integers(0, 13))
@settings(max_examples=60, deadline=None)
def test_stored_above_counts_the_nodes_a_tree_stores(size: int, level: int) -> None:
    """stored_above(size, level) is how many interior nodes at `level` and up a tree stores."""
    tree = merkle.CompactRange()
    created = 0
    for i in range(size):
        created += sum(1 for lv, _, _ in tree.append(i.to_bytes(32, "big")) if lv >= level)
    assert stored_above(size, level) == created


@given(st.integers(0, 10**12), st.integers(1, 10**6))
def test_the_lowest_cached_level_is_the_lowest_that_fits(size: int, capacity: int) -> None:
    """level_for picks the lowest level whose nodes, with all above, fit the capacity."""
    level = NodeCache(capacity).level_for(size)
    assert stored_above(size, level) <= capacity
    assert level == MIN_LEVEL or stored_above(size, level - 1) > capacity


def test_the_cache_holds_exactly_what_the_database_holds(ledger: Ledger) -> None:
    """Loaded, the cache returns each stored node of its levels as stored, and nothing below."""
    started(ledger, 300)
    cache = NodeCache(capacity=40)
    with read_transaction(ledger.engine) as conn:
        cache.load(conn, 300)
        stored = stored_nodes(conn)
    assert cache.min_level == cache.level_for(300) > MIN_LEVEL
    upper = {node: h for node, h in stored.items() if node[0] >= cache.min_level}
    found, missing = cache.split(upper)
    assert found == upper
    assert not missing
    assert len(cache) == len(upper) <= 40
    lower = [node for node in stored if node[0] < cache.min_level] + [(0, 5)]
    assert cache.split(lower) == ({}, lower)


def test_nodes_read_later_extend_their_level_within_the_capacity(ledger: Ledger) -> None:
    """Nodes that continue a cached level are kept; others are not; capacity evicts low levels."""
    signer = started(ledger, 256)
    cache = NodeCache(capacity=70)
    with read_transaction(ledger.engine) as conn:
        cache.load(conn, 256)
    assert cache.min_level == 3  # levels 3 to 8 of 256 leaves: 32 + 16 + 8 + 4 + 2 + 1 nodes
    assert len(cache) == 63
    grow(ledger, signer, 256)
    with read_transaction(ledger.engine) as conn:
        stored = stored_nodes(conn)
    after_gap = {(3, 40): stored[(3, 40)]}
    cache.add(after_gap)  # node (3, 32) is not cached yet: (3, 40) would leave a gap
    assert cache.split(after_gap) == ({}, [(3, 40)])
    level3 = {(3, i): stored[(3, i)] for i in range(32, 39)}
    cache.add(level3)
    assert len(cache) == 70
    assert cache.split(level3) == (level3, [])
    level4 = {(4, i): stored[(4, i)] for i in range(16, 32)}
    cache.add(level4)  # 86 nodes: over 70, so level 3 goes
    assert cache.min_level == 4
    assert len(cache) == 70 - 39 + 16
    assert cache.split(level4) == (level4, [])
    assert cache.split(level3) == ({}, list(level3))


def test_cached_proofs_equal_uncached_ones(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inclusion and consistency proofs through a small cache equal the uncached ones, and
    keep doing so as the log grows past what the cache was loaded for."""
    monkeypatch.setattr(node_cache, "CAPACITY", 50)  # a few levels cached, a few not
    signer = started(ledger, 150)

    @given(st.data())
    @settings(max_examples=80, deadline=None)
    def check(data: st.DataObject) -> None:
        size = data.draw(st.integers(1, ledger.size()), label="size")
        index = data.draw(st.integers(0, size - 1), label="index")
        first = data.draw(st.integers(1, size), label="first")
        with read_transaction(ledger.engine) as conn:
            proof = tree_store.inclusion_proof(conn, index, size)
            assert proof == uncached_inclusion(conn, index, size)
            root = tree_store.root_at(conn, size)
            leaf_hash = tree_store.fetch_nodes(conn, [(0, index)])[(0, index)]
            merkle.verify_inclusion(index, size, leaf_hash, proof, root)
            consistency = tree_store.consistency_proof(conn, first, size)
            assert consistency == uncached_consistency(conn, first, size)

    check()
    cache = cache_for(ledger.engine)
    assert 0 < len(cache) <= 50
    grow(ledger, signer, 371)  # the cache now lags the log: proofs must still be right
    check()
    assert cache.loaded_size > 150
    assert len(cache) <= 50


def test_each_database_has_its_own_cache(tmp_path: Path) -> None:
    """Two logs in one process never share cached nodes: each proof matches its own log."""
    ledgers = []
    for name in ("a", "b"):
        log_settings = support.settings_for(f"sqlite:///{tmp_path / name}.db")
        initialise(log_settings)
        ledgers.append(Ledger(log_settings))
        started(ledgers[-1], 70)
    try:
        assert cache_for(ledgers[0].engine) is not cache_for(ledgers[1].engine)
        proofs = []
        for ledger in ledgers:
            with read_transaction(ledger.engine) as conn:
                proofs.append(tree_store.inclusion_proof(conn, 3, 70))
                assert proofs[-1] == uncached_inclusion(conn, 3, 70)
        assert proofs[0] != proofs[1]
    finally:
        for ledger in ledgers:
            ledger.close()


def test_a_missing_node_is_still_a_broken_chain(ledger: Ledger) -> None:
    """A stored node deleted behind the triggers' back: the cache stops at the gap, and a proof
    that needs the node raises ChainBroken naming it, as without the cache."""
    started(ledger, 64)
    gone = node_id(3, 2)
    with ledger.engine.begin() as conn, tamper.triggers_bypassed(conn, "tree_nodes"):
        conn.execute(sa.text("DELETE FROM tree_nodes WHERE node_id = :n"), {"n": gone})
    cache = NodeCache(capacity=100)
    with read_transaction(ledger.engine) as conn:
        cache.load(conn, 64)
        assert cache.split([(3, 1)])[0]
        assert cache.split([(3, 2), (3, 3)]) == ({}, [(3, 2), (3, 3)])
        with pytest.raises(ChainBroken, match=r"tree node \(3, 2\) is missing"):
            tree_store.inclusion_proof(conn, 24, 64)  # leaves 24 to 31: sibling (3, 2)
