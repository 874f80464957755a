"""Proof bundles in the core: index parsing, limits, and proofs equal to single-entry proofs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import support

from traceability.errors import InvalidInput, NotFound
from traceability.ledger import Ledger, initialise
from traceability.log import merkle, proof_bundle
from traceability.log.checkpoint import open_checkpoint
from traceability.log.proof_bundle import (
    MAX_BUNDLE_INDICES,
    check_indices,
    parse_indices,
)
from traceability.settings import Settings

ENTRIES = MAX_BUNDLE_INDICES + 21


@pytest.fixture(name="big_ledger", scope="module")
def _big_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """A SQLite ledger of ENTRIES entries (more than one bundle may name) under a checkpoint."""
    url = f"sqlite:///{tmp_path_factory.mktemp('bundle') / 'h.db'}"
    settings = Settings(database_url=url, log_origin="test.herbtrace/log")
    initialise(settings)
    with Ledger(settings) as ledger:
        signer = support.TestSigner()
        signer.register(ledger.engine)
        assert all(
            r.status == "accepted" for r in ledger.append([signer.next() for _ in range(ENTRIES)])
        )
        ledger.checkpointer.issue(ledger.engine)
        yield ledger


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", [0]), ("1,5,9", [1, 5, 9]), (" 7 , 2,7", [7, 2]), ("00012", [12])],
)
def test_parse_indices_accepts_decimal_lists(text: str, expected: list[int]) -> None:
    """Comma-separated decimals parse, spaces trimmed, duplicates dropped in first-seen order."""
    assert parse_indices(text) == expected


@pytest.mark.parametrize("text", ["", "a", "1,", ",1", "1;2", "-3", "+3", "1e3", "٣", "1" * 20])
def test_parse_indices_refuses_anything_else(text: str) -> None:
    """Empty parts, signs, exponents, non-ASCII digits and 20-digit numbers are InvalidInput."""
    with pytest.raises(InvalidInput, match="comma-separated decimal numbers"):
        parse_indices(text)


def test_check_indices_limits() -> None:
    """No indices, negative ones or more than MAX_BUNDLE_INDICES distinct ones are refused."""
    with pytest.raises(InvalidInput, match="at least one"):
        check_indices([])
    with pytest.raises(InvalidInput, match="must not be negative"):
        check_indices([3, -1])
    with pytest.raises(InvalidInput, match=f"at most {MAX_BUNDLE_INDICES}"):
        check_indices(list(range(MAX_BUNDLE_INDICES + 1)))
    assert check_indices([4] * (MAX_BUNDLE_INDICES + 10)) == [4]  # distinct ones count


def test_full_bundle_matches_single_proofs(big_ledger: Ledger) -> None:
    """A bundle of MAX_BUNDLE_INDICES entries equals, entry by entry, the single proofs."""
    indices = list(range(ENTRIES - 1, ENTRIES - 1 - MAX_BUNDLE_INDICES, -1))
    bundle = proof_bundle.proof_bundle(big_ledger.engine, indices)
    checkpoint = open_checkpoint(bundle.checkpoint.note, big_ledger.verifier)
    assert checkpoint.size == ENTRIES
    assert [e.index for e in bundle.entries] == indices
    for entry in bundle.entries:
        leaf, leaf_hash, _ = big_ledger.entry(entry.index)
        assert (entry.leaf, entry.leaf_hash) == (leaf, leaf_hash)
        assert entry.proof == big_ledger.inclusion_proof(entry.index, ENTRIES)
        merkle.verify_inclusion(entry.index, ENTRIES, leaf_hash, entry.proof, checkpoint.root)


def test_node_look_ups_in_small_statements_give_the_same_bundle(
    big_ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Splitting the tree-node look-up into many statements changes nothing in the bundle."""
    indices = list(range(0, ENTRIES, 3))[:MAX_BUNDLE_INDICES]
    whole = proof_bundle.proof_bundle(big_ledger.engine, indices)
    monkeypatch.setattr(proof_bundle, "_NODES_PER_QUERY", 7)
    assert proof_bundle.proof_bundle(big_ledger.engine, indices) == whole


def test_entries_beyond_the_checkpoint_are_not_found(big_ledger: Ledger) -> None:
    """An index the latest checkpoint does not cover is NotFound, naming that checkpoint's size."""
    with pytest.raises(NotFound, match=f"entry {ENTRIES} is not covered .*tree size {ENTRIES}"):
        proof_bundle.proof_bundle(big_ledger.engine, [1, ENTRIES])
