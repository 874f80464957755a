"""A token bucket per client IP that limits anonymous calls to the public endpoints.

Each client address owns a bucket of `burst` tokens that refills at `rate` tokens a second;
a request takes one token, or is refused with 429 and `Retry-After` (whole seconds until a
token is back). Buckets live in this process only (one API process per host is the design;
behind several, put the limit in the reverse proxy instead). At most `max_clients` buckets
are kept, least recently used dropped first, so a flood of addresses cannot exhaust memory:
a dropped client simply starts again with a full bucket.

Behind a reverse proxy, run uvicorn with `--proxy-headers --forwarded-allow-ips …` so the
client address is the caller's, not the proxy's.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request


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
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
            self._buckets[client] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait

    def __len__(self) -> int:
        return len(self._buckets)


def client_address(request: Request) -> str:
    """Return the key a request is limited under: its client's IP address."""
    return request.client.host if request.client else "unknown"


def enforce(buckets: TokenBuckets, request: Request) -> None:
    """Take a token for the request's client, or raise 429 with `Retry-After`."""
    wait = buckets.take(client_address(request))
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            status_code=429,
            detail=f"too many requests from this address; retry after {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
