"""Rate limiting of public endpoints: token buckets per client, and 429 with Retry-After."""

from __future__ import annotations

import pytest
from api_support import Callers, api_settings
from fastapi.testclient import TestClient

from api.main import create_app
from api.ratelimit import TokenBuckets
from traceability.ledger import initialise
from traceability.storage.db import make_engine


class Clock:
    """A clock the test moves by hand (the buckets' time seam)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refusal_then_refill() -> None:
    """A client gets `burst` requests at once, then waits 1/rate seconds for each further one."""
    clock = Clock()
    buckets = TokenBuckets(rate=2.0, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    clock.now += 0.25
    assert buckets.take("a") == pytest.approx(0.25)
    clock.now += 0.25
    assert buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(0.5)


def test_refill_stops_at_the_burst() -> None:
    """A long-idle client gets back `burst` tokens, not more."""
    clock = Clock()
    buckets = TokenBuckets(rate=10.0, burst=2, clock=clock)
    buckets.take("a")
    clock.now += 3600
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, pytest.approx(0.1)]


def test_waiting_takes_no_token() -> None:
    """`wait` says how long until a token is there without taking one."""
    clock = Clock()
    buckets = TokenBuckets(rate=1.0, burst=1, clock=clock)
    assert [buckets.wait("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == 0.0
    assert buckets.wait("a") == pytest.approx(1.0)
    clock.now += 1.0
    assert buckets.wait("a") == 0.0


def test_clients_have_their_own_buckets() -> None:
    """One client's exhaustion does not limit another."""
    buckets = TokenBuckets(rate=1.0, burst=1, clock=Clock())
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    assert buckets.take("b") == 0.0


def test_memory_is_bounded_by_dropping_the_least_recently_seen() -> None:
    """At most max_clients buckets are kept; the least recently seen goes first."""
    buckets = TokenBuckets(rate=1.0, burst=1, max_clients=2, clock=Clock())
    buckets.take("a")
    buckets.take("b")
    buckets.take("a")  # a is now the most recent
    buckets.take("c")  # drops b
    assert len(buckets) == 2
    assert buckets.take("a") > 0  # a kept its empty bucket
    assert buckets.take("b") == 0.0  # b starts again with a full one


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_bad_limits_are_refused(rate: float, burst: int) -> None:
    """A rate that is not positive or a burst below 1 is refused at construction."""
    with pytest.raises(ValueError, match="rate must be positive"):
        TokenBuckets(rate=rate, burst=burst)


def test_public_endpoints_answer_429_with_retry_after(sqlite_url: str) -> None:
    """Past the burst, the resolver and QR endpoints give 429 with Retry-After and a reason."""
    settings = api_settings(sqlite_url, public_rate=0.1, public_burst=4)
    engine = make_engine(settings.database_url)
    initialise(settings, engine)
    callers = Callers.create(engine)
    qr = "/01/06901234567892/10/LOT1/qr.svg"
    with TestClient(create_app(settings)) as client:
        statuses = [client.get(qr).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 200]
        for path in (qr, "/01/06901234567892/10/LOT1", "/v1/log/key"):
            refused = client.get(path)
            assert refused.status_code == 429
            assert refused.json()["error"] == "too_many_requests"
            assert 1 <= int(refused.headers["Retry-After"]) <= 10
        assert client.get(qr, headers=callers.headers("operator_a")).status_code == 200
    engine.dispose()
