"""Refused messages (MQTT and HTTP), kept within a budget per sender as evidence for regulators.

Each sender (the topic's device over MQTT, the envelope's signer over HTTP) has a budget:
its first `RefusalBudget.count` refusals, up to `RefusalBudget.bytes` bytes of payload, are
kept in full (payload capped at MAX_STORED_PAYLOAD bytes, detail at MAX_DETAIL characters).
Beyond either, a refusal keeps only when it came, where, why (`reason`), its length and its
hash: `envelope_hash` when it was an envelope, else SHA-256 of its bytes. A broken or
hostile device therefore cannot fill the disk with what it sends; how fast it may add those
summary rows is the rate limiters' part (`traceability/throttle.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from traceability.settings import Settings
from traceability.storage import tables
from traceability.storage.db import WRITE

_rejected = tables.rejected_messages

MAX_STORED_PAYLOAD = 65_536
"""Bytes of a refused message kept; `payload_size` records how long it really was."""
MAX_TOPIC = 512
MAX_DETAIL = 2_000


@dataclass(frozen=True, slots=True)
class RefusalBudget:
    """What is kept in full of one sender's refusals: at most `count` rows and `bytes`."""

    count: int
    bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> RefusalBudget:
        """The budget HERBTRACE_REFUSALS_KEPT_PER_SIGNER and _REFUSAL_BYTES_PER_SIGNER set."""
        return cls(settings.refusals_kept_per_signer, settings.refusal_bytes_per_signer)


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


def record_rejections(
    engine: Engine, rejections: Sequence[Rejection], budget: RefusalBudget | None = None
) -> None:
    """Store refused messages in one transaction, payloads capped at MAX_STORED_PAYLOAD bytes;
    past a sender's `budget`, only their time, place, reason, length and hash."""
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
    with engine.connect() as raw:
        # The budget is read, then spent: on SQLite take the write lock first (BEGIN
        # IMMEDIATE), so the read never sits on a snapshot another writer made stale.
        conn = raw.execution_options(**{WRITE: True}) if budget is not None else raw
        with conn.begin():
            if budget is not None:
                _spend(conn, rows, [r.payload for r in rejections], budget)
            conn.execute(_rejected.insert(), rows)


def _spend(
    conn: Connection, rows: list[dict[str, Any]], payloads: list[bytes], budget: RefusalBudget
) -> None:
    """Cut the rows of senders past their budget down to a summary, in place."""
    used: dict[str | None, tuple[int, int]] = {}
    stored = sa.func.length(_rejected.c.payload)
    for row, whole in zip(rows, payloads, strict=True):
        sender = row["device_id"]
        if sender not in used:
            column = _rejected.c.device_id
            which = column.is_(None) if sender is None else column == sender
            query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(stored), 0))
            count, size = conn.execute(query.where(which, stored > 0)).one()
            used[sender] = (int(count), int(size))
        count, size = used[sender]
        payload: bytes = row["payload"]
        if count < budget.count and size + len(payload) <= budget.bytes:
            used[sender] = (count + (1 if payload else 0), size + len(payload))
            continue
        if row["envelope_hash"] is None:
            row["envelope_hash"] = hashlib.sha256(whole).digest()
        row["payload"] = b""
        row["detail"] = ""


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
