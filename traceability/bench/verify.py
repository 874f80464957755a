"""`herbtrace bench verify`: Ed25519 verify rates of libsodium and OpenSSL, and herbtrace's paths.

Both libraries verify the same signed envelopes in the same run, in alternating rounds so
that a change of load on the machine touches both alike. Then each of herbtrace's
verification paths (ingest's precheck, the audit's entry check, checkpoints, receipts)
runs on one core with the verifier herbtrace uses (`traceability.signatures`), as a
fraction of that verifier's raw rate: what the path costs beyond the signature itself.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from traceability.bench.ledger import SIGNERS, sign_block, signer_key
from traceability.envelope import GENESIS_PREV, ParsedEnvelope, parse_envelope, verify_envelope
from traceability.ingest.receipts import receipt_payload, sign_receipt, verify_receipt
from traceability.keys import key_id_for, raw_public_key
from traceability.log.entry import build_leaf
from traceability.log.entry_check import SignerCheck, StoredRow, check_chunk
from traceability.log.note import NoteSigner, open_note, sign_note
from traceability.log.precheck import check
from traceability.log.results import AppendResult
from traceability.signatures import verify_signature
from traceability.types import LeafHash

LIBRARIES = ("libsodium", "OpenSSL")
RECEIVED = "2026-09-20T08:30:01.000000Z"


@dataclass
class VerifyFigures:
    """Rates measured in one run, per round (items verified per second, one core)."""

    messages: int
    raw: dict[str, list[float]] = field(default_factory=lambda: {lib: [] for lib in LIBRARIES})
    paths: dict[str, list[float]] = field(default_factory=dict)
    load: list[float] = field(default_factory=list)  # 1-minute load average, start and end

    def median(self, name: str) -> float:
        """Median rate of a library or a path."""
        return statistics.median(self.raw.get(name) or self.paths[name])


def _rate(items: int, run: Callable[[], object], seconds: float) -> float:
    """Items per second of `run` (which handles `items` items), repeated for `seconds`."""
    done, start = 0, time.perf_counter()
    while True:
        run()
        done += items
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def _openssl_all(cases: Sequence[tuple[Ed25519PublicKey, bytes, bytes]]) -> None:
    for key, signature, message in cases:
        key.verify(signature, message)


def _libsodium_all(cases: Sequence[tuple[bytes, bytes, bytes]]) -> None:
    for key, signature, message in cases:
        if not verify_signature(key, signature, message):
            raise InvalidSignature


def _envelope_all(envelopes: Sequence[tuple[ParsedEnvelope, bytes]]) -> None:
    for envelope, key in envelopes:
        verify_envelope(envelope, key)


def measure(
    messages: int, rounds: int, seconds: float, say: Callable[[str], None]
) -> VerifyFigures:
    """Sign `messages` envelopes over the bench signers, then time every verifier on them."""
    figures = VerifyFigures(messages)
    figures.load.append(os.getloadavg()[0])
    raws: list[bytes] = []
    per_signer = -(-messages // SIGNERS)
    for signer in range(SIGNERS):
        raws += sign_block(signer, 1, per_signer, GENESIS_PREV)[0]
    raws = raws[:messages]
    envelopes = [parse_envelope(raw) for raw in raws]
    public: dict[str, bytes] = {
        key_id_for(raw := raw_public_key(signer_key(i))): raw for i in range(SIGNERS)
    }
    loaded = {kid: Ed25519PublicKey.from_public_bytes(key) for kid, key in public.items()}
    openssl = [(loaded[e.signer], e.signature, e.signed_message()) for e in envelopes]
    libsodium = [(public[e.signer], e.signature, e.signed_message()) for e in envelopes]
    with_keys = [(e, public[e.signer]) for e in envelopes]

    log_key = NoteSigner("bench.herbtrace/log", signer_key(SIGNERS))
    log_public = log_key.verifier().public_key
    checkpoint = f"bench.herbtrace/log\n{messages}\n{'A' * 43}=\n"
    note = sign_note(checkpoint, [log_key])
    receipts = [
        sign_receipt(
            receipt_payload(
                AppendResult("accepted", e.envelope_hash, e.signer, e.seq, i, LeafHash(bytes(32))),
                log_key.name,
                RECEIVED,
            ),
            log_key,
        )
        for i, e in enumerate(envelopes)
    ]
    rows: list[StoredRow] = [
        (
            i,
            build_leaf(i, bytes(32), RECEIVED, e.signature, e.payload_bytes),
            None,
            None,
            None,
            None,
        )
        for i, e in enumerate(envelopes)
    ]
    checks = {
        kid: SignerCheck(key, None, "2026-01-01T00:00:00.000000Z", None)
        for kid, key in public.items()
    }

    raw_runs: dict[str, Callable[[], object]] = {
        "libsodium": lambda: _libsodium_all(libsodium),
        "OpenSSL": lambda: _openssl_all(openssl),
    }
    path_runs: dict[str, tuple[int, Callable[[], object]]] = {
        "ingest: verify_envelope": (messages, lambda: _envelope_all(with_keys)),
        "ingest: precheck (parse + verify)": (messages, lambda: check(raws, public)),
        "audit: entry check (check_chunk)": (messages, lambda: check_chunk(rows, checks)),
        "receipts: verify_receipt": (
            messages,
            lambda: [verify_receipt(r, log_public) for r in receipts],
        ),
        "checkpoints: open_note": (1, lambda: open_note(note, [log_key.verifier()])),
    }
    for name in path_runs:
        figures.paths[name] = []
    for n in range(rounds):
        for lib, run in raw_runs.items():
            figures.raw[lib].append(_rate(messages, run, seconds))
        for name, (items, run) in path_runs.items():
            figures.paths[name].append(_rate(items, run, seconds))
        say(
            f"round {n + 1}/{rounds}: libsodium {figures.raw['libsodium'][-1]:,.0f}/s, "
            f"OpenSSL {figures.raw['OpenSSL'][-1]:,.0f}/s (load average {os.getloadavg()[0]:.2f})"
        )
    figures.load.append(os.getloadavg()[0])
    return figures
