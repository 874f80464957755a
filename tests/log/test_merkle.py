"""RFC 9162 Merkle primitives: known answers, transparency-dev/merkle vectors and properties."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from traceability.errors import ProofError, RootMismatch
from traceability.log.merkle import (
    EMPTY_ROOT,
    CompactRange,
    NodeID,
    consistency_proof,
    consistency_ranges,
    hash_children,
    hash_leaf,
    inclusion_proof,
    inclusion_ranges,
    nodes_for,
    range_hash,
    root_nodes,
    subtree_nodes,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "merkle"
INCLUSION_FILES = sorted(VECTORS.glob("inclusion/**/*.json"))
CONSISTENCY_FILES = sorted(VECTORS.glob("consistency/**/*.json"))

# transparency-dev/merkle testonly/constants.go LeafInputs(), as hex.
REFERENCE_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
# RootHashes() of that file for sizes 1..8. Derived here with naive_mth() below, i.e.
# SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])) over SHA-256(0x00 || leaf), and they agree with
# the prefixes published in testonly/constants.go.
REFERENCE_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


# --- a naive RFC 9162 §2.1 implementation over leaf data, written straight from the text ---


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(d: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1."""
    if not d:
        return _sha256(b"")
    if len(d) == 1:
        return _sha256(b"\x00" + d[0])
    k = _k(len(d))
    return _sha256(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:]))


def naive_path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1."""
    if m == len(d):
        return [] if b else [naive_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*naive_subproof(m, d[:k], b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


def naive_proof(m: int, d: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1."""
    return naive_subproof(m, d, True)


# --- helpers ---


def build(data: list[bytes]) -> tuple[CompactRange, dict[NodeID, bytes]]:
    """Append every leaf to a CompactRange, keeping the leaf hashes and returned nodes."""
    tree = CompactRange()
    nodes: dict[NodeID, bytes] = {}
    for i, leaf in enumerate(data):
        nodes[(0, i)] = hash_leaf(leaf)
        for level, index, node in tree.append(nodes[(0, i)]):
            nodes[(level, index)] = node
    return tree, nodes


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def _id(path: Path) -> str:
    return path.relative_to(VECTORS).as_posix()


@st.composite
def leaf_data(draw: st.DrawFn, min_size: int = 1, max_size: int = 300) -> list[bytes]:
    """Distinct leaf inputs, so distinct subtrees never share a hash."""
    size = draw(st.integers(min_size, max_size))
    salt = draw(st.binary(max_size=8))
    return [salt + i.to_bytes(4, "big") for i in range(size)]


PROPERTY = settings(max_examples=150, deadline=None)


# --- known answers ---


