"""Proof bundles: many entries, each with its inclusion proof against the latest checkpoint.

A bundle lets a verifier that trusts nothing but the log's key check a set of entries in one
round trip: it verifies the checkpoint's signature, recomputes each leaf hash from the leaf
bytes, folds each RFC 9162 inclusion proof up to the checkpoint's root and checks each
envelope signature with the signer's public key (which the bundle carries from the registry).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from traceability.errors import ChainBroken, InvalidInput, NotFound
from traceability.log.checkpointing import StoredCheckpoint, latest_checkpoint_in
from traceability.log.merkle import NodeID
from traceability.log.signers import SignerInfo, require_signer, signers_by_id
from traceability.log.tree_store import fetch_nodes, inclusion_proofs
from traceability.storage import tables
from traceability.storage.db import read_transaction
from traceability.types import LeafHash, NodeHash

_entries = tables.log_entries

MAX_BUNDLE_INDICES = 500
"""Most entries one bundle may name: bounds the response and the node look-up."""

_NODES_PER_QUERY = 4_000
"""Node keys per look-up statement, well under SQLite's and PostgreSQL's parameter limits."""


@dataclass(frozen=True, slots=True)
class BundleEntry:
    """One entry of a bundle: its exact leaf, leaf hash, inclusion proof and signer."""

    index: int
    leaf: bytes
    leaf_hash: LeafHash
    proof: list[NodeHash]
    signer: SignerInfo


@dataclass(frozen=True, slots=True)
class ProofBundle:
    """Entries with inclusion proofs, all against one signed checkpoint."""

    checkpoint: StoredCheckpoint
    entries: list[BundleEntry]


def check_indices(indices: Sequence[int]) -> list[int]:
    """Return the distinct indices in first-seen order; InvalidInput if none, too many or < 0."""
    if not indices:
        raise InvalidInput("name at least one entry index")
    distinct = list(dict.fromkeys(indices))
    if len(distinct) > MAX_BUNDLE_INDICES:
        raise InvalidInput(
            f"at most {MAX_BUNDLE_INDICES} entries per bundle, got {len(distinct)} distinct indices"
        )
    negative = [i for i in distinct if i < 0]
    if negative:
        raise InvalidInput(f"entry indices must not be negative, got {negative[0]}")
    return distinct


def parse_indices(text: str) -> list[int]:
    """Parse a comma-separated list of decimal indices, e.g. ``"1,5,9"``; InvalidInput if bad."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) > MAX_BUNDLE_INDICES * 4:  # refuse absurd lists before parsing them
        raise InvalidInput(f"at most {MAX_BUNDLE_INDICES} entries per bundle")
    indices = []
    for part in parts:
        if not part.isascii() or not part.isdigit() or len(part) > 19:
            raise InvalidInput(f"indices must be comma-separated decimal numbers, got {part!r}")
        indices.append(int(part))
    return check_indices(indices)


def _fetch_all_nodes(conn: Connection, wanted: Iterable[NodeID]) -> dict[NodeID, bytes]:
    """fetch_nodes for any number of nodes, in statements of at most _NODES_PER_QUERY keys."""
    ordered = sorted(set(wanted))
    nodes: dict[NodeID, bytes] = {}
    for start in range(0, len(ordered), _NODES_PER_QUERY):
        nodes.update(fetch_nodes(conn, ordered[start : start + _NODES_PER_QUERY]))
    return nodes


def _leaves(conn: Connection, indices: Sequence[int]) -> dict[int, tuple[bytes, bytes, str]]:
    """Return {index: (leaf, leaf hash, signer key ID)} for the stored entries among `indices`."""
    rows = conn.execute(
        sa.select(_entries.c.idx, _entries.c.leaf, _entries.c.leaf_hash, _entries.c.signer).where(
            _entries.c.idx.in_(sorted(indices))
        )
    )
    return {int(r[0]): (bytes(r[1]), bytes(r[2]), str(r[3])) for r in rows}


def bundle_in(conn: Connection, indices: Sequence[int]) -> ProofBundle:
    """Build the bundle of `indices` (already checked) within an open read transaction.

    The latest checkpoint is read first; entries and tree nodes below its size never change
    (the tables are append-only), so every later read agrees with it on any isolation level.
    NotFound if the log has no checkpoint or an index is not covered by the latest one.
    """
    checkpoint = latest_checkpoint_in(conn)
    if checkpoint is None:
        raise NotFound("the log has no checkpoint yet")
    size = checkpoint.tree_size
    beyond = [i for i in indices if i >= size]
    if beyond:
        raise NotFound(
            f"entry {beyond[0]} is not covered by the latest checkpoint (tree size {size})"
        )
    leaves = _leaves(conn, indices)
    missing = [i for i in indices if i not in leaves]
    if missing:  # below a checkpointed size every entry must exist: the database is damaged
        raise ChainBroken(missing[0], "entry is missing below the latest checkpoint")
    proofs = inclusion_proofs(conn, indices, size, _fetch_all_nodes)
    signers = signers_by_id(conn, {signer for _, _, signer in leaves.values()})
    entries = []
    for i in indices:
        leaf, leaf_hash, key_id = leaves[i]
        entries.append(
            BundleEntry(
                index=i,
                leaf=leaf,
                leaf_hash=LeafHash(leaf_hash),
                proof=proofs[i],
                signer=require_signer(signers, key_id),
            )
        )
    return ProofBundle(checkpoint, entries)


def proof_bundle(engine: Engine, indices: Sequence[int]) -> ProofBundle:
    """Return entries `indices` with inclusion proofs against the latest checkpoint.

    One read transaction and three look-ups (leaves, tree nodes, signers) whatever the count.
    InvalidInput for no, too many or negative indices; NotFound as in `bundle_in`.
    """
    checked = check_indices(indices)
    with read_transaction(engine) as conn:
        return bundle_in(conn, checked)
