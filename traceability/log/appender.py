"""Appending signed envelopes to the log: verify, deduplicate, chain, extend the tree, commit."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from traceability.envelope import ParsedEnvelope
from traceability.errors import (
    Refused,
    TraceabilityError,
    UnknownSigner,
)
from traceability.log import merkle
from traceability.log.checkpointing import Checkpointer
from traceability.log.entry import GENESIS_LEAF_HASH, build_leaf, format_time
from traceability.log.policy import EntryPolicy
from traceability.log.precheck import MAX_ENVELOPE_BYTES, Failed, Prechecker, verify_with_key
from traceability.log.reading import log_size
from traceability.log.results import AppendResult, rejected
from traceability.log.sequencing import SignerHead, check_sequence, existing, signer_heads
from traceability.log.signers import require_signer, signers_by_id
from traceability.log.tree_store import frontier
from traceability.storage import tables
from traceability.storage.db import write_rows, write_transaction
from traceability.storage.tables import node_id
from traceability.types import LeafHash

_entries = tables.log_entries
_nodes = tables.tree_nodes
_equivocations = tables.equivocations


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch whose envelopes are parsed and signature-checked, ready to commit."""

    results: list[AppendResult | None]
    valid: list[tuple[int, ParsedEnvelope]]


@dataclass
class _Batch:
    """Rows a batch will insert, and each submission's result slot."""

    entries: list[tuple[int, bytes, bytes, str, int, bytes]] = field(default_factory=list)
    nodes: list[tuple[int, bytes]] = field(default_factory=list)
    equivocations: list[dict[str, Any]] = field(default_factory=list)


