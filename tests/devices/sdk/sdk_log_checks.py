"""Reading a device's events back from the log: order, multiplicity and the `prev` chain."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from traceability.envelope import GENESIS_PREV, envelope_hash
from traceability.log.entry import parse_leaf


def log_seqs(engine: Engine, device_id: str) -> list[int]:
    """Return `device_id`'s sequence numbers in log order (its entries' `seq`s by index)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT seq FROM log_entries WHERE signer = :s ORDER BY idx"), {"s": device_id}
        ).all()
    return [int(r[0]) for r in rows]


def assert_complete_chain(engine: Engine, device_id: str, events: int) -> None:
    """Assert the log holds seq 1..`events` of `device_id` exactly once, each `prev` linked."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT seq, leaf FROM log_entries WHERE signer = :s ORDER BY seq"),
            {"s": device_id},
        ).all()
    seqs = [int(r[0]) for r in rows]
    assert seqs == list(range(1, events + 1)), f"{device_id}: {len(seqs)} entries, gaps or extras"
    expected_prev = GENESIS_PREV
    for seq, leaf in rows:
        payload_bytes = parse_leaf(bytes(leaf)).payload_bytes
        prev = json.loads(payload_bytes)["prev"]
        assert prev == expected_prev, f"{device_id} seq {seq}: prev does not name seq {seq - 1}"
        expected_prev = envelope_hash(payload_bytes).hex()
