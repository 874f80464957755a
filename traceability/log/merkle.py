"""RFC 9162 Merkle tree hashing, proof construction and proof verification over SHA-256."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from traceability.errors import ProofError, RootMismatch
from traceability.types import LeafHash, NodeHash

HASH_SIZE = 32
"""Length in bytes of every SHA-256 leaf, node and root hash."""

LEAF_PREFIX = b"\x00"
"""Domain-separation byte before a leaf's data (RFC 9162 §2.1.1)."""

NODE_PREFIX = b"\x01"
"""Domain-separation byte before two child hashes (RFC 9162 §2.1.1)."""

EMPTY_ROOT = NodeHash(hashlib.sha256(b"").digest())
"""MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1)."""

NodeID = tuple[int, int]
"""(level, index): the perfect subtree over leaves [index·2^level, (index+1)·2^level)."""


def hash_leaf(data: bytes) -> LeafHash:
    """Return the leaf hash SHA-256(0x00 || data) (RFC 9162 §2.1.1)."""
    return LeafHash(hashlib.sha256(LEAF_PREFIX + data).digest())


def hash_children(left: bytes, right: bytes) -> NodeHash:
    """Return the interior node hash SHA-256(0x01 || left || right) (RFC 9162 §2.1.1)."""
    return NodeHash(hashlib.sha256(NODE_PREFIX + left + right).digest())


def _split(n: int) -> int:
    """Return k, the largest power of two smaller than n (n > 1), as in RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_nodes(start: int, end: int) -> list[NodeID]:
    """Return the perfect subtrees that tile leaves [start, end), left to right.

    The range must be one MTH(D[start:end]) of RFC 9162 proofs can name: start is a multiple
    of the smallest power of two >= end - start. The tiles are then one per set bit of
    end - start, largest first, and folding their hashes right to left gives that MTH.
    """
    size = end - start
    if start < 0 or size < 0:
        raise ValueError(f"invalid leaf range [{start}, {end})")
    if size == 0:
        return []
    if start % (1 << (size - 1).bit_length()) != 0:
        raise ValueError(f"leaf range [{start}, {end}) is not aligned to a subtree boundary")
    if size & (size - 1) == 0:  # one perfect subtree: most ranges a proof names
        level = size.bit_length() - 1
        return [(level, start >> level)]
    nodes: list[NodeID] = []
    pos = start
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            nodes.append((level, pos >> level))
            pos += 1 << level
    return nodes


def root_nodes(size: int) -> list[NodeID]:
    """Return the perfect subtrees whose hashes fold into the root of a tree of `size` leaves."""
    return subtree_nodes(0, size)


def range_hash(start: int, end: int, nodes: Mapping[NodeID, bytes]) -> NodeHash:
    """Return MTH(D[start:end]) by folding the hashes of subtree_nodes(start, end) right to left.

    `nodes` maps each needed NodeID to its hash (leaf hashes at level 0); a missing node raises
    KeyError. The empty range gives EMPTY_ROOT.
    """
    ids = subtree_nodes(start, end)
    if not ids:
        return EMPTY_ROOT
    acc = NodeHash(nodes[ids[-1]])
    for node in reversed(ids[:-1]):
        acc = hash_children(nodes[node], acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose MTHs form PATH(index, D[size]) (RFC 9162 §2.1.3.1).

    Ranges come in proof order: the sibling nearest the leaf first, the root's child last.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose MTHs form PROOF(size1, D[size2]) (RFC 9162 §2.1.4.1).

    Ranges come in proof order; equal sizes give the empty proof.
    """
    if not 0 < size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    ranges: list[tuple[int, int]] = []
    lo, hi, m, whole = 0, size2, size1, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def nodes_for(ranges: Iterable[tuple[int, int]]) -> set[NodeID]:
    """Return every stored node that range_hash needs to hash all of `ranges`."""
    return {node for start, end in ranges for node in subtree_nodes(start, end)}


def inclusion_proof(index: int, size: int, nodes: Mapping[NodeID, bytes]) -> list[NodeHash]:
    """Return PATH(index, D[size]) (RFC 9162 §2.1.3.1) from stored node hashes."""
    return [range_hash(start, end, nodes) for start, end in inclusion_ranges(index, size)]


def consistency_proof(size1: int, size2: int, nodes: Mapping[NodeID, bytes]) -> list[NodeHash]:
    """Return PROOF(size1, D[size2]) (RFC 9162 §2.1.4.1) from stored node hashes."""
    return [range_hash(start, end, nodes) for start, end in consistency_ranges(size1, size2)]


