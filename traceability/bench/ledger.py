"""`herbtrace bench ledger`: append rate as the log grows, proof rate, and audit rate.

Every figure is printed beside the baseline measured in the same run: this machine's raw
Ed25519 verify rate with herbtrace's verifier, single-threaded, times its cores.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from traceability.canonical import canonical_bytes
from traceability.envelope import GENESIS_PREV, SIGNING_PREFIX, envelope_hash, sign_envelope
from traceability.keys import key_id_for, raw_public_key
from traceability.ledger import Ledger
from traceability.log import merkle
from traceability.log.audit import Auditor
from traceability.log.audit_sources import DatabaseSource
from traceability.log.proof_bundle import MAX_BUNDLE_INDICES, proof_bundle
from traceability.log.signers import register_signer
from traceability.log.tree_store import fetch_nodes, inclusion_proof
from traceability.signatures import verify_signature
from traceability.storage.db import read_transaction
from traceability.types import NodeHash
from traceability.workers import process_pool

SIGNERS = 8
BLOCK = 10_000


def _seed(i: int) -> bytes:
    return i.to_bytes(4, "big") * 8


def _body(seq: int) -> dict[str, object]:
    return {
        "type": "harvest",
        "batch": f"FS-RS-2026-{seq:07d}",
        "herb": "人参",
        "site": "吉林省白山市抚松县",
        "growing_years": 6,
        "quantity": {"value": f"{100 + seq % 900}.500", "unit": "kg"},
    }


def signer_key(signer: int) -> Ed25519PrivateKey:
    """Return bench signer `signer`'s key (the same in every run)."""
    return Ed25519PrivateKey.from_private_bytes(_seed(signer))


def sign_block(signer: int, first_seq: int, count: int, prev: str) -> tuple[list[bytes], str]:
    """Sign `count` envelopes of one bench signer from `first_seq`; return them, the last hash."""
    key = signer_key(signer)
    kid = key_id_for(raw_public_key(key))
    out = []
    for seq in range(first_seq, first_seq + count):
        payload = {
            "v": 1,
            "signer": kid,
            "seq": seq,
            "prev": prev,
            "time": "2026-09-20T08:30:00Z",
            "body": _body(seq),
        }
        out.append(json.dumps(sign_envelope(key, payload), ensure_ascii=False).encode())
        prev = envelope_hash(canonical_bytes(payload)).hex()
    return out, prev


def raw_verify_rate(seconds: float = 2.0) -> float:
    """Measure single-threaded Ed25519 verifications per second of a typical envelope.

    With herbtrace's verifier (`traceability.signatures`), so that every rate is compared
    with the verify rate of the library it really uses.
    """
    key = Ed25519PrivateKey.generate()
    payload = {
        "v": 1,
        "signer": "0" * 32,
        "seq": 1,
        "prev": GENESIS_PREV,
        "time": "2026-09-20T08:30:00Z",
        "body": _body(1),
    }
    message = SIGNING_PREFIX + canonical_bytes(payload)
    signature, public = key.sign(message), raw_public_key(key)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(200):
            verify_signature(public, signature, message)
        count += 200
    return count / (time.perf_counter() - start)


@dataclass
class LedgerFigures:
    """What one backend measured."""

    backend: str
    entries: int = 0
    append_rates: list[tuple[int, float]] = field(default_factory=list)  # (log size, entries/s)
    append_load: list[float] = field(default_factory=list)  # 1-minute load average per block
    proof_rates: list[float] = field(default_factory=list)  # one connection
    proof_rates_parallel: list[float] = field(default_factory=list)  # one per core
    proof_rates_uncached: list[float] = field(default_factory=list)  # one connection, no cache
    bundle_rates: list[float] = field(default_factory=list)  # proofs/s in bundles of 500
    api_proof_rates: list[float] = field(default_factory=list)  # Ledger.inclusion_proof
    audit_rate: float = 0.0
    audit_ok: bool = False
    raw_verify: list[float] = field(default_factory=list)
    load: dict[str, float] = field(default_factory=dict)  # 1-minute load average by phase

    def rate_near(self, size: int) -> float:
        """Median append rate of the (up to) three blocks ending nearest to `size`."""
        ordered = sorted(self.append_rates, key=lambda r: abs(r[0] - size))[:3]
        return statistics.median(rate for _, rate in ordered)


