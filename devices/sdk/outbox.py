"""The device's durable outbox: each event is signed, chained and on disk before it is sent.

One SQLite file in WAL mode with ``synchronous=FULL``: a committed event survives kill -9
and power loss. Tables:

- ``head`` (one row): ``signer`` (the key ID that signs), ``seq`` (the last sequence number
  assigned, 0 before the first event), ``hash`` (hex envelope hash of envelope ``seq``;
  ``GENESIS_PREV`` at 0) and ``delivered`` (how many events a receipt has settled).
- ``pending``: ``seq`` (primary key), ``envelope_hash`` (32 raw bytes, unique),
  ``envelope`` (the exact bytes published: RFC 8785 JSON of ``{"payload", "sig"}``) and
  ``recorded_at`` (Unix time). A row leaves only when a verified receipt settles it.
- ``rejected``: the same columns plus ``reason``, ``detail``, ``receipt`` (the signed
  receipt's bytes) and ``rejected_at``. Rejected events are kept for the operator, never
  dropped; `requeue` sends one again.

`record` reads the head, builds the payload with ``seq = head.seq + 1`` and
``prev = head.hash``, signs it, stores it and moves the head, all in one ``BEGIN IMMEDIATE``
transaction, so the chain stays correct across crashes and concurrent writers.

The head moves on whatever the receipts say: a rejected event keeps its sequence number and
the next event chains onto it (docs/protocol.md §2, "After a refusal"), so its number is a
gap in the log that only that same envelope, sent again by `requeue`, can fill.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.canonical import canonical_bytes
from traceability.envelope import GENESIS_PREV, parse_envelope, sign_envelope
from traceability.errors import ConfigurationError, InvalidInput
from traceability.keys import key_id_for, raw_public_key

MAX_ENVELOPE_BYTES = 65_536
"""The log's default limit (`HERBTRACE_MAX_ENVELOPE_BYTES`); larger events are refused here."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    signer TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY,
    envelope_hash BLOB NOT NULL UNIQUE,
    envelope BLOB NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    envelope_hash BLOB NOT NULL UNIQUE,
    envelope BLOB NOT NULL,
    recorded_at REAL NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT,
    receipt BLOB NOT NULL,
    rejected_at REAL NOT NULL
);
"""

EventState = Literal["unrecorded", "pending", "rejected", "delivered"]
"""Where one of the device's events stands (`Outbox.state`)."""

Settlement = Literal["delivered", "rejected", "unknown"]
"""What a receipt did: removed a pending event, moved it to `rejected`, or matched nothing."""


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    """A signed event waiting in the outbox."""

    seq: int
    envelope_hash: bytes
    envelope: bytes

    @property
    def hash_hex(self) -> str:
        return self.envelope_hash.hex()


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    """A receipt whose signature the device has checked: what it says about which event."""

    envelope_hash: bytes
    status: str
    reason: str | None
    detail: str | None
    raw: bytes


@dataclass(frozen=True, slots=True)
class RejectedEvent:
    """An event the log refused, kept with the reason and the signed receipt."""

    seq: int
    envelope_hash: bytes
    envelope: bytes
    reason: str
    detail: str | None
    receipt: bytes
    rejected_at: float


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    """The outbox at a glance: the chain head and how many events are where."""

    signer: str
    head_seq: int
    pending: int
    rejected: int
    delivered: int
    oldest_pending_seq: int | None
    oldest_pending_at: float | None

    def to_json(self) -> dict[str, Any]:
        """Return the counts as JSON data."""
        return {
            "device_id": self.signer,
            "head_seq": self.head_seq,
            "pending": self.pending,
            "rejected": self.rejected,
            "delivered": self.delivered,
            "oldest_pending_seq": self.oldest_pending_seq,
            "oldest_pending_at": self.oldest_pending_at,
        }


