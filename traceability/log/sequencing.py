"""The per-signer chain rules: duplicates, equivocation, `prev` links, and sequence gaps.

The rules apply at append time. What breaks them is kept as evidence for regulators: an
equivocating or mis-chained envelope in `equivocations` (by the appender), a signer's
missing sequence numbers in `sequence_gaps` (`record_gap`, once a gateway has waited for
late arrivals).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from traceability.envelope import GENESIS_PREV, ParsedEnvelope
from traceability.errors import ChainMismatch, Refused, SequenceConflict
from traceability.log.entry import parse_leaf
from traceability.log.results import AppendResult
from traceability.storage import tables
from traceability.storage.db import driver_rows, driver_rows_many, marks
from traceability.types import EnvelopeHash, LeafHash

_entries = tables.log_entries
_gaps = tables.sequence_gaps


@dataclass
class SignerHead:
    """The newest sequence number and envelope hash of one signer, as the batch advances."""

    seq: int
    envelope_hash: bytes


@dataclass
class Known:
    """Entries already in the log that a batch collides with."""

    by_hash: dict[bytes, AppendResult]
    by_seq: dict[tuple[str, int], bytes]
    prevs: dict[tuple[str, int], bytes] = field(default_factory=dict)
    """The `prev` each envelope accepted earlier in the batch names (not yet in the log)."""


def existing(conn: Connection, envs: list[ParsedEnvelope], heads: dict[str, SignerHead]) -> Known:
    """Find the log entries a batch collides with: same envelope, or same (signer, seq).

    The same envelope necessarily holds the same (signer, seq), so one indexed look-up finds
    both; and an envelope beyond its signer's newest sequence number can collide with nothing,
    so in the usual in-order flow this asks the database nothing at all. A duplicate's result
    names the original entry: its index, leaf hash and time received.
    """
    behind = [e for e in envs if e.signer in heads and e.seq <= heads[e.signer].seq]
    by_hash: dict[bytes, AppendResult] = {}
    by_seq: dict[tuple[str, int], bytes] = {}
    wanted: dict[str, list[int]] = {}
    for e in behind:
        wanted.setdefault(e.signer, []).append(e.seq)
    for signer, seqs in wanted.items():
        rows = driver_rows(
            conn,
            "SELECT idx, leaf_hash, seq, envelope_hash, leaf FROM log_entries "  # noqa: S608
            f"WHERE signer = {{m}} AND seq IN ({marks(len(seqs))})",
            [signer, *seqs],
        )
        for i, lh, q, h, leaf in rows:
            by_seq[(signer, int(q))] = bytes(h)
            by_hash[bytes(h)] = AppendResult(
                status="duplicate",
                envelope_hash=EnvelopeHash(bytes(h)),
                signer=signer,
                seq=int(q),
                index=int(i),
                leaf_hash=LeafHash(bytes(lh)),
                received=parse_leaf(bytes(leaf)).received,
            )
    return Known(by_hash, by_seq)


def signer_heads(conn: Connection, signers: set[str]) -> dict[str, SignerHead]:
    """Return each signer's newest (highest) sequence number in the log and its envelope hash.

    One indexed look-up per signer.
    """
    ordered = sorted(signers)
    sql = "SELECT seq, envelope_hash FROM log_entries WHERE signer = {m} ORDER BY seq DESC LIMIT 1"
    found = driver_rows_many(conn, [(sql, [signer]) for signer in ordered])
    return {
        signer: SignerHead(int(rows[0][0]), bytes(rows[0][1]))
        for signer, rows in zip(ordered, found, strict=True)
        if rows
    }


def _hash_at(conn: Connection, signer: str, seq: int) -> bytes | None:
    row = conn.execute(
        sa.select(_entries.c.envelope_hash).where(
            _entries.c.signer == signer, _entries.c.seq == seq
        )
    ).first()
    return None if row is None else bytes(row[0])


def check_sequence(
    conn: Connection,
    env: ParsedEnvelope,
    heads: dict[str, SignerHead],
    known: Known,
    evidence: list[dict[str, Any]],
    received: str,
) -> None:
    """Refuse equivocation and broken signer chains, recording the evidence of either."""
    holder = known.by_seq.get((env.signer, env.seq))
    if holder is not None:
        _refuse(
            evidence,
            env,
            received,
            SequenceConflict(
                f"signer {env.signer} already used sequence {env.seq} for envelope {holder.hex()}"
            ),
        )
    head = heads.get(env.signer)
    expected_prev: bytes | None
    if env.seq == 1:
        expected_prev = bytes.fromhex(GENESIS_PREV)
    elif head is not None and head.seq == env.seq - 1:  # the usual case: the next in order
        expected_prev = head.envelope_hash
    else:  # a gap or a late arrival: check whichever neighbours are in the log
        expected_prev = known.by_seq.get((env.signer, env.seq - 1)) or _hash_at(
            conn, env.signer, env.seq - 1
        )
        successor_prev = known.prevs.get((env.signer, env.seq + 1)) or _next_prev(
            conn, env.signer, env.seq + 1
        )
        if successor_prev is not None and successor_prev != env.envelope_hash:
            _refuse(
                evidence,
                env,
                received,
                ChainMismatch(f"the signer's envelope {env.seq + 1} names a different predecessor"),
            )
    if expected_prev is not None and expected_prev.hex() != env.prev:
        _refuse(
            evidence,
            env,
            received,
            ChainMismatch(
                f"prev {env.prev} does not match the signer's envelope {env.seq - 1} "
                f"({expected_prev.hex()})"
            ),
        )


def _next_prev(conn: Connection, signer: str, seq: int) -> bytes | None:
    """Return the `prev` named by the signer's envelope `seq`, if it is in the log."""
    row = conn.execute(
        sa.select(_entries.c.leaf).where(_entries.c.signer == signer, _entries.c.seq == seq)
    ).first()
    if row is None:
        return None
    return bytes.fromhex(str(parse_leaf(bytes(row[0])).payload()["prev"]))


def _refuse(
    evidence: list[dict[str, Any]], env: ParsedEnvelope, received: str, error: Refused
) -> NoReturn:
    """Keep the refused envelope as evidence for regulators, then raise `error`."""
    evidence.append(
        {
            "signer": env.signer,
            "seq": env.seq,
            "kind": error.reason,
            "existing_index": None,
            "envelope": json.dumps(env.to_json(), ensure_ascii=False).encode(),
            "reason": str(error),
            "received_at": datetime.fromisoformat(received.replace("Z", "+00:00")),
        }
    )
    raise error


def last_received(conn: Connection, key_id: str) -> datetime | None:
    """When the log received the signer's latest entry (its `received` line), or None."""
    row = conn.execute(
        sa.select(_entries.c.leaf)
        .where(_entries.c.signer == key_id)
        .order_by(_entries.c.idx.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    received = parse_leaf(bytes(row[0])).received
    return datetime.fromisoformat(received.replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True)
class SequenceGap:
    """Sequence numbers `missing_from`..`missing_to` of a device are not in the log, although
    its envelope `next_seq` is."""

    device_id: str
    missing_from: int
    missing_to: int
    next_seq: int
    detected_at: datetime


def record_gap(engine: Engine, gap: SequenceGap) -> None:
    """Keep a sequence gap in the `sequence_gaps` table."""
    with engine.begin() as conn:
        conn.execute(
            _gaps.insert().values(
                device_id=gap.device_id,
                missing_from=gap.missing_from,
                missing_to=gap.missing_to,
                next_seq=gap.next_seq,
                detected_at=gap.detected_at,
            )
        )
