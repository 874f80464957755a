"""A hostile anonymous client sends X-Forwarded-For to pick its own rate-limit bucket.

Against a real `herbtrace serve` (uvicorn in its own process): without trusted proxies the
header is ignored and the flood is limited as the one address it is; with the proxy listed
in HERBTRACE_TRUSTED_PROXIES, the clients it forwards are limited each on their own.
"""

from __future__ import annotations

import http.client
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devices.broker.process import free_port

HERBTRACE = str(Path(sys.executable).parent / "herbtrace")


@contextmanager
def serving(tmp_path: Path, **settings: str) -> Iterator[int]:
    """`herbtrace serve` on a fresh SQLite file and a free port, with HERBTRACE_* `settings`."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERBTRACE_", "FORWARDED_"))}
    env |= {
        "HERBTRACE_DATABASE_URL": f"sqlite:///{tmp_path / 'forwarded.db'}",
        "HERBTRACE_PUBLIC_RATE": "10",
        "HERBTRACE_PUBLIC_BURST": "60",
        "FORWARDED_ALLOW_IPS": "*",  # uvicorn's own variable: must not widen what serve trusts
    }
    env |= {f"HERBTRACE_{k.upper()}": v for k, v in settings.items()}
    subprocess.run([HERBTRACE, "init"], env=env, cwd=tmp_path, capture_output=True, check=True)
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [HERBTRACE, "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not answers(port):
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(30)


def answers(port: int) -> bool:
    """Whether the server on `port` accepts connections yet."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("HEAD", "/")
        conn.getresponse().read()
        conn.close()
    except OSError:
        return False
    return True


def statuses(port: int, forwarded_for: list[str | None]) -> Counter[int]:
    """GET /v1/log/key once per item, sending it as X-Forwarded-For; count the statuses."""
    seen: Counter[int] = Counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for address in forwarded_for:
        headers = {} if address is None else {"X-Forwarded-For": address}
        conn.request("GET", "/v1/log/key", headers=headers)
        response = conn.getresponse()
        response.read()
        seen[response.status] += 1
    conn.close()
    return seen


def random_addresses(count: int) -> list[str | None]:
    """`count` random public-looking IPv4 addresses."""
    pick = random.Random(10).randrange
    return [f"{pick(1, 224)}.{pick(256)}.{pick(256)}.{pick(1, 255)}" for _ in range(count)]


def test_a_random_forwarded_for_on_each_request_does_not_escape_the_limit(
    tmp_path: Path,
) -> None:
    """1,000 requests, each naming a new client in X-Forwarded-For, are limited as the one
    address that connected: most are 429, as many as without the header."""
    with serving(tmp_path) as port:
        forged = statuses(port, random_addresses(1_000))
    assert forged[429] >= 800, forged
    assert forged[200] + forged[429] == 1_000, forged


def test_behind_a_listed_proxy_forwarded_clients_are_limited_each_on_their_own(
    tmp_path: Path,
) -> None:
    """With 127.0.0.1 listed as the proxy, 200 forwarded clients get 200 each, while one
    forwarded client sending 200 requests is refused past its burst."""
    with serving(tmp_path, trusted_proxies="127.0.0.1, 10.0.0.0/8") as port:
        distinct = statuses(port, random_addresses(200))
        one = statuses(port, ["203.0.113.9"] * 200)
    assert distinct == Counter({200: 200}), distinct
    assert one[429] >= 100, one
    assert 60 <= one[200] < 100, one


def test_a_trusted_proxy_that_is_no_address_stops_serve_with_a_clear_message(
    tmp_path: Path,
) -> None:
    """HERBTRACE_TRUSTED_PROXIES must list IP addresses or networks: a host name (or `*`)
    stops `herbtrace serve` before it listens, naming the setting."""
    for value in ("proxy.example.cn", "*", "10.0.0.0/33"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
        env |= {
            "HERBTRACE_DATABASE_URL": f"sqlite:///{tmp_path / 'refused.db'}",
            "HERBTRACE_TRUSTED_PROXIES": f"127.0.0.1,{value}",
        }
        done = subprocess.run(
            [HERBTRACE, "serve", "--port", str(free_port())],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode != 0
        assert "HERBTRACE_TRUSTED_PROXIES" in done.stdout + done.stderr, done.stderr
        assert "Traceback" not in done.stderr
