"""One batch of messages through the log: check, append, and what to answer for each.

Per message, in this order: the topic must be a device's events topic, the payload at most
`max_envelope_bytes`; then the ledger parses it and checks its signature (worker processes
for large batches); then its signer must be the topic's device; then the ledger appends
what is left in one transaction, applying the signer, sequence and domain rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from devices.gateway.connection import Incoming
from schemas.mqtt import device_of_events_topic
from traceability.errors import InvalidInput, TopicMismatch
from traceability.ingest.rejections import Rejection
from traceability.ledger import Ledger
from traceability.log.appender import Prepared
from traceability.log.reading import received_at
from traceability.log.results import AppendResult, rejected


@dataclass(frozen=True, slots=True)
class CheckedBatch:
    """Messages with the results known before appending, and the part ready to append."""

    messages: list[Incoming]
    devices: list[str | None]
    early: list[AppendResult | None]
    prepared: Prepared
    submitted: list[int]
    """The message position of each envelope in `prepared`, in order."""


def check_batch(ledger: Ledger, messages: list[Incoming], max_bytes: int) -> CheckedBatch:
    """Run every check that needs no append lock; thread-safe."""
    devices = [device_of_events_topic(m.topic) for m in messages]
    early: list[AppendResult | None] = [None] * len(messages)
    submitted: list[int] = []
    for i, (message, device) in enumerate(zip(messages, devices, strict=True)):
        if device is None:
            early[i] = rejected(InvalidInput(f"not a device events topic: {message.topic[:200]}"))
        elif len(message.payload) > max_bytes:
            size = len(message.payload)
            early[i] = rejected(
                InvalidInput(f"envelope is {size} bytes, over the limit of {max_bytes}")
            )
        else:
            submitted.append(i)
    prepared = ledger.prepare([messages[i].payload for i in submitted])
    valid = []
    for j, env in prepared.valid:
        i = submitted[j]
        if env.signer != devices[i]:
            early[i] = rejected(
                TopicMismatch(
                    f"envelope signed by {env.signer} arrived on the topic of device {devices[i]}"
                ),
                env,
            )
        else:
            valid.append((j, env))
    return CheckedBatch(messages, devices, early, Prepared(prepared.results, valid), submitted)


def commit_batch(ledger: Ledger, batch: CheckedBatch) -> list[AppendResult]:
    """Append the batch's valid envelopes; return one result per message, in order."""
    results = list(batch.early)
    for j, result in enumerate(ledger.commit(batch.prepared)):
        i = batch.submitted[j]
        if results[i] is None:
            results[i] = result
    assert all(r is not None for r in results)  # noqa: S101 - every message was submitted
    return [r for r in results if r is not None]


def received_times(ledger: Ledger, results: list[AppendResult]) -> dict[int, str]:
    """Return the time received of every entry the results name (accepted or duplicate)."""
    indices = {r.index for r in results if r.index is not None}
    if not indices:
        return {}
    with ledger.engine.connect() as conn:
        return received_at(conn, indices)


def rejection_of(
    message: Incoming, device: str | None, result: AppendResult, received_at: datetime
) -> Rejection:
    """The evidence row of a refused message."""
    return Rejection(
        received_at=received_at,
        topic=message.topic,
        device_id=device,
        reason=result.reason or "rejected",
        detail=result.detail or "",
        payload=message.payload,
        envelope_hash=result.envelope_hash,
        signer=result.signer,
        seq=result.seq,
    )


def now_utc() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)
