"""Reading the stored Merkle tree: node look-ups, roots and RFC 9162 proofs in O(log n)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache

from sqlalchemy.engine import Connection

from traceability.errors import ChainBroken, InvalidInput
from traceability.log import merkle
from traceability.log.merkle import NodeID
from traceability.log.node_cache import cache_for
from traceability.log.reading import log_size
from traceability.storage import tables
from traceability.storage.db import driver_rows, is_sqlite, marks
from traceability.storage.tables import node_id
from traceability.types import NodeHash

_nodes = tables.tree_nodes


ARRAYS_FROM = 64
"""Key counts above which PostgreSQL gets arrays: for a single proof's few keys, dumping
an array costs psycopg more than the IN list it replaces (about 30 µs of CPU)."""


@lru_cache(maxsize=1024)
def _nodes_sql(leaves: int, inner: int) -> str:
    """SELECT leaf hashes and interior node hashes by key, in one statement (driver_rows form).

    `leaves` and `inner` count the keys of each kind; a negative count stands for one array
    parameter holding them all (PostgreSQL: the statement's text, and so its prepared plan,
    stays the same whatever the count, and no long IN list is parsed).
    """
    parts = []
    if leaves:
        keys = "= ANY({m}::bigint[])" if leaves < 0 else f"IN ({marks(leaves)})"
        parts.append(f"SELECT 0, idx, leaf_hash FROM log_entries WHERE idx {keys}")  # noqa: S608
    if inner:
        keys = "= ANY({m}::bigint[])" if inner < 0 else f"IN ({marks(inner)})"
        parts.append(f"SELECT 1, node_id, hash FROM tree_nodes WHERE node_id {keys}")  # noqa: S608
    return " UNION ALL ".join(parts)


def fetch_nodes(conn: Connection, wanted: Iterable[NodeID]) -> dict[NodeID, bytes]:
    """Fetch stored node hashes: level 0 from log_entries.leaf_hash, higher levels from tree_nodes.

    One round trip on the driver's own cursor: proofs are served often, and SQLAlchemy's
    per-statement work would cost more than the look-ups themselves. On PostgreSQL more than
    ARRAYS_FROM keys travel as two arrays: psycopg then neither parses a long IN list nor
    prepares a statement per count.

    Raises ChainBroken if a node that must exist is missing (a damaged database).
    """
    wanted = set(wanted)
    if not wanted:
        return {}
    leaves = [i for level, i in wanted if level == 0]
    inner = {node_id(level, i): (level, i) for level, i in wanted if level > 0}
    if len(wanted) <= ARRAYS_FROM or is_sqlite(conn):
        rows = driver_rows(conn, _nodes_sql(len(leaves), len(inner)), [*leaves, *inner])
    else:
        sql = _nodes_sql(-1 if leaves else 0, -1 if inner else 0)
        rows = driver_rows(conn, sql, [keys for keys in (leaves, list(inner)) if keys])
    found = {(0, key) if kind == 0 else inner[key]: bytes(digest) for kind, key, digest in rows}
    if len(found) != len(wanted):
        level, index = min(wanted - found.keys(), key=lambda n: n[1] << n[0])
        raise ChainBroken(index << level, f"tree node ({level}, {index}) is missing")
    return found


def root_at(conn: Connection, size: int) -> NodeHash:
    """Return MTH of the first `size` entries (RFC 9162 §2.1.1)."""
    if size == 0:
        return merkle.EMPTY_ROOT
    nodes = fetch_nodes(conn, merkle.root_nodes(size))
    return merkle.range_hash(0, size, nodes)


def frontier(conn: Connection, size: int) -> merkle.CompactRange:
    """Load the right edge of the tree of `size` entries, ready for appending."""
    ids = merkle.root_nodes(size)
    nodes = fetch_nodes(conn, ids)
    return merkle.CompactRange(size, [nodes[i] for i in ids])


def _check_size(conn: Connection, size: int, what: str, known_size: int) -> None:
    """Refuse sizes beyond the log; the log only grows, so `known_size` spares a query."""
    if size > known_size and size > (current := log_size(conn)):
        raise InvalidInput(f"{what} {size} is beyond the log's size {current}")


Fetch = Callable[[Connection, Iterable[NodeID]], dict[NodeID, bytes]]
"""How nodes missing from the cache are read: fetch_nodes, or a caller's split of it."""