class EnvelopeSource:
    """Signs envelopes for several signers in worker processes, BLOCK at a time."""

    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self._pool = pool
        self._seq = [1] * SIGNERS
        self._prev = [GENESIS_PREV] * SIGNERS

    @staticmethod
    def register(ledger: Ledger) -> None:
        """Register the bench signers."""
        for i in range(SIGNERS):
            key = Ed25519PrivateKey.from_private_bytes(_seed(i))
            register_signer(
                ledger.engine,
                public_key=raw_public_key(key),
                name=f"bench {i}",
                organisation="herbtrace bench",
                role="device",
            )

    def blocks(self, total: int) -> Iterator[list[bytes]]:
        """Yield blocks of signed envelopes, the signers interleaved, each one's in order."""
        made = 0
        while made < total:
            per = -(-min(BLOCK, total - made) // SIGNERS)
            futures = [
                self._pool.submit(sign_block, i, self._seq[i], per, self._prev[i])
                for i in range(SIGNERS)
            ]
            streams: list[list[bytes]] = []
            for i, f in enumerate(futures):
                envs, self._prev[i] = f.result()
                self._seq[i] += per
                streams.append(envs)
            block = [env for group in zip(*streams, strict=True) for env in group]
            made += len(block)
            yield block


def measure(
    ledger: Ledger, backend: str, entries: int, say: Callable[[str], None]
) -> LedgerFigures:
    """Grow the log to `entries`, timing appends per block, then time proofs and the audit."""
    figures = LedgerFigures(backend)
    cores = os.cpu_count() or 1
    figures.load["start"] = os.getloadavg()[0]
    figures.raw_verify.append(raw_verify_rate())
    EnvelopeSource.register(ledger)
    ledger.start_workers()
    with process_pool(cores) as pool:
        for block in EnvelopeSource(pool).blocks(entries):
            start = time.perf_counter()
            results = ledger.append(block)
            rate = len(block) / (time.perf_counter() - start)
            refused = [r for r in results if r.status != "accepted"]
            if refused:
                raise RuntimeError(f"bench envelope refused: {refused[0]}")
            figures.entries += len(block)
            figures.append_rates.append((figures.entries, rate))
            figures.append_load.append(load := os.getloadavg()[0])
            say(
                f"{backend}: {figures.entries:>9,} entries, appending at {rate:,.0f}/s "
                f"(load average {load:.2f})"
            )
    ledger.checkpointer.issue(ledger.engine)
    figures.raw_verify.append(raw_verify_rate())
    figures.load["proofs"] = os.getloadavg()[0]
    for _ in range(3):
        figures.proof_rates_uncached.append(proof_rate(ledger, cached=False))
        figures.proof_rates.append(proof_rate(ledger))
        figures.proof_rates_parallel.append(proof_rate(ledger, connections=cores))
        figures.bundle_rates.append(bundle_rate(ledger))
        figures.api_proof_rates.append(ledger_proof_rate(ledger))
    say(f"{backend}: inclusion proofs {statistics.median(figures.proof_rates):,.0f}/s")
    figures.load["audit"] = os.getloadavg()[0]
    report = Auditor(ledger.verifier, cores).run(DatabaseSource(ledger.engine))
    figures.audit_rate, figures.audit_ok = report.entries / report.seconds, report.ok
    figures.raw_verify.append(raw_verify_rate())
    figures.load["end"] = os.getloadavg()[0]
    say(f"{backend}: audit {figures.audit_rate:,.0f} entries/s, ok={report.ok}")
    return figures


def _uncached_proof(conn: Connection, index: int, size: int) -> list[NodeHash]:
    """An inclusion proof with every node read from the database: the cache's baseline."""
    nodes = fetch_nodes(conn, merkle.nodes_for(merkle.inclusion_ranges(index, size)))
    return merkle.inclusion_proof(index, size, nodes)


def proof_rate(
    ledger: Ledger, seconds: float = 3.0, connections: int = 1, cached: bool = True
) -> float:
    """Serve inclusion proofs for random entries against the log's full size.

    Each of `connections` threads proves on its own database connection, as a server's
    workers would; the rate is their total. Without `cached`, every node comes from the
    database, as before the node cache.
    """
    size = ledger.size()
    counts = [0] * connections

    def serve(slot: int) -> None:
        rng = random.Random(slot)  # noqa: S311 - picks entries to prove, not secrets
        with read_transaction(ledger.engine) as conn:
            start = time.perf_counter()
            while time.perf_counter() - start < seconds:
                for _ in range(100):
                    if cached:
                        inclusion_proof(conn, rng.randrange(size), size, size)
                    else:
                        _uncached_proof(conn, rng.randrange(size), size)
                counts[slot] += 100

    start = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(serve, range(connections)))
    return sum(counts) / (time.perf_counter() - start)


def ledger_proof_rate(ledger: Ledger, seconds: float = 3.0) -> float:
    """Serve inclusion proofs as `GET /v1/log/proof/inclusion` does, through
    `Ledger.inclusion_proof`: a pooled connection checked out (and pinged) per proof."""
    size = ledger.size()
    rng = random.Random(size)  # noqa: S311 - picks entries to prove, not secrets
    proofs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            ledger.inclusion_proof(rng.randrange(size), size)
        proofs += 100
    return proofs / (time.perf_counter() - start)


def bundle_rate(ledger: Ledger, seconds: float = 3.0, per: int = MAX_BUNDLE_INDICES) -> float:
    """Serve proof bundles of `per` random entries, as the consumer and regulator pages fetch
    them: each a read transaction with the leaves, their proofs against the latest checkpoint
    and their signers. Returns proofs per second on one connection."""
    size = ledger.latest_checkpoint().tree_size
    rng = random.Random(per)  # noqa: S311 - picks entries to prove, not secrets
    proofs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        proofs += len(proof_bundle(ledger.engine, rng.sample(range(size), min(per, size))).entries)
    return proofs / (time.perf_counter() - start)