def test_hasher_known_answers() -> None:
    """hash_leaf, hash_children and EMPTY_ROOT reproduce transparency-dev/merkle rfc6962_test.go."""
    # echo -n 004C313233343536 | xxd -r -p | sha256sum
    assert hash_leaf(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    # echo -n 014E3132334E343536 | xxd -r -p | sha256sum
    assert hash_children(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )
    # echo -n 00 | xxd -r -p | sha256sum
    assert hash_leaf(b"").hex() == REFERENCE_ROOTS[0]
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_tree_roots(size: int) -> None:
    """CompactRange and the naive MTH reproduce the testonly/constants.go root of each prefix."""
    tree, _ = build(REFERENCE_LEAVES[:size])
    assert tree.root().hex() == REFERENCE_ROOTS[size - 1]
    assert naive_mth(REFERENCE_LEAVES[:size]).hex() == REFERENCE_ROOTS[size - 1]


def test_rfc_example_ranges() -> None:
    """The ranges for the seven-leaf tree of RFC 9162 §2.1.5 name the example proofs' nodes."""
    assert inclusion_ranges(0, 7) == [(1, 2), (2, 4), (4, 7)]  # [b, h, l]
    assert inclusion_ranges(3, 7) == [(2, 3), (0, 2), (4, 7)]  # [c, g, l]
    assert inclusion_ranges(4, 7) == [(5, 6), (6, 7), (0, 4)]  # [f, j, k]
    assert consistency_ranges(3, 7) == [(2, 3), (3, 4), (0, 2), (4, 7)]  # [c, d, g, l]
    assert consistency_ranges(4, 7) == [(4, 7)]  # [l]
    assert consistency_ranges(6, 7) == [(4, 6), (6, 7), (0, 4)]  # [i, j, k]
    assert consistency_ranges(7, 7) == []


def test_subtree_decomposition() -> None:
    """subtree_nodes tiles an aligned range with one perfect subtree per set bit, largest first."""
    assert subtree_nodes(0, 0) == []
    assert subtree_nodes(5, 5) == []
    assert subtree_nodes(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert subtree_nodes(8, 13) == [(2, 2), (0, 12)]
    assert root_nodes(12) == [(3, 0), (2, 2)]
    assert nodes_for([(4, 7), (0, 2)]) == {(1, 2), (0, 6), (1, 0)}
    assert range_hash(3, 3, {}) == EMPTY_ROOT


@pytest.mark.parametrize(("start", "end"), [(1, 3), (2, 5), (4, 9), (-1, 0), (3, 2)])
def test_subtree_nodes_rejects_unaligned_ranges(start: int, end: int) -> None:
    """A range that is not an MTH range of a proof, or is negative, raises ValueError."""
    with pytest.raises(ValueError, match="range"):
        subtree_nodes(start, end)


def test_ranges_reject_bad_arguments() -> None:
    """inclusion_ranges and consistency_ranges refuse indices and sizes outside their domain."""
    for index, size in [(0, 0), (3, 3), (-1, 4)]:
        with pytest.raises(ValueError, match="not in a tree"):
            inclusion_ranges(index, size)
    for size1, size2 in [(0, 0), (0, 3), (4, 3), (-1, 2)]:
        with pytest.raises(ValueError, match="no consistency proof"):
            consistency_ranges(size1, size2)


def test_compact_range_rejects_bad_state() -> None:
    """CompactRange refuses a frontier whose length is not popcount(size), or bad hash lengths."""
    with pytest.raises(ValueError, match="frontier"):
        CompactRange(3, [EMPTY_ROOT])
    with pytest.raises(ValueError, match="frontier"):
        CompactRange(1, [b"short"])
    with pytest.raises(ValueError, match="leaf hash"):
        CompactRange().append(b"short")
    assert CompactRange().root() == EMPTY_ROOT


# --- edge cases of verification, with the messages callers see ---


def test_verify_inclusion_messages() -> None:
    """verify_inclusion names what is wrong: index beyond size, proof length, hash length, root."""
    leaf = hash_leaf(b"x")
    with pytest.raises(ProofError, match="beyond tree size"):
        verify_inclusion(3, 3, leaf, [], leaf)
    with pytest.raises(ProofError, match="got 0 want 2"):
        verify_inclusion(0, 3, leaf, [], leaf)
    with pytest.raises(ProofError, match="leaf hash is 5 bytes"):
        verify_inclusion(0, 1, b"short", [], leaf)
    with pytest.raises(ProofError, match="proof hash 0 is 0 bytes"):
        verify_inclusion(0, 2, leaf, [b""], leaf)
    with pytest.raises(RootMismatch) as caught:
        verify_inclusion(0, 1, leaf, [], EMPTY_ROOT)
    assert (caught.value.expected, caught.value.calculated) == (EMPTY_ROOT, leaf)


def test_verify_consistency_edge_case_order() -> None:
    """size1 == 0 is refused before equal sizes are accepted, so even 0 -> 0 is an error."""
    with pytest.raises(ProofError, match="size1 2 > size2 1"):
        verify_consistency(2, 1, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 1, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ProofError, match="proof is not empty"):
        verify_consistency(2, 2, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(RootMismatch):
        verify_consistency(2, 2, [], EMPTY_ROOT, hash_leaf(b""))
    with pytest.raises(ProofError, match="empty consistency proof"):
        verify_consistency(1, 2, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ProofError, match="got 2 want 1"):
        verify_consistency(1, 2, [EMPTY_ROOT, EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(5, 5, [], EMPTY_ROOT, EMPTY_ROOT)


# --- transparency-dev/merkle testdata ---


@pytest.mark.parametrize("path", INCLUSION_FILES, ids=_id)
def test_inclusion_vector(path: Path) -> None:
    """Each transparency-dev/merkle inclusion vector verifies, or raises ProofError if wantErr."""
    case = _load(path)
    args = (
        case["leafIdx"],
        case["treeSize"],
        _b64(case["leafHash"]),
        [_b64(p) for p in case["proof"] or []],
        _b64(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", CONSISTENCY_FILES, ids=_id)
def test_consistency_vector(path: Path) -> None:
    """Each transparency-dev/merkle consistency vector verifies, or raises ProofError if wantErr."""
    case = _load(path)
    args = (
        case["size1"],
        case["size2"],
        [_b64(p) for p in case["proof"] or []],
        _b64(case["root1"]),
        _b64(case["root2"]),
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_vector_counts() -> None:
    """All 98 inclusion and 98 consistency vector files were copied and are collected."""
    assert (len(INCLUSION_FILES), len(CONSISTENCY_FILES)) == (98, 98)
    assert (VECTORS / "LICENSE").is_file()


# --- properties against the naive implementation ---


@PROPERTY
@given(data=leaf_data(min_size=0))
def test_compact_range_root_is_mth(data: list[bytes]) -> None:
    """After appending n leaves, CompactRange.root() equals the naive MTH(D[n])."""
    tree, nodes = build(data)
    assert tree.size == len(data)
    assert tree.root() == naive_mth(data)
    assert range_hash(0, len(data), nodes) == naive_mth(data)


@PROPERTY
@given(data=leaf_data(), cut=st.integers(0, 300))
def test_compact_range_resumes_from_frontier(data: list[bytes], cut: int) -> None:
    """A CompactRange rebuilt from (size, frontier) continues exactly like the original."""
    cut = min(cut, len(data))
    first, _ = build(data[:cut])
    resumed = CompactRange(first.size, first.frontier)
    for leaf in data[cut:]:
        resumed.append(hash_leaf(leaf))
    assert resumed.root() == naive_mth(data)


@PROPERTY
@given(data=leaf_data())
def test_append_returns_every_completed_subtree(data: list[bytes]) -> None:
    """append returns each perfect subtree exactly once, with level >= 1 and its MTH as hash."""
    tree = CompactRange()
    seen: list[NodeID] = []
    for i, leaf in enumerate(data):
        for level, index, node in tree.append(hash_leaf(leaf)):
            assert level >= 1
            assert node == naive_mth(data[index << level : (index + 1) << level])
            assert (index + 1) << level == i + 1
            seen.append((level, index))
    n = len(data)
    expected = [(lv, ix) for lv in range(1, n.bit_length()) for ix in range(n >> lv)]
    assert sorted(seen) == sorted(expected)


@PROPERTY
@given(data=leaf_data(), pick=st.data())
def test_inclusion_proof_matches_rfc_path(data: list[bytes], pick: st.DataObject) -> None:
    """inclusion_proof from a (possibly larger) tree's nodes equals PATH and verifies."""
    _, nodes = build(data)
    size = pick.draw(st.integers(1, len(data)), label="size")
    index = pick.draw(st.integers(0, size - 1), label="index")
    needed = {node: nodes[node] for node in nodes_for(inclusion_ranges(index, size))}
    proof = inclusion_proof(index, size, needed)
    assert proof == naive_path(index, data[:size])
    verify_inclusion(index, size, hash_leaf(data[index]), proof, naive_mth(data[:size]))


@PROPERTY
@given(data=leaf_data(), pick=st.data())
def test_consistency_proof_matches_rfc_proof(data: list[bytes], pick: st.DataObject) -> None:
    """consistency_proof from a (possibly larger) tree's nodes equals PROOF and verifies."""
    _, nodes = build(data)
    size2 = pick.draw(st.integers(1, len(data)), label="size2")
    size1 = pick.draw(st.integers(1, size2), label="size1")
    needed = {node: nodes[node] for node in nodes_for(consistency_ranges(size1, size2))}
    proof = consistency_proof(size1, size2, needed)
    assert proof == naive_proof(size1, data[:size2])
    verify_consistency(size1, size2, proof, naive_mth(data[:size1]), naive_mth(data[:size2]))


def _mutate(pick: st.DataObject, proof: list[bytes], kind: str) -> list[bytes]:
    """Flip one bit of, drop one node from, or add one random node to a proof."""
    proof = list(proof)
    if kind == "flip":
        assume(proof)
        i = pick.draw(st.integers(0, len(proof) - 1), label="node")
        bit = pick.draw(st.integers(0, 255), label="bit")
        node = bytearray(proof[i])
        node[bit // 8] ^= 1 << (bit % 8)
        proof[i] = bytes(node)
    elif kind == "drop":
        assume(proof)
        del proof[pick.draw(st.integers(0, len(proof) - 1), label="node")]
    else:
        extra = pick.draw(st.binary(min_size=32, max_size=32), label="extra")
        proof.insert(pick.draw(st.integers(0, len(proof)), label="at"), extra)
    return proof


def _flip(value: bytes) -> bytes:
    """Flip the lowest bit of the first byte."""
    return bytes([value[0] ^ 1]) + value[1:]


def _extended(data: list[bytes], size: int) -> list[bytes]:
    """The first `size` leaves of `data` grown with leaves longer than any leaf_data() makes."""
    return [*data, *(b"extension" + i.to_bytes(4, "big") for i in range(size - len(data)))][:size]


def test_proofs_bind_roots_not_sizes() -> None:
    """A proof is checked against a root, not a size: the same root also passes for some other size.

    PATH(0, D[65]) and PATH(0, D[66]) have the same shape, as have PROOF(1, D[9]) and
    PROOF(1, D[10]); the verifier cannot tell a leaf hash from a node hash in the last slot. So
    callers must take the size and root together from one signed checkpoint.
    """
    data = [i.to_bytes(4, "big") for i in range(65)]
    _, nodes = build(data)
    path, root = inclusion_proof(0, 65, nodes), naive_mth(data)
    verify_inclusion(0, 66, hash_leaf(data[0]), path, root)
    proof = consistency_proof(1, 9, nodes)
    verify_consistency(1, 10, proof, naive_mth(data[:1]), naive_mth(data[:9]))


@PROPERTY
@given(
    data=leaf_data(max_size=150),
    pick=st.data(),
    kind=st.sampled_from(["flip", "drop", "add", "index", "size", "leaf", "root"]),
)
def test_mutated_inclusion_proof_is_rejected(
    data: list[bytes], pick: st.DataObject, kind: str
) -> None:
    """A flipped, dropped or added proof node, another index or size, leaf or root is refused."""
    size = len(data)
    index = pick.draw(st.integers(0, size - 1), label="index")
    _, nodes = build(data)
    proof: list[bytes] = list(inclusion_proof(index, size, nodes))
    leaf: bytes = hash_leaf(data[index])
    root = naive_mth(data)
    if kind in ("flip", "drop", "add"):
        proof = _mutate(pick, proof, kind)
    elif kind == "index":
        index = pick.draw(st.integers(-1, size + 1).filter(lambda i: i != index), label="wrong")
    elif kind == "size":
        # Claim another size with that size's genuine root (see test_proofs_bind_roots_not_sizes).
        size = pick.draw(st.integers(0, 2 * size + 1).filter(lambda s: s != size), label="wrong")
        root = naive_mth(_extended(data, size))
    elif kind == "leaf":
        leaf = _flip(leaf)
    else:
        root = _flip(root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf, proof, root)


@PROPERTY
@given(
    data=leaf_data(max_size=150),
    pick=st.data(),
    kind=st.sampled_from(["flip", "drop", "add", "size1", "size2", "root1", "root2"]),
)
def test_mutated_consistency_proof_is_rejected(
    data: list[bytes], pick: st.DataObject, kind: str
) -> None:
    """A flipped, dropped or added proof node, another size1 or size2, or root is refused."""
    size2 = len(data)
    size1 = pick.draw(st.integers(1, size2), label="size1")
    _, nodes = build(data)
    proof: list[bytes] = list(consistency_proof(size1, size2, nodes))
    root1, root2 = naive_mth(data[:size1]), naive_mth(data)
    if kind in ("flip", "drop", "add"):
        proof = _mutate(pick, proof, kind)
    elif kind == "size1":
        size1 = pick.draw(st.integers(0, size2 + 1).filter(lambda s: s != size1), label="wrong")
        root1 = naive_mth(_extended(data, size1))
    elif kind == "size2":
        size2 = pick.draw(st.integers(0, 2 * size2 + 1).filter(lambda s: s != size2), label="wrong")
        root2 = naive_mth(_extended(data, size2))
    elif kind == "root1":
        root1 = _flip(root1)
    else:
        root2 = _flip(root2)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, proof, root1, root2)
