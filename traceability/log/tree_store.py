"""Reading the stored Merkle tree: node look-ups, roots and RFC 9162 proofs in O(log n)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.errors import ChainBroken, InvalidInput
from traceability.log import merkle
from traceability.log.merkle import NodeID
from traceability.storage.tables import LogEntry, TreeNode, node_id
from traceability.types import NodeHash

_entries = LogEntry.__table__  # type: ignore[attr-defined]
_nodes = TreeNode.__table__  # type: ignore[attr-defined]


def log_size(conn: Connection) -> int:
    """Return the number of entries in the log."""
    last = conn.execute(sa.select(sa.func.max(_entries.c.idx))).scalar()
    return 0 if last is None else int(last) + 1


def fetch_nodes(conn: Connection, wanted: Iterable[NodeID]) -> dict[NodeID, bytes]:
    """Fetch stored node hashes: level 0 from log_entries.leaf_hash, higher levels from tree_nodes.

    Raises ChainBroken if a node that must exist is missing (a damaged database).
    """
    wanted = set(wanted)
    leaves = sorted(i for level, i in wanted if level == 0)
    inner = {node_id(level, i): (level, i) for level, i in wanted if level > 0}
    found: dict[NodeID, bytes] = {}
    if leaves:
        rows = conn.execute(
            sa.select(_entries.c.idx, _entries.c.leaf_hash).where(_entries.c.idx.in_(leaves))
        )
        found.update(((0, int(idx)), bytes(h)) for idx, h in rows)
    if inner:
        rows = conn.execute(
            sa.select(_nodes.c.node_id, _nodes.c.hash).where(_nodes.c.node_id.in_(list(inner)))
        )
        found.update((inner[int(nid)], bytes(h)) for nid, h in rows)
    missing = wanted - found.keys()
    if missing:
        level, index = min(missing, key=lambda n: n[1] << n[0])
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


def _check_size(size: int, current: int, what: str) -> None:
    if size > current:
        raise InvalidInput(f"{what} {size} is beyond the log's size {current}")


def inclusion_proof(conn: Connection, index: int, size: int) -> list[NodeHash]:
    """Return the RFC 9162 §2.1.3.1 inclusion proof of entry `index` in the tree of `size`."""
    if not 0 <= index < size:
        raise InvalidInput(f"index must satisfy 0 <= index < tree_size, got {index}, {size}")
    _check_size(size, log_size(conn), "tree_size")
    nodes = fetch_nodes(conn, merkle.nodes_for(merkle.inclusion_ranges(index, size)))
    return merkle.inclusion_proof(index, size, nodes)


def consistency_proof(conn: Connection, first: int, second: int) -> list[NodeHash]:
    """Return the RFC 9162 §2.1.4.1 consistency proof between trees of `first` and `second`."""
    if not 0 < first <= second:
        raise InvalidInput(f"sizes must satisfy 0 < first <= second, got {first}, {second}")
    _check_size(second, log_size(conn), "second")
    nodes = fetch_nodes(conn, merkle.nodes_for(merkle.consistency_ranges(first, second)))
    return merkle.consistency_proof(first, second, nodes)
