"""Messages the ingest gateway refused, kept (capped) as evidence for regulators."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from traceability.storage.tables import RejectedMessage

_rejected = RejectedMessage.__table__  # type: ignore[attr-defined]

MAX_STORED_PAYLOAD = 65_536
"""Bytes of a refused message kept; `payload_size` records how long it really was."""
MAX_TOPIC = 512
MAX_DETAIL = 2_000


@dataclass(frozen=True, slots=True)
class Rejection:
    """One refused message: where and when it came, why it was refused, and its bytes."""

    received_at: datetime
    topic: str
    reason: str
    detail: str
    payload: bytes
    device_id: str | None = None
    envelope_hash: bytes | None = None
    signer: str | None = None
    seq: int | None = None
    payload_size: int | None = None
    """The message's full length; `payload` may hold only its first MAX_STORED_PAYLOAD bytes."""
    id: int | None = None


def record_rejections(engine: Engine, rejections: Sequence[Rejection]) -> None:
    """Store refused messages in one transaction, payloads capped at MAX_STORED_PAYLOAD bytes."""
    if not rejections:
        return
    rows = [
        {
            "received_at": r.received_at,
            "topic": _text(r.topic)[:MAX_TOPIC],
            "device_id": r.device_id,
            "envelope_hash": r.envelope_hash,
            "signer": r.signer,
            "seq": r.seq,
            "reason": _text(r.reason)[:64],
            "detail": _text(r.detail)[:MAX_DETAIL],
            "payload": r.payload[:MAX_STORED_PAYLOAD],
            "payload_size": len(r.payload) if r.payload_size is None else r.payload_size,
        }
        for r in rejections
    ]
    with engine.begin() as conn:
        conn.execute(_rejected.insert(), rows)


def list_rejections(
    engine: Engine,
    *,
    device_id: str | None = None,
    reason: str | None = None,
    after_id: int = 0,
    limit: int = 1000,
) -> list[Rejection]:
    """Return stored rejections, oldest first, optionally of one device or reason."""
    query = sa.select(_rejected).where(_rejected.c.id > after_id)
    if device_id is not None:
        query = query.where(_rejected.c.device_id == device_id)
    if reason is not None:
        query = query.where(_rejected.c.reason == reason)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(_rejected.c.id).limit(limit)).all()
    return [_rejection(row._mapping) for row in rows]


def count_rejections(engine: Engine) -> int:
    """Return how many refused messages are stored."""
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(_rejected)).scalar_one())


def _rejection(m: sa.RowMapping) -> Rejection:
    received = m["received_at"]
    return Rejection(
        id=int(m["id"]),
        received_at=received if received.tzinfo else received.replace(tzinfo=UTC),
        topic=m["topic"],
        device_id=m["device_id"],
        envelope_hash=None if m["envelope_hash"] is None else bytes(m["envelope_hash"]),
        signer=m["signer"],
        seq=m["seq"],
        reason=m["reason"],
        detail=m["detail"],
        payload=bytes(m["payload"]),
        payload_size=int(m["payload_size"]),
    )


def _text(value: str) -> str:
    """Drop what a database text column cannot hold: lone surrogates and NUL characters."""
    return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
