"""Appending signed envelopes to the log: verify, deduplicate, chain, extend the tree, commit."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Connection, Engine

from traceability.envelope import GENESIS_PREV, ParsedEnvelope, parse_envelope, verify_envelope
from traceability.errors import (
    ChainMismatch,
    Refused,
    SequenceConflict,
    TraceabilityError,
)
from traceability.keys import load_public_key
from traceability.log import merkle
from traceability.log.checkpointing import Checkpointer
from traceability.log.entry import GENESIS_LEAF_HASH, build_leaf, format_time
from traceability.log.tree_store import frontier, log_size
from traceability.signers import SignerInfo, require_signer, signers_by_id
from traceability.storage.db import write_transaction
from traceability.storage.tables import Equivocation, LogEntry, TreeNode, node_id
from traceability.types import EnvelopeHash, LeafHash

_entries = LogEntry.__table__  # type: ignore[attr-defined]
_nodes = TreeNode.__table__  # type: ignore[attr-defined]
_equivocations = Equivocation.__table__  # type: ignore[attr-defined]

Status = Literal["accepted", "duplicate", "rejected"]


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What happened to one submitted envelope; `reason` is a stable code when rejected."""

    status: Status
    envelope_hash: EnvelopeHash | None = None
    signer: str | None = None
    seq: int | None = None
    index: int | None = None
    leaf_hash: LeafHash | None = None
    reason: str | None = None
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the result as JSON data (hashes in hex)."""
        return {
            "status": self.status,
            "envelope_hash": None if self.envelope_hash is None else self.envelope_hash.hex(),
            "signer": self.signer,
            "seq": self.seq,
            "index": self.index,
            "leaf_hash": None if self.leaf_hash is None else self.leaf_hash.hex(),
            "reason": self.reason,
            "detail": self.detail,
        }


def _rejected(exc: TraceabilityError, env: ParsedEnvelope | None = None) -> AppendResult:
    reason = exc.reason if isinstance(exc, Refused) else type(exc).__name__
    return AppendResult(
        status="rejected",
        envelope_hash=None if env is None else env.envelope_hash,
        signer=None if env is None else env.payload.signer,
        seq=None if env is None else env.payload.seq,
        reason=_snake(reason),
        detail=str(exc),
    )


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch whose envelopes are parsed and signature-checked, ready to commit."""

    results: list[AppendResult | None]
    valid: list[tuple[int, ParsedEnvelope]]


@dataclass
class _SignerHead:
    """The newest sequence number and envelope hash of one signer, as the batch advances."""

    seq: int
    envelope_hash: bytes