class CompactRange:
    """The right edge of a tree: the roots of its perfect subtrees, to append in O(log n).

    The frontier holds the hashes of root_nodes(size), left to right (largest subtree first).
    """

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        """Resume a tree of `size` leaves from the hashes of root_nodes(size)."""
        if size < 0:
            raise ValueError(f"negative tree size {size}")
        if len(frontier) != size.bit_count():
            raise ValueError(f"a tree of size {size} needs {size.bit_count()} frontier hashes")
        if any(len(h) != HASH_SIZE for h in frontier):
            raise ValueError(f"frontier hashes must be {HASH_SIZE} bytes")
        self._size = size
        self._frontier = [NodeHash(bytes(h)) for h in frontier]

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def frontier(self) -> list[bytes]:
        """A copy of the hashes of root_nodes(size), left to right."""
        return list(self._frontier)

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, NodeHash]]:
        """Append one leaf hash; return the new interior nodes as (level >= 1, index, hash).

        Every perfect subtree completed by this leaf is returned, lowest level first.
        """
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash)}")
        acc = NodeHash(bytes(leaf_hash))
        level, index, created = 0, self._size, []
        while self._size >> level & 1:
            acc = hash_children(self._frontier.pop(), acc)
            level, index = level + 1, index >> 1
            created.append((level, index, acc))
        self._frontier.append(acc)
        self._size += 1
        return created

    def root(self) -> NodeHash:
        """Return MTH(D[size]), or EMPTY_ROOT for an empty tree."""
        if not self._frontier:
            return EMPTY_ROOT
        acc = self._frontier[-1]
        for h in reversed(self._frontier[:-1]):
            acc = hash_children(h, acc)
        return acc


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    """Raise ProofError unless every proof hash is HASH_SIZE bytes."""
    for i, h in enumerate(proof):
        if len(h) != HASH_SIZE:
            raise ProofError(f"proof hash {i} is {len(h)} bytes, want {HASH_SIZE}")


def _decompose(index: int, size: int) -> tuple[int, int]:
    """Split PATH(index, D[size]) into (inner, border) node counts (transparency-dev/merkle)."""
    inner = (index ^ (size - 1)).bit_length()
    return inner, (index >> inner).bit_count()


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Fold in inner siblings: on the right where bit i of index is 0, else on the left."""
    for i, h in enumerate(proof):
        seed = hash_children(h, seed) if index >> i & 1 else hash_children(seed, h)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Fold in only the inner siblings that lie on the left (bit i of index is 1)."""
    for i, h in enumerate(proof):
        if index >> i & 1:
            seed = hash_children(h, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    """Fold in border siblings, each one on the left."""
    for h in proof:
        seed = hash_children(h, seed)
    return seed


def _match(expected: bytes, calculated: bytes) -> None:
    """Raise RootMismatch unless the two roots are equal."""
    if expected != calculated:
        raise RootMismatch(expected, calculated)


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `proof` shows leaf `index` of a tree of `size` leaves hashes to `root`.

    RFC 9162 §2.1.3.2 in the bit-math form of transparency-dev/merkle: the proof must hold
    exactly inner + border hashes of 32 bytes each. Raises ProofError, or RootMismatch.
    """
    if not 0 <= index < size:
        raise ProofError(f"index {index} is beyond tree size {size}")
    if len(leaf_hash) != HASH_SIZE:
        raise ProofError(f"leaf hash is {len(leaf_hash)} bytes, want {HASH_SIZE}")
    inner, border = _decompose(index, size)
    if len(proof) != inner + border:
        raise ProofError(f"wrong inclusion proof length: got {len(proof)} want {inner + border}")
    _check_proof_hashes(proof)
    calculated = _chain_inner(leaf_hash, proof[:inner], index)
    _match(root, _chain_border_right(calculated, proof[inner:]))


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that `proof` shows the tree of `size1` leaves (`root1`) is a prefix of `root2`'s.

    RFC 9162 §2.1.4.2 in the bit-math form of transparency-dev/merkle. Order matters: size1 == 0
    is refused before equal sizes are accepted, so 0 -> 0 is an error; equal sizes need an
    empty proof and equal roots. Raises ProofError, or RootMismatch.
    """
    if size1 < 0 or size2 < size1:
        raise ProofError(f"size1 {size1} > size2 {size2}" if size2 < size1 else "negative size")
    if size1 == 0:
        raise ProofError("a consistency proof from an empty tree (size1 == 0) is meaningless")
    if size1 == size2:
        if proof:
            raise ProofError(f"sizes are equal ({size1}) but the proof is not empty")
        _match(root2, root1)
        return
    if not proof:
        raise ProofError(f"empty consistency proof from size {size1} to {size2}")
    inner, border = _decompose(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    inner -= shift
    # The proof opens with MTH of the 2^shift subtree ending at size1, unless that is root1.
    seed, start = (root1, 0) if size1 == 1 << shift else (proof[0], 1)
    if len(proof) != start + inner + border:
        raise ProofError(
            f"wrong consistency proof length: got {len(proof)} want {start + inner + border}"
        )
    _check_proof_hashes(proof)
    rest = proof[start:]
    mask = (size1 - 1) >> shift
    hash1 = _chain_border_right(_chain_inner_right(seed, rest[:inner], mask), rest[inner:])
    _match(root1, hash1)
    hash2 = _chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])
    _match(root2, hash2)
