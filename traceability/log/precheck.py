"""Parsing envelopes and checking their signatures in worker processes, on every core."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from typing import Any, NamedTuple

from traceability.envelope import ParsedEnvelope, parse_envelope, verify_envelope
from traceability.errors import InvalidInput, TraceabilityError
from traceability.keys import check_public_key
from traceability.workers import process_pool

IN_PROCESS_BELOW = 64
"""Batches smaller than this are checked in the calling process: a round trip costs more."""

MAX_ENVELOPE_BYTES = 65_536
"""Default size limit of a submitted envelope's JSON, and of its canonical payload."""


class Failed(NamedTuple):
    """An envelope that was malformed or whose signature failed; nothing else is known."""

    error: TraceabilityError
    envelope: ParsedEnvelope | None


class Outcome(NamedTuple):
    """A parsed envelope; `verified` is False when its signer's key was not supplied."""

    envelope: ParsedEnvelope
    verified: bool


_worker_keys: set[bytes] = set()
"""Raw keys this process has checked with `check_public_key`."""


def check(
    raws: Sequence[bytes | dict[str, Any]],
    keys: Mapping[str, bytes],
    max_bytes: int = MAX_ENVELOPE_BYTES,
) -> list[Outcome | Failed]:
    """Parse each envelope and verify it with its signer's key from `keys` (key ID → raw key).

    Envelope JSON, or a canonical payload, longer than `max_bytes` is refused as InvalidInput.
    """
    out: list[Outcome | Failed] = []
    for raw in raws:
        try:
            if isinstance(raw, bytes) and len(raw) > max_bytes:
                raise InvalidInput(f"envelope is {len(raw)} bytes, over the limit of {max_bytes}")
            env = parse_envelope(raw)
            if len(env.payload_bytes) > max_bytes:
                raise InvalidInput(
                    f"envelope payload is {len(env.payload_bytes)} bytes, "
                    f"over the limit of {max_bytes}"
                )
        except TraceabilityError as exc:
            out.append(Failed(exc, None))
            continue
        raw_key = keys.get(env.signer)
        if raw_key is None:
            out.append(Outcome(env, verified=False))
            continue
        try:
            verify_with_key(env, raw_key)
        except TraceabilityError as exc:
            out.append(Failed(exc, env))
        else:
            out.append(Outcome(env, verified=True))
    return out


def verify_with_key(env: ParsedEnvelope, raw_key: bytes) -> None:
    """Verify `env` with its signer's raw key, checking the key itself (`check_public_key`)
    only the first time this process sees it: a weak key an old log registered is refused."""
    if raw_key not in _worker_keys:
        check_public_key(raw_key)
        _worker_keys.add(raw_key)
    verify_envelope(env, raw_key)


class Prechecker:
    """Spreads `check` over `workers` processes (started on first use)."""

    def __init__(self, workers: int, max_bytes: int = MAX_ENVELOPE_BYTES) -> None:
        self._workers = workers
        self._max_bytes = max_bytes
        self._pool: Executor | None = None

    def start(self) -> None:
        """Start the worker processes now rather than on the first large batch."""
        if self._workers < 2:
            return
        if self._pool is None:
            self._pool = process_pool(self._workers)
        for future in [self._pool.submit(check, [], {}) for _ in range(self._workers)]:
            future.result()

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(
        self, raws: Sequence[bytes | dict[str, Any]], keys: Mapping[str, bytes]
    ) -> list[Outcome | Failed]:
        """Check `raws`, in order; large batches go to the worker processes."""
        if len(raws) < IN_PROCESS_BELOW or self._workers < 2:
            return check(raws, keys, self._max_bytes)
        if self._pool is None:
            self.start()
        assert self._pool is not None  # noqa: S101 - start() made it
        step = -(-len(raws) // self._workers)
        futures = [
            self._pool.submit(check, list(raws[k : k + step]), dict(keys), self._max_bytes)
            for k in range(0, len(raws), step)
        ]
        return [outcome for f in futures for outcome in f.result()]