@dataclass
class _Batch:
    """Rows a batch will insert, and each submission's result slot."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    equivocations: list[dict[str, Any]] = field(default_factory=list)


class Appender:
    """Appends envelopes in batched transactions; safe to share between threads and processes.

    One write transaction per batch holds the log's append lock, so concurrent appenders,
    in this process or another, produce one linear chain. Signatures are checked before the
    lock is taken, on `verify_threads` threads (Ed25519 verification releases the GIL).
    """

    def __init__(self, engine: Engine, checkpointer: Checkpointer, verify_threads: int = 2):
        self._engine = engine
        self._checkpointer = checkpointer
        self._threads = verify_threads
        self._pool = ThreadPoolExecutor(verify_threads, thread_name_prefix="verify")
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._lock = threading.Lock()
        self._range: merkle.CompactRange | None = None
        self._last_leaf: LeafHash = GENESIS_LEAF_HASH

    def close(self) -> None:
        """Stop the verification threads."""
        self._pool.shutdown(wait=True)

    def append(self, submissions: Sequence[bytes | dict[str, Any]]) -> list[AppendResult]:
        """Append envelopes (JSON bytes or parsed) in one transaction; one result each, in order.

        Accepted, duplicate and rejected envelopes all get a result; only a database failure
        raises, and then nothing of the batch was written.
        """
        return self.commit(self.prepare(submissions))

    def prepare(self, submissions: Sequence[bytes | dict[str, Any]]) -> Prepared:
        """Parse envelopes and check their signatures, without touching the log.

        Thread-safe, so a caller can prepare the next batch while the previous one commits.
        """
        results: list[AppendResult | None] = [None] * len(submissions)
        parsed: list[tuple[int, ParsedEnvelope]] = []
        for i, raw in enumerate(submissions):
            try:
                parsed.append((i, parse_envelope(raw)))
            except TraceabilityError as exc:
                results[i] = _rejected(exc)
        self._load_keys({env.payload.signer for _, env in parsed})
        chunks = [parsed[k :: self._threads] for k in range(self._threads)]
        valid: list[tuple[int, ParsedEnvelope]] = []
        for chunk_errors, chunk in zip(
            self._pool.map(self._check_signatures, chunks), chunks, strict=True
        ):
            for (i, env), error in zip(chunk, chunk_errors, strict=True):
                if error is None:
                    valid.append((i, env))
                else:
                    results[i] = _rejected(error, env)
        valid.sort(key=lambda item: item[0])
        return Prepared(results, valid)

    def commit(self, prepared: Prepared) -> list[AppendResult]:
        """Append prepared envelopes under the log's lock; one result per submission, in order."""
        results = list(prepared.results)
        if prepared.valid:
            with self._lock:
                for i, result in self._append_locked(prepared.valid):
                    results[i] = result
        return [r if r is not None else _rejected(Refused("not processed")) for r in results]

    def _load_keys(self, key_ids: set[str]) -> None:
        missing = key_ids - self._keys.keys()
        if not missing:
            return
        with self._engine.connect() as conn:
            for key_id, info in signers_by_id(conn, missing).items():
                self._keys[key_id] = load_public_key(info.public_key)

    def _check_signatures(
        self, chunk: list[tuple[int, ParsedEnvelope]]
    ) -> list[TraceabilityError | None]:
        errors: list[TraceabilityError | None] = []
        for _, env in chunk:
            key = self._keys.get(env.payload.signer)
            try:
                if key is None:
                    require_signer({}, env.payload.signer)
                else:
                    verify_envelope(env, key)
            except TraceabilityError as exc:
                errors.append(exc)
            else:
                errors.append(None)
        return errors

    def _append_locked(
        self, valid: list[tuple[int, ParsedEnvelope]]
    ) -> list[tuple[int, AppendResult]]:
        try:
            with write_transaction(self._engine) as conn:
                out = self._append_in(conn, valid)
        except BaseException:
            self._range = None  # the cached tree edge may be ahead of what committed
            raise
        return out

    def _append_in(
        self, conn: Connection, valid: list[tuple[int, ParsedEnvelope]]
    ) -> list[tuple[int, AppendResult]]:
        now = datetime.now(UTC)
        received = format_time(now)
        size = log_size(conn)
        if self._range is None or self._range.size != size:
            self._range = frontier(conn, size)
            self._last_leaf = _last_leaf_hash(conn, size)
        tree = self._range
        signers = signers_by_id(conn, {env.payload.signer for _, env in valid})
        known = _existing(conn, [env for _, env in valid])
        heads = _heads(conn, set(signers))
        batch = _Batch()
        out: list[tuple[int, AppendResult]] = []
        seen_in_batch: dict[bytes, AppendResult] = {}
        for i, env in valid:
            p = env.payload
            dup = seen_in_batch.get(env.envelope_hash) or known.by_hash.get(env.envelope_hash)
            if dup is not None:
                out.append((i, AppendResult(**{**_fields(dup), "status": "duplicate"})))
                continue
            try:
                require_signer(signers, p.signer).check_active(now)
                _check_sequence(conn, env, heads, known, batch, received)
            except Refused as exc:
                out.append((i, _rejected(exc, env)))
                continue
            index = tree.size
            leaf = build_leaf(index, self._last_leaf, received, env.signature, env.payload_bytes)
            leaf_hash = merkle.hash_leaf(leaf)
            for level, idx, h in tree.append(leaf_hash):
                batch.nodes.append({"node_id": node_id(level, idx), "hash": h})
            batch.entries.append(
                {
                    "idx": index,
                    "leaf": leaf,
                    "leaf_hash": leaf_hash,
                    "signer": p.signer,
                    "seq": p.seq,
                    "envelope_hash": env.envelope_hash,
                }
            )
            self._last_leaf = leaf_hash
            heads[p.signer] = (
                _SignerHead(p.seq, env.envelope_hash)
                if (p.signer not in heads or p.seq > heads[p.signer].seq)
                else heads[p.signer]
            )
            known.by_seq[(p.signer, p.seq)] = env.envelope_hash
            result = AppendResult(
                status="accepted",
                envelope_hash=env.envelope_hash,
                signer=p.signer,
                seq=p.seq,
                index=index,
                leaf_hash=leaf_hash,
            )
            seen_in_batch[env.envelope_hash] = result
            out.append((i, result))
        if batch.entries:
            conn.execute(_entries.insert(), batch.entries)
        if batch.nodes:
            conn.execute(_nodes.insert(), batch.nodes)
        if batch.equivocations:
            conn.execute(_equivocations.insert(), batch.equivocations)
        self._checkpointer.maybe_issue(conn, tree, now)
        return out


def _fields(result: AppendResult) -> dict[str, Any]:
    return {name: getattr(result, name) for name in AppendResult.__dataclass_fields__}


@dataclass
class _Known:
    """Entries already in the log that a batch collides with."""

    by_hash: dict[bytes, AppendResult]
    by_seq: dict[tuple[str, int], bytes]


