"""Detecting gaps in a device's sequence numbers, and the sink that raises them as alerts.

A gap is suspected when a device's accepted `seq` jumps beyond its highest accepted seq + 1.
Envelopes may arrive out of order (several gateways, a device's outbox replaying), so a
suspected gap is checked against the log again after a grace period, and only what is
still missing then is reported to the `GapSink`.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.engine import Engine

from traceability.log.reading import highest_seq_below
from traceability.log.sequencing import SequenceGap, record_gap

log = logging.getLogger("herbtrace.gateway")

__all__ = ["AlertGapSink", "GapDetector", "GapSink", "RecordingGapSink", "SequenceGap"]


class GapSink(Protocol):
    """Where the gateway reports sequence gaps (the domain's alert store implements this)."""

    def sequence_gap(self, gap: SequenceGap) -> None: ...


class RecordingGapSink:
    """The default sink: log a warning and have the log keep the gap as evidence."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def sequence_gap(self, gap: SequenceGap) -> None:
        """Log the gap and store it."""
        log.warning(
            "device %s: sequence numbers %d-%d missing before %d",
            gap.device_id,
            gap.missing_from,
            gap.missing_to,
            gap.next_seq,
        )
        record_gap(self._engine, gap)


class AlertRaiser(Protocol):
    """The domain's alert store, as `traceability.domain.service.Domain` offers it."""

    def raise_alert(
        self,
        kind: str,
        severity: str,
        detail: str,
        *,
        subject: str | None = None,
        evidence: dict[str, str | int] | None = None,
    ) -> object: ...


class AlertGapSink:
    """Raise each gap as a `device_gap` alert (which the domain also logs), then pass it on
    to `also` (by default nothing else)."""

    def __init__(self, alerts: AlertRaiser, also: GapSink | None = None) -> None:
        self._alerts = alerts
        self._also = also

    def sequence_gap(self, gap: SequenceGap) -> None:
        """Raise the alert."""
        self._alerts.raise_alert(
            "device_gap",
            "warning",
            f"device {gap.device_id}: sequence numbers {gap.missing_from}-{gap.missing_to} "
            f"are missing before {gap.next_seq}",
            subject=gap.device_id,
            evidence={
                "device": gap.device_id,
                "missing_from": gap.missing_from,
                "missing_to": gap.missing_to,
                "next_seq": gap.next_seq,
            },
        )
        if self._also is not None:
            self._also.sequence_gap(gap)


class GapDetector:
    """Watches accepted (device, seq) pairs and reports gaps still open after `grace` s."""

    def __init__(self, engine: Engine, sink: GapSink, grace: float = 5.0) -> None:
        self._engine = engine
        self._sink = sink
        self._grace = grace
        self._head: dict[str, int] = {}
        self._due: list[tuple[float, str, int]] = []

    def observe(self, accepted: Iterable[tuple[str, int]]) -> None:
        """Note envelopes just appended; suspect a gap where a seq jumps beyond head + 1.

        The head is the device's highest accepted seq this gateway has seen; when it has seen
        none (a new device, a restart, another gateway's share) the log decides, later.
        """
        now = time.monotonic()
        for device, seq in sorted(accepted):
            head = self._head.get(device)
            if seq > (head or 0) + 1:
                heapq.heappush(self._due, (now + self._grace, device, seq))
            if head is None or seq > head:
                self._head[device] = seq

    def check_due(self, now: float | None = None) -> list[SequenceGap]:
        """Check the suspected gaps whose grace has passed; report and return those still open."""
        now = time.monotonic() if now is None else now
        found: list[SequenceGap] = []
        while self._due and self._due[0][0] <= now:
            _, device, seq = heapq.heappop(self._due)
            gap = self._open_gap(device, seq)
            if gap is not None:
                self._sink.sequence_gap(gap)
                found.append(gap)
        return found

    def pending(self) -> int:
        """Return how many suspected gaps await their check."""
        return len(self._due)

    def _open_gap(self, device: str, seq: int) -> SequenceGap | None:
        with self._engine.connect() as conn:
            below = highest_seq_below(conn, device, seq) or 0
        if below >= seq - 1:
            return None
        return SequenceGap(device, below + 1, seq - 1, seq, datetime.now(UTC))
