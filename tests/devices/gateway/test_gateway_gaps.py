"""Sequence gaps: detected after accepted envelopes skip a seq, alerted once grace has passed."""

from __future__ import annotations

import time

import sqlalchemy as sa
import support
from ingest_helpers import Ingest

from devices.gateway import SequenceGap
from devices.gateway.gaps import GapDetector
from traceability.canonical import canonical_bytes
from traceability.ingest.receipts import verify_receipt
from traceability.ledger import Ledger


class ListSink:
    """A gap sink that keeps what it is told."""

    def __init__(self) -> None:
        self.gaps: list[SequenceGap] = []

    def sequence_gap(self, gap: SequenceGap) -> None:
        self.gaps.append(gap)


def stored_gaps(ingest: Ingest) -> list[tuple[str, int, int, int]]:
    """The rows of the sequence_gaps table."""
    with ingest.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT device_id, missing_from, missing_to, next_seq FROM sequence_gaps")
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_gateway_records_a_gap_that_stays_open(ingest: Ingest) -> None:
    """seq 1 then seq 4 accepted: after the grace period the gap 2-3 is stored as an alert."""
    device = ingest.device()
    envelopes = [canonical_bytes(device.signer.next()) for _ in range(4)]
    for data in (envelopes[0], envelopes[3]):
        device.publish(data)
        assert verify_receipt(device.receipt(), ingest.verifier.public_key).status == "accepted"
    deadline = time.monotonic() + 10
    while not stored_gaps(ingest):
        assert time.monotonic() < deadline, "no gap recorded"
        time.sleep(0.1)
    assert stored_gaps(ingest) == [(device.device_id, 2, 3, 4)]


def test_gap_filled_within_grace_is_not_alerted(sqlite_ledger: Ledger) -> None:
    """A late envelope that fills the gap before the grace period ends raises no alert,
    while a gap still open when checked is reported with its exact range."""
    signer = support.TestSigner()
    signer.register(sqlite_ledger.engine)
    envelopes = [signer.next() for _ in range(6)]
    sink = ListSink()
    detector = GapDetector(sqlite_ledger.engine, sink, grace=60)
    for group in ([envelopes[0]], [envelopes[2]], [envelopes[1]], [envelopes[5]]):
        results = sqlite_ledger.append(group)
        detector.observe([(r.signer, r.seq) for r in results if r.signer and r.seq])
    assert detector.pending() == 2
    assert detector.check_due(time.monotonic()) == []
    found = detector.check_due(time.monotonic() + 61)
    assert [(g.device_id, g.missing_from, g.missing_to, g.next_seq) for g in found] == [
        (signer.key_id, 4, 5, 6)
    ]
    assert sink.gaps == found
    assert detector.pending() == 0


def test_in_order_envelopes_raise_no_suspicion(sqlite_ledger: Ledger) -> None:
    """Consecutive envelopes, in one batch or across batches, leave nothing to check."""
    signer = support.TestSigner()
    signer.register(sqlite_ledger.engine)
    detector = GapDetector(sqlite_ledger.engine, ListSink(), grace=0)
    for size in (3, 1, 4):
        results = sqlite_ledger.append([signer.next() for _ in range(size)])
        detector.observe([(r.signer, r.seq) for r in results if r.signer and r.seq])
    assert detector.pending() == 0