def _existing(conn: Connection, envs: list[ParsedEnvelope]) -> _Known:
    hashes = [e.envelope_hash for e in envs]
    rows = conn.execute(
        sa.select(
            _entries.c.idx,
            _entries.c.leaf_hash,
            _entries.c.signer,
            _entries.c.seq,
            _entries.c.envelope_hash,
        ).where(_entries.c.envelope_hash.in_(hashes))
    )
    by_hash = {
        bytes(h): AppendResult(
            status="duplicate",
            envelope_hash=EnvelopeHash(bytes(h)),
            signer=s,
            seq=int(q),
            index=int(i),
            leaf_hash=LeafHash(bytes(lh)),
        )
        for i, lh, s, q, h in rows
    }
    by_seq: dict[tuple[str, int], bytes] = {}
    wanted: dict[str, list[int]] = {}
    for e in envs:
        wanted.setdefault(e.payload.signer, []).append(e.payload.seq)
    for signer, seqs in wanted.items():
        rows2 = conn.execute(
            sa.select(_entries.c.seq, _entries.c.envelope_hash).where(
                _entries.c.signer == signer, _entries.c.seq.in_(seqs)
            )
        )
        by_seq.update(((signer, int(q)), bytes(h)) for q, h in rows2)
    return _Known(by_hash, by_seq)


def _heads(conn: Connection, signers: set[str]) -> dict[str, _SignerHead]:
    heads: dict[str, _SignerHead] = {}
    for signer in signers:
        row = conn.execute(
            sa.select(_entries.c.seq, _entries.c.envelope_hash)
            .where(_entries.c.signer == signer)
            .order_by(_entries.c.seq.desc())
            .limit(1)
        ).first()
        if row is not None:
            heads[signer] = _SignerHead(int(row[0]), bytes(row[1]))
    return heads


def _hash_at(conn: Connection, signer: str, seq: int) -> bytes | None:
    row = conn.execute(
        sa.select(_entries.c.envelope_hash).where(
            _entries.c.signer == signer, _entries.c.seq == seq
        )
    ).first()
    return None if row is None else bytes(row[0])


def _check_sequence(
    conn: Connection,
    env: ParsedEnvelope,
    heads: dict[str, _SignerHead],
    known: _Known,
    batch: _Batch,
    received: str,
) -> None:
    """Refuse equivocation and broken signer chains; record the evidence of either."""
    p = env.payload
    holder = known.by_seq.get((p.signer, p.seq))
    if holder is not None:
        _record(
            batch,
            env,
            "equivocation",
            received,
            f"sequence {p.seq} is already held by envelope {holder.hex()}",
        )
        raise SequenceConflict(
            f"signer {p.signer} already used sequence {p.seq} for envelope {holder.hex()}"
        )
    expected_prev: bytes | None
    head = heads.get(p.signer)
    if p.seq == 1:
        expected_prev = bytes.fromhex(GENESIS_PREV)
    elif head is not None and head.seq == p.seq - 1:
        expected_prev = head.envelope_hash
    else:  # a gap or a late arrival: check whichever neighbours exist
        expected_prev = known.by_seq.get((p.signer, p.seq - 1)) or _hash_at(
            conn, p.signer, p.seq - 1
        )
        nxt = _next_prev(conn, p.signer, p.seq + 1)
        if nxt is not None and nxt != env.envelope_hash:
            _record(
                batch,
                env,
                "prev_mismatch",
                received,
                f"entry for sequence {p.seq + 1} names another predecessor",
            )
            raise ChainMismatch(f"the signer's envelope {p.seq + 1} names a different predecessor")
    if expected_prev is not None and expected_prev.hex() != p.prev:
        _record(
            batch,
            env,
            "prev_mismatch",
            received,
            f"prev {p.prev} but the signer's envelope {p.seq - 1} is {expected_prev.hex()}",
        )
        raise ChainMismatch(
            f"prev {p.prev} does not match the signer's envelope {p.seq - 1} "
            f"({expected_prev.hex()})"
        )


def _next_prev(conn: Connection, signer: str, seq: int) -> bytes | None:
    """Return the `prev` named by the signer's envelope `seq`, if it is in the log."""
    row = conn.execute(
        sa.select(_entries.c.leaf).where(_entries.c.signer == signer, _entries.c.seq == seq)
    ).first()
    if row is None:
        return None
    from traceability.log.entry import parse_leaf  # noqa: PLC0415 - rare path

    return bytes.fromhex(str(parse_leaf(bytes(row[0])).payload()["prev"]))


def _record(batch: _Batch, env: ParsedEnvelope, kind: str, received: str, reason: str) -> None:
    import json  # noqa: PLC0415 - rare path

    batch.equivocations.append(
        {
            "signer": env.payload.signer,
            "seq": env.payload.seq,
            "kind": kind,
            "existing_index": None,
            "envelope": json.dumps(env.to_json(), ensure_ascii=False).encode(),
            "reason": reason,
            "received_at": datetime.fromisoformat(received.replace("Z", "+00:00")),
        }
    )


def _last_leaf_hash(conn: Connection, size: int) -> LeafHash:
    if size == 0:
        return GENESIS_LEAF_HASH
    row = conn.execute(sa.select(_entries.c.leaf_hash).where(_entries.c.idx == size - 1)).one()
    return LeafHash(bytes(row[0]))


