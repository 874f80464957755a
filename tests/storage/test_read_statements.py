"""Reads without a transaction: the same proofs, no transaction left open, the pool unchanged."""

from __future__ import annotations

import sqlalchemy as sa
import support

from traceability.ledger import Ledger
from traceability.log import tree_store
from traceability.storage.db import is_sqlite, read_statements, read_transaction


def test_proofs_through_the_ledger_match_a_read_transaction(ledger: Ledger) -> None:
    """Inclusion and consistency proofs served through Ledger (read_statements) are the ones a
    snapshot transaction computes, on SQLite and PostgreSQL."""
    signer = support.TestSigner()
    signer.register(ledger.engine)
    assert all(r.status == "accepted" for r in ledger.append([signer.next() for _ in range(77)]))
    with read_transaction(ledger.engine) as conn:
        inclusion = {i: tree_store.inclusion_proof(conn, i, 77) for i in range(77)}
        consistency = {m: tree_store.consistency_proof(conn, m, 77) for m in range(1, 78)}
    assert {i: ledger.inclusion_proof(i, 77) for i in range(77)} == inclusion
    assert {m: ledger.consistency_proof(m, 77) for m in range(1, 78)} == consistency


def test_no_transaction_stays_open_and_the_pool_is_left_as_it_was(ledger: Ledger) -> None:
    """On PostgreSQL a statement read this way leaves no transaction open (autocommit), and
    the pooled connection transacts as usual afterwards; on SQLite it is a read transaction."""
    engine = ledger.engine
    with read_statements(engine) as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM log_entries")).scalar_one() == 0
        driver = conn.connection.driver_connection
        if is_sqlite(engine):
            assert conn.in_transaction()
        else:
            assert driver.info.transaction_status.name == "IDLE"  # type: ignore[union-attr]
    if not is_sqlite(engine):
        with read_transaction(engine) as conn:
            conn.execute(sa.text("SELECT 1"))
            status = conn.connection.driver_connection.info.transaction_status  # type: ignore[union-attr]
            assert status.name == "INTRANS"