class Appender:
    """Appends envelopes in batched transactions; safe to share between threads and processes.

    One write transaction per batch holds the log's append lock, so concurrent appenders,
    in this process or another, produce one linear chain. Signatures are checked before the
    lock is taken, in `verify_workers` processes.
    """

    def __init__(
        self,
        engine: Engine,
        checkpointer: Checkpointer,
        verify_workers: int = 2,
        max_envelope_bytes: int = MAX_ENVELOPE_BYTES,
        policy: EntryPolicy | None = None,
    ):
        self._engine = engine
        self._policy = policy
        self._checkpointer = checkpointer
        self._precheck = Prechecker(verify_workers, max_envelope_bytes)
        self._keys: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._range: merkle.CompactRange | None = None
        self._last_leaf: LeafHash = GENESIS_LEAF_HASH

    def start_workers(self) -> None:
        """Start the signature-checking processes ahead of the first large batch."""
        self._precheck.start()

    def close(self) -> None:
        """Stop the verification workers."""
        self._precheck.close()

    def append(self, submissions: Sequence[bytes | dict[str, Any]]) -> list[AppendResult]:
        """Append envelopes (JSON bytes or parsed) in one transaction; one result each, in order.

        Accepted, duplicate and rejected envelopes all get a result; only a database failure
        raises, and then nothing of the batch was written.
        """
        return self.commit(self.prepare(submissions))

    def prepare(self, submissions: Sequence[bytes | dict[str, Any]]) -> Prepared:
        """Parse envelopes and check their signatures (on every core), without touching the log.

        Thread-safe, so a caller can prepare the next batch while the previous one commits.
        """
        results: list[AppendResult | None] = [None] * len(submissions)
        valid: list[tuple[int, ParsedEnvelope]] = []
        late: list[tuple[int, ParsedEnvelope]] = []
        for i, outcome in enumerate(self._precheck.run(submissions, self._keys)):
            if isinstance(outcome, Failed):
                results[i] = rejected(outcome.error, outcome.envelope)
            elif outcome.verified:
                valid.append((i, outcome.envelope))
            else:
                late.append((i, outcome.envelope))
        if late:  # signers this process has not seen yet: fetch their keys and check here
            self._load_keys({env.signer for _, env in late})
            for i, env in late:
                try:
                    verify_with_key(env, self._require_key(env.signer))
                except TraceabilityError as exc:
                    results[i] = rejected(exc, env)
                else:
                    valid.append((i, env))
            valid.sort(key=lambda item: item[0])
        return Prepared(results, valid)

    def commit(self, prepared: Prepared) -> list[AppendResult]:
        """Append prepared envelopes under the log's lock; one result per submission, in order."""
        results = list(prepared.results)
        if prepared.valid:
            with self._lock:
                for i, result in self._append_locked(prepared.valid):
                    results[i] = result
        return [r if r is not None else rejected(Refused("not processed")) for r in results]

    def _load_keys(self, key_ids: set[str]) -> None:
        with self._engine.connect() as conn:
            for key_id, info in signers_by_id(conn, key_ids).items():
                self._keys[key_id] = info.public_key

    def _require_key(self, key_id: str) -> bytes:
        key = self._keys.get(key_id)
        if key is None:
            raise UnknownSigner(f"no signer has key ID {key_id}")
        return key

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
        signers = signers_by_id(conn, {env.signer for _, env in valid})
        heads = signer_heads(conn, set(signers))
        known = existing(conn, [env for _, env in valid], heads)
        if self._policy is not None:
            self._policy.begin(conn, tree.size, [env for _, env in valid])
        batch = _Batch()
        out: list[tuple[int, AppendResult]] = []
        seen_in_batch: dict[bytes, AppendResult] = {}
        for i, env in valid:
            dup = seen_in_batch.get(env.envelope_hash) or known.by_hash.get(env.envelope_hash)
            if dup is not None:
                out.append((i, replace(dup, status="duplicate")))
                continue
            try:
                signer = require_signer(signers, env.signer)
                signer.check_active(now)
                check_sequence(conn, env, heads, known, batch.equivocations, received)
                if self._policy is not None:
                    self._policy.apply(conn, tree.size, env, signer, received)
            except Refused as exc:
                out.append((i, rejected(exc, env)))
                continue
            index = tree.size
            leaf = build_leaf(index, self._last_leaf, received, env.signature, env.payload_bytes)
            leaf_hash = merkle.hash_leaf(leaf)
            for level, idx, h in tree.append(leaf_hash):
                batch.nodes.append((node_id(level, idx), h))
            batch.entries.append((index, leaf, leaf_hash, env.signer, env.seq, env.envelope_hash))
            self._last_leaf = leaf_hash
            head = heads.get(env.signer)
            if head is None or env.seq > head.seq:
                heads[env.signer] = SignerHead(env.seq, env.envelope_hash)
            known.by_seq[(env.signer, env.seq)] = env.envelope_hash
            known.prevs[(env.signer, env.seq)] = bytes.fromhex(env.prev)
            result = AppendResult(
                status="accepted",
                envelope_hash=env.envelope_hash,
                signer=env.signer,
                seq=env.seq,
                index=index,
                leaf_hash=leaf_hash,
                received=received,
            )
            seen_in_batch[env.envelope_hash] = result
            out.append((i, result))
        if self._policy is not None:
            self._policy.finish(conn)
        write_rows(
            conn,
            [
                ("log_entries", _ENTRY_COLUMNS, batch.entries),
                ("tree_nodes", ("node_id", "hash"), batch.nodes),
            ],
        )
        if batch.equivocations:
            conn.execute(_equivocations.insert(), batch.equivocations)
        self._checkpointer.maybe_issue(conn, tree, now)
        return out


_ENTRY_COLUMNS = ("idx", "leaf", "leaf_hash", "signer", "seq", "envelope_hash")


def _last_leaf_hash(conn: Connection, size: int) -> LeafHash:
    if size == 0:
        return GENESIS_LEAF_HASH
    row = conn.execute(sa.select(_entries.c.leaf_hash).where(_entries.c.idx == size - 1)).one()
    return LeafHash(bytes(row[0]))
