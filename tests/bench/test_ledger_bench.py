"""The ledger benchmark's proof figures: the baseline proves what the cache proves, and the
rates count proofs actually served."""

from __future__ import annotations

import support

from traceability.bench.ledger import _uncached_proof, bundle_rate, ledger_proof_rate, proof_rate
from traceability.ledger import Ledger
from traceability.log import tree_store
from traceability.storage.db import read_transaction


def grown(ledger: Ledger, count: int) -> None:
    """Append `count` envelopes of one signer and sign a checkpoint of them."""
    signer = support.TestSigner()
    signer.register(ledger.engine)
    assert all(r.status == "accepted" for r in ledger.append([signer.next() for _ in range(count)]))
    ledger.checkpointer.issue(ledger.engine)


def test_the_uncached_baseline_proves_what_the_cache_proves(sqlite_ledger: Ledger) -> None:
    """The bench's uncached proof, read node by node from the database, equals the cached one."""
    grown(sqlite_ledger, 300)
    with read_transaction(sqlite_ledger.engine) as conn:
        for index in range(300):
            cached = tree_store.inclusion_proof(conn, index, 300)
            assert _uncached_proof(conn, index, 300) == cached


def test_the_rates_count_proofs_served(sqlite_ledger: Ledger) -> None:
    """Single proofs (cached, uncached, on two connections, through the Ledger) and bundles
    are served at a rate."""
    grown(sqlite_ledger, 120)
    assert proof_rate(sqlite_ledger, seconds=0.1) > 0
    assert proof_rate(sqlite_ledger, seconds=0.1, cached=False) > 0
    assert proof_rate(sqlite_ledger, seconds=0.1, connections=2) > 0
    assert bundle_rate(sqlite_ledger, seconds=0.1, per=50) > 0
    assert ledger_proof_rate(sqlite_ledger, seconds=0.1) > 0
