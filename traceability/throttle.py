"""Token buckets keyed by a client, account or device: the one rate limiter of herbtrace.

Each key owns a bucket of `burst` tokens that refills at `rate` tokens a second; an action
takes one token, or is refused with the seconds until a token is back.

The HTTP API limits anonymous callers per address, authenticated writes per account and per
signing device, and failed authentications per address with it (`api/ratelimit.py`); the
ingest gateway limits the refusals it keeps per device.

Buckets live in one process. At most `max_clients` buckets are kept, least recently used
dropped first, so a flood of keys cannot exhaust memory: a dropped key simply starts again
with a full bucket.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBuckets:
    """Token buckets keyed by client; thread-safe."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1 or max_clients < 1:
            raise ValueError("rate must be positive, burst and max_clients at least 1")
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def take(self, client: str) -> float:
        """Take one token from `client`'s bucket: 0.0 if granted, else seconds to wait."""
        return self._visit(client, take=True)

    def wait(self, client: str) -> float:
        """Seconds until `client` has a token (0.0 if it has one now), taking none."""
        return self._visit(client, take=False)

    def _visit(self, client: str, *, take: bool) -> float:
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
            self._buckets[client] = (tokens - 1.0 if take and wait == 0.0 else tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait

    def __len__(self) -> int:
        return len(self._buckets)