def proof_nodes(
    conn: Connection, wanted: Iterable[NodeID], size: int, fetch: Fetch = fetch_nodes
) -> dict[NodeID, bytes]:
    """Fetch the nodes of the tree of `size` that proofs need; only for reads of committed rows.

    The upper levels come from the engine's node cache (node_cache), the rest in one look-up;
    what the look-up returns of the cached levels is cached for the proofs after it.
    """
    cache = cache_for(conn.engine)
    if cache.stale(size):
        cache.load(conn, size)
    found, missing = cache.split(wanted)
    if missing:
        fetched = fetch(conn, missing)
        cache.add(fetched)
        found.update(fetched)
    return found


def inclusion_tiles(index: int, size: int) -> list[list[NodeID]]:
    """Return, for each hash of PATH(index, D[size]) in proof order, the stored nodes it folds.

    The same as subtree_nodes of each of merkle.inclusion_ranges, in bit arithmetic (as in
    transparency-dev/merkle): below the level where the paths to `index` and to the last leaf
    part, each level's sibling (level, index >> level ^ 1) is one complete subtree, except
    that the topmost may reach past the tree's end and is then tiled up to `size`; above
    it, each set bit of `index` adds its left sibling.
    """
    inner = (index ^ (size - 1)).bit_length()
    tiles: list[list[NodeID]] = [[(level, index >> level ^ 1)] for level in range(inner - 1)]
    if inner:
        level = inner - 1
        start = (index >> level ^ 1) << level
        end = start + (1 << level)
        tiles.append(
            [(level, start >> level)] if end <= size else merkle.subtree_nodes(start, size)
        )
    for level in range(inner, (index >> inner).bit_length() + inner):
        if index >> level & 1:
            tiles.append([(level, (index >> level) - 1)])
    return tiles


def _fold(tiles: list[list[NodeID]], nodes: dict[NodeID, bytes]) -> list[NodeHash]:
    """Return the hash of each run of tiles (RFC 9162 MTH of its leaves): folded right to left."""
    hashes = []
    for tile in tiles:
        acc = nodes[tile[-1]]
        for node in reversed(tile[:-1]):
            acc = merkle.hash_children(nodes[node], acc)
        hashes.append(NodeHash(acc))
    return hashes


def inclusion_proof(conn: Connection, index: int, size: int, known_size: int = 0) -> list[NodeHash]:
    """Return the RFC 9162 §2.1.3.1 inclusion proof of entry `index` in the tree of `size`."""
    if not 0 <= index < size:
        raise InvalidInput(f"index must satisfy 0 <= index < tree_size, got {index}, {size}")
    _check_size(conn, size, "tree_size", known_size)
    tiles = inclusion_tiles(index, size)
    return _fold(tiles, proof_nodes(conn, {node for tile in tiles for node in tile}, size))


def inclusion_proofs(
    conn: Connection, indices: Iterable[int], size: int, fetch: Fetch = fetch_nodes
) -> dict[int, list[NodeHash]]:
    """Return the inclusion proofs of `indices` in the tree of `size`, from one look-up.

    The caller has checked that the log holds `size` entries (a checkpoint covers them, say);
    `fetch` reads the nodes the cache does not hold.
    """
    tiles: dict[int, list[list[NodeID]]] = {}
    for index in indices:
        if not 0 <= index < size:
            raise InvalidInput(f"index must satisfy 0 <= index < tree_size, got {index}, {size}")
        tiles[index] = inclusion_tiles(index, size)
    wanted = {node for runs in tiles.values() for tile in runs for node in tile}
    nodes = proof_nodes(conn, wanted, size, fetch)
    return {index: _fold(runs, nodes) for index, runs in tiles.items()}


def consistency_proof(
    conn: Connection, first: int, second: int, known_size: int = 0
) -> list[NodeHash]:
    """Return the RFC 9162 §2.1.4.1 consistency proof between trees of `first` and `second`."""
    if not 0 < first <= second:
        raise InvalidInput(f"sizes must satisfy 0 < first <= second, got {first}, {second}")
    _check_size(conn, second, "second", known_size)
    tiles = [
        merkle.subtree_nodes(start, end) for start, end in merkle.consistency_ranges(first, second)
    ]
    return _fold(tiles, proof_nodes(conn, {node for tile in tiles for node in tile}, second))
