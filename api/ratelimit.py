"""The HTTP API's rate limits: who is limited, under which key, and the 429 they get.

Four sets of token buckets (`traceability/throttle.py`), made by the app's lifespan from the
settings and kept in the app's services (`api/services.py`):

* `public` — anonymous calls to the public endpoints, per client address;
* `accounts` — authenticated writes (POST, PUT, PATCH, DELETE), per bearer token's user;
* `devices` — envelopes submitted to POST /v1/events, per signer the envelope names;
* `auth_failures` — failed bearer-token authentications, per client address: once a client
  has spent them, every request of it carrying a token gets 429 until the window refills.

A refused request gets 429 with `Retry-After` (whole seconds until a token is back). Buckets
live in the server process (behind several processes, each keeps its own).

The client address is the peer that connected. `herbtrace serve` believes `X-Forwarded-For`
only from the proxies listed in HERBTRACE_TRUSTED_PROXIES (none by default; uvicorn's
ProxyHeadersMiddleware then puts the forwarded client in the request's scope), so a client
cannot choose its own bucket by sending the header.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request

from traceability.settings import Settings
from traceability.throttle import TokenBuckets

__all__ = ["Limits", "TokenBuckets", "client_address", "enforce", "refuse"]


@dataclass(frozen=True, slots=True)
class Limits:
    """The app's rate limiters, one per kind of key."""

    public: TokenBuckets
    accounts: TokenBuckets
    devices: TokenBuckets
    auth_failures: TokenBuckets

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """Build the limiters the settings describe."""
        return cls(
            public=TokenBuckets(settings.public_rate, settings.public_burst),
            accounts=TokenBuckets(settings.account_rate, settings.account_burst),
            devices=TokenBuckets(settings.device_rate, settings.device_burst),
            auth_failures=TokenBuckets(
                settings.auth_failures / settings.auth_failure_window, settings.auth_failures
            ),
        )


def client_address(request: Request) -> str:
    """Return the key a request is limited under: its client's IP address."""
    return request.client.host if request.client else "unknown"


def refuse(wait: float, what: str) -> None:
    """Raise 429 with `Retry-After` when `wait` (seconds) is positive; `what` says whose limit."""
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            status_code=429,
            detail=f"too many requests {what}; retry after {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


def enforce(buckets: TokenBuckets, request: Request) -> None:
    """Take a token for the request's client, or raise 429 with `Retry-After`."""
    refuse(buckets.take(client_address(request)), "from this address")
