"""A process-wide cache of the tree's upper levels, which never change once stored.

A stored interior node is the hash of a complete subtree. The log only appends, so a stored
node never changes (and the database refuses UPDATE on tree_nodes). Every inclusion proof
from a large tree needs one sibling per level: at the upper levels these are few nodes that
all proofs share, at the lower levels they differ from proof to proof. The cache keeps every
level from `min_level` up, so a proof looks up only its lower-level siblings in the database.

Layout: one bytearray per cached level holding the hashes of nodes 0, 1, 2 … of that level,
32 bytes each in index order (node (level, i) is bytes [32·i, 32·i + 32)). At most
`capacity` nodes are kept: when the tree outgrows that, the lowest cached level is dropped.
Only read paths use the cache: nodes are read from committed rows, never from a transaction
that is still appending.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping

from sqlalchemy.engine import Connection, Engine

from traceability.log.merkle import HASH_SIZE, NodeID
from traceability.storage.db import driver_rows

CAPACITY = 1 << 16
"""Most nodes one cache holds: 2 MiB of hashes. A 1,000,000-entry tree keeps levels 5 and up
(62,499 nodes), so a proof from it looks up 5 of its 20 nodes."""

MIN_LEVEL = 1
"""The lowest level ever cached: level 0 are the leaf hashes, as many as the entries."""

_TOP = 64
"""No tree of 64-bit size has a node at this level: the level above every cached one."""

_LOAD = (
    "SELECT node_id, hash FROM tree_nodes WHERE node_id >= {m} AND node_id < {m} ORDER BY node_id"
)


def stored_above(size: int, level: int) -> int:
    """Return how many interior nodes a tree of `size` leaves stores at `level` and above."""
    return sum(size >> k for k in range(max(level, 1), size.bit_length()))


class NodeCache:
    """The hashes of a tree's levels from `min_level` up; thread-safe."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._levels: dict[int, bytearray] = {}
        self._lock = threading.Lock()
        self.min_level = _TOP
        """The lowest cached level (_TOP until the first load)."""
        self.loaded_size = 0
        """The tree size the levels were last loaded for."""

    def __len__(self) -> int:
        """Return the number of cached nodes."""
        return sum(len(data) for data in self._levels.values()) // HASH_SIZE

    def level_for(self, size: int) -> int:
        """Return the lowest level whose nodes and those above fit the capacity at `size`."""
        level = MIN_LEVEL
        while stored_above(size, level) > self._capacity:
            level += 1
        return level

    def stale(self, size: int) -> bool:
        """Tell whether a proof from a tree of `size` should first (re)load the cache.

        Nodes completed since the last load are cached as proofs ask for them, in order; a
        tree grown by a quarter since is loaded again, which costs the cache's size in rows.
        """
        return size * 4 > self.loaded_size * 5

    def load(self, conn: Connection, size: int) -> None:
        """Load the nodes of the tree of `size` at level_for(size) and above.

        One range scan per level, for exactly the nodes a tree of `size` stores there. A row
        that does not continue its level (a gap, a hash that is not 32 bytes) ends what is
        cached of that level: the database answers for the rest.
        """
        level = self.level_for(size)
        levels: dict[int, bytearray] = {}
        for at in range(level, size.bit_length()):
            data = levels[at] = bytearray()
            first = at << 56
            for node_id, digest in driver_rows(conn, _LOAD, (first, first + (size >> at))):
                if node_id - first != len(data) // HASH_SIZE or len(digest) != HASH_SIZE:
                    break
                data += digest
        with self._lock:
            self._levels, self.min_level = levels, level
            self.loaded_size = max(self.loaded_size, size)

    def split(self, wanted: Iterable[NodeID]) -> tuple[dict[NodeID, bytes], list[NodeID]]:
        """Return the cached hashes among `wanted`, and the nodes the cache does not hold."""
        found: dict[NodeID, bytes] = {}
        missing: list[NodeID] = []
        levels, low = self._levels, self.min_level
        for node in wanted:
            if node[0] >= low and (data := levels.get(node[0])) is not None:
                start = node[1] * HASH_SIZE
                digest = data[start : start + HASH_SIZE]
                if len(digest) == HASH_SIZE:
                    found[node] = bytes(digest)
                    continue
            missing.append(node)
        return found, missing

    def add(self, nodes: Mapping[NodeID, bytes]) -> None:
        """Cache nodes read from the database that continue a cached level, lowest index first."""
        low = self.min_level
        fresh = sorted(
            (index, level, digest)
            for (level, index), digest in nodes.items()
            if level >= low and len(digest) == HASH_SIZE
        )
        if not fresh:
            return
        with self._lock:
            for index, level, digest in fresh:
                data = self._levels.setdefault(level, bytearray())
                if len(data) == index * HASH_SIZE:
                    data += digest
            while len(self) > self._capacity and self.min_level < _TOP:
                self._levels.pop(self.min_level, None)
                self.min_level += 1


_caches: weakref.WeakKeyDictionary[Engine, NodeCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_for(engine: Engine) -> NodeCache:
    """Return the node cache of `engine`'s database (one per engine, for the process's life)."""
    cache = _caches.get(engine)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(engine, NodeCache(CAPACITY))
    return cache