def rfc3339_now() -> str:
    """Return the current UTC time as RFC 3339 with milliseconds and a 'Z'."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Outbox:
    """The durable, chained queue of one device's signed events; safe to share between threads.

    `key` is needed only to `record`; without it the outbox can still be read and settled.
    """

    def __init__(
        self,
        path: Path,
        key: Ed25519PrivateKey | None = None,
        *,
        signer: str | None = None,
        max_envelope_bytes: int = MAX_ENVELOPE_BYTES,
    ) -> None:
        if key is not None:
            signer = key_id_for(raw_public_key(key))
        self._key = key
        self._max_bytes = max_envelope_bytes
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 30000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        with self._transaction() as db:
            for statement in _SCHEMA.split(";"):  # executescript would commit first
                if statement.strip():
                    db.execute(statement)
            row = db.execute("SELECT signer FROM head").fetchone()
            if row is None:
                if signer is None:
                    raise ConfigurationError(f"{path} is a new outbox: its device key is needed")
                db.execute(
                    "INSERT INTO head (id, signer, seq, hash) VALUES (1, ?, 0, ?)",
                    (signer, GENESIS_PREV),
                )
            elif signer is not None and row[0] != signer:
                raise ConfigurationError(f"{path} belongs to device {row[0]}, not to key {signer}")
        self.signer: str = signer or row[0]

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and an IMMEDIATE (write) transaction; roll back on any exception."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def record(self, body: dict[str, Any], at: str | None = None) -> QueuedEvent:
        """Sign `body` as this device's next event and store it; return the queued event.

        `at` is the event's RFC 3339 UTC time (default: now). Raises InvalidInput, and
        records nothing, if the body or time would not make a valid envelope.
        """
        return self.record_many([body], at)[0]

    def record_many(
        self, bodies: Sequence[dict[str, Any]], at: str | None = None
    ) -> list[QueuedEvent]:
        """Record several events in one transaction: all of them, or none if any is invalid."""
        if self._key is None:
            raise ConfigurationError("this outbox was opened without the device key")
        events: list[QueuedEvent] = []
        now = time.time()
        with self._transaction() as db:
            seq, prev = db.execute("SELECT seq, hash FROM head").fetchone()
            for body in bodies:
                event = self._sign(seq + 1, prev, body, at or rfc3339_now())
                db.execute(
                    "INSERT INTO pending (seq, envelope_hash, envelope, recorded_at)"
                    " VALUES (?, ?, ?, ?)",
                    (event.seq, event.envelope_hash, event.envelope, now),
                )
                seq, prev = event.seq, event.hash_hex
                events.append(event)
            db.execute("UPDATE head SET seq = ?, hash = ?", (seq, prev))
        return events

    def _sign(self, seq: int, prev: str, body: dict[str, Any], at: str) -> QueuedEvent:
        if not isinstance(body, dict):
            raise InvalidInput(f"an event body is a JSON object, not {type(body).__name__}")
        assert self._key is not None  # noqa: S101 - checked by the caller
        payload = {"v": 1, "signer": self.signer, "seq": seq, "prev": prev, "time": at}
        payload["body"] = body
        envelope = canonical_bytes(sign_envelope(self._key, payload))
        if len(envelope) > self._max_bytes:
            raise InvalidInput(
                f"the signed event is {len(envelope)} bytes; the limit is {self._max_bytes}"
            )
        parsed = parse_envelope(envelope)  # the log's own structural checks, before storing
        return QueuedEvent(seq, bytes(parsed.envelope_hash), envelope)

    def oldest(self, limit: int) -> list[QueuedEvent]:
        """Return up to `limit` pending events, lowest sequence number first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, envelope_hash, envelope FROM pending ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [QueuedEvent(r[0], bytes(r[1]), bytes(r[2])) for r in rows]

    def settle(self, receipts: Iterable[VerifiedReceipt]) -> list[Settlement]:
        """Apply verified receipts in one transaction; return what each did.

        `accepted` and `duplicate` remove the event and count it delivered; `rejected`
        moves it to the rejected table. A receipt for an event no longer pending changes
        nothing ("unknown").
        """
        results: list[Settlement] = []
        with self._transaction() as db:
            delivered = 0
            for receipt in receipts:
                row = db.execute(
                    "SELECT seq, envelope, recorded_at FROM pending WHERE envelope_hash = ?",
                    (receipt.envelope_hash,),
                ).fetchone()
                if row is None:
                    results.append("unknown")
                    continue
                seq, envelope, recorded_at = row
                db.execute("DELETE FROM pending WHERE seq = ?", (seq,))
                if receipt.status != "rejected":
                    delivered += 1
                    results.append("delivered")
                    continue
                db.execute(
                    "INSERT INTO rejected (seq, envelope_hash, envelope, recorded_at, reason,"
                    " detail, receipt, rejected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        seq,
                        receipt.envelope_hash,
                        envelope,
                        recorded_at,
                        receipt.reason or "rejected",
                        receipt.detail,
                        receipt.raw,
                        time.time(),
                    ),
                )
                results.append("rejected")
            if delivered:
                db.execute("UPDATE head SET delivered = delivered + ?", (delivered,))
        return results

    def rejected(self) -> list[RejectedEvent]:
        """Return every rejected event, lowest sequence number first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, envelope_hash, envelope, reason, detail, receipt, rejected_at"
                " FROM rejected ORDER BY seq"
            ).fetchall()
        return [
            RejectedEvent(r[0], bytes(r[1]), bytes(r[2]), r[3], r[4], bytes(r[5]), r[6])
            for r in rows
        ]

    def requeue(self, seq: int) -> QueuedEvent:
        """Move rejected event `seq` back to pending, unchanged, to be sent again."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT envelope_hash, envelope, recorded_at FROM rejected WHERE seq = ?", (seq,)
            ).fetchone()
            if row is None:
                raise InvalidInput(f"no rejected event has sequence number {seq}")
            db.execute("DELETE FROM rejected WHERE seq = ?", (seq,))
            db.execute(
                "INSERT INTO pending (seq, envelope_hash, envelope, recorded_at)"
                " VALUES (?, ?, ?, ?)",
                (seq, *row),
            )
        return QueuedEvent(seq, bytes(row[0]), bytes(row[1]))

    def state(self, seq: int) -> EventState:
        """Where event `seq` stands: not recorded yet, pending, rejected, or delivered."""
        with self._lock:
            (head,) = self._db.execute("SELECT seq FROM head").fetchone()
            if seq > head:
                return "unrecorded"
            if self._db.execute("SELECT 1 FROM pending WHERE seq = ?", (seq,)).fetchone():
                return "pending"
            if self._db.execute("SELECT 1 FROM rejected WHERE seq = ?", (seq,)).fetchone():
                return "rejected"
        return "delivered"

    def counts(self) -> OutboxCounts:
        """Return the head and the number of pending, rejected and delivered events."""
        with self._lock:
            signer, seq, delivered = self._db.execute(
                "SELECT signer, seq, delivered FROM head"
            ).fetchone()
            pending, oldest_seq, oldest_at = self._db.execute(
                "SELECT count(*), min(seq), min(recorded_at) FROM pending"
            ).fetchone()
            (rejected,) = self._db.execute("SELECT count(*) FROM rejected").fetchone()
        return OutboxCounts(signer, seq, pending, rejected, delivered, oldest_seq, oldest_at)
