"""The lookup benchmark's load generator: keep-alive HTTP/1.1 clients on one asyncio loop.

It runs in a process of its own (`serve_phases`), apart from the server, on uvloop where
it is installed (as the server does), and speaks just
enough HTTP for the benchmark: each connection sends one request at a time (no
pipelining) and reads the answer's status line, headers and `Content-Length` bytes of
body. Every answer is checked: its status must be 200 and its body exactly the expected
bytes; anything else is counted. The module imports nothing of the app, so the client's
process stays small and its CPU time is its own.

Two kinds of phase:

* **saturation** (`rate` None) — every connection sends its next request as soon as the
  last answer arrived (a closed loop); the rate is answers per second, the latency each
  request's send → answer;
* **paced** (`rate` R) — requests are due at R per second, each on the first free
  connection (an open loop); latency runs from when the request was due, so time spent
  waiting for a free connection counts (no coordinated omission).

Answers in the first `warmup` seconds of a phase are checked but not measured.

A phase may ask for many paths instead of one (`paths`, the cold lookups): each request
then draws its path Zipf-like (rank k with weight 1/k^`zipf`, the first path the most
popular), so a few paths are asked often and most once or never. Such answers are checked
to be 200, to contain the path's mark (`marks`: the unit's identity as the answer writes
it) and to be the same bytes every time the same path is asked within the phase.
"""

from __future__ import annotations

import asyncio
import random
import resource
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from itertools import accumulate
from multiprocessing.connection import Connection
from typing import Any

MAX_ERRORS_KEPT = 5
"""How many distinct error messages a phase keeps as evidence."""


@dataclass(frozen=True)
class Phase:
    """One measurement: `connections` keep-alive connections asking for `path` for `seconds`."""

    name: str
    host: str
    port: int
    path: str
    accept: str
    expected: bytes
    connections: int
    seconds: float
    warmup: float = 1.0
    rate: float | None = None
    """Requests per second offered (paced); None for as fast as answers come (saturation)."""
    paths: tuple[str, ...] = ()
    """Paths drawn Zipf-like for each request instead of `path` (most popular first)."""
    marks: tuple[bytes, ...] = ()
    """What each of `paths`'s answers must contain (instead of being `expected`)."""
    zipf: float = 1.0
    """The exponent of the draw: rank k is asked with weight 1/k^zipf."""
    seed: int = 0


@dataclass
class PhaseResult:
    """What one phase measured: latencies (seconds) of measured answers, and every check."""

    phase: Phase
    measured_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    answers: int = 0
    """Every answer received, warm-up included."""
    wrong_status: dict[int, int] = field(default_factory=dict)
    wrong_body: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    late: int = 0
    """Paced requests still unanswered when the phase ended."""
    cpu_seconds: float = 0.0
    """The client process's CPU time (user + system) during the phase."""
    asked: Counter[int] = field(default_factory=Counter)
    """How many times each of the phase's `paths` (by index) was asked."""
    bodies: dict[int, int] = field(default_factory=dict, repr=False)
    """The hash of the first answer to each of the phase's `paths`: later ones must match."""

    @property
    def once(self) -> int:
        """How many of the phase's `paths` were asked exactly once."""
        return sum(1 for n in self.asked.values() if n == 1)

    @property
    def rate(self) -> float:
        """Measured answers per second."""
        return len(self.latencies) / self.measured_seconds if self.measured_seconds else 0.0

    @property
    def all_right(self) -> bool:
        """Whether every answer was 200 with the expected body, and nothing failed."""
        return not (self.wrong_status or self.wrong_body or self.errors or self.late)

    def quantile(self, q: float) -> float:
        """Latency at quantile `q` (0–1) of the measured answers, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class _Connection:
    """One keep-alive HTTP/1.1 connection that sends a fixed request and checks answers."""

    def __init__(self, phase: Phase, result: PhaseResult) -> None:
        self.phase = phase
        self.result = result
        self.request = _request(phase, phase.path)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def ask(self, draw: _Draw | None = None) -> bool:
        """Send the request (a path of `draw`'s if given) and check the answer; False
        (counted as an error) if it failed."""
        index, request = (-1, self.request) if draw is None else draw.next()
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(
                    self.phase.host, self.phase.port
                )
            assert self.reader is not None  # noqa: S101 - opened together with the writer
            self.writer.write(request)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status, length, closes = _parse_head(head)
            body = await self.reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            self._fail(f"{type(e).__name__}: {e}")
            return False
        if closes:
            self.close()
        if status != 200:
            self.result.wrong_status[status] = self.result.wrong_status.get(status, 0) + 1
        elif not self._right(index, body):
            self.result.wrong_body += 1
        self.result.answers += 1
        return True

    def _right(self, index: int, body: bytes) -> bool:
        """Whether `body` is the right answer to `phase.path` (index -1) or `phase.paths[index]`."""
        if index < 0:
            return body == self.phase.expected
        if self.phase.marks[index] not in body:
            return False
        digest = hash(body)
        return self.result.bodies.setdefault(index, digest) == digest

    def _fail(self, message: str) -> None:
        self.result.errors += 1
        if len(self.result.error_samples) < MAX_ERRORS_KEPT:
            self.result.error_samples.append(message)
        self.close()

    def close(self) -> None:
        """Close the connection; the next request opens a new one."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _request(phase: Phase, path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {phase.host}:{phase.port}\r\n"
        f"Accept: {phase.accept}\r\nUser-Agent: herbtrace-bench\r\n\r\n"
    ).encode()


class _Draw:
    """The Zipf-like draw of a phase's `paths`, seeded: each `next` is (index, request)."""

    def __init__(self, phase: Phase, result: PhaseResult) -> None:
        if len(phase.marks) != len(phase.paths):
            raise ValueError("a phase needs one mark for each of its paths")
        self.requests = [_request(phase, path) for path in phase.paths]
        self.weights = list(accumulate(1 / (k + 1) ** phase.zipf for k in range(len(phase.paths))))
        self.random = random.Random(phase.seed)  # noqa: S311 - a load pattern, not a secret
        self.asked = result.asked

    def next(self) -> tuple[int, bytes]:
        """The next request's path index and bytes."""
        (index,) = self.random.choices(range(len(self.requests)), cum_weights=self.weights)
        self.asked[index] += 1
        return index, self.requests[index]


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    """(status, Content-Length, whether the server closes) of a response head.

    ValueError when it is not an HTTP/1.1 head with a Content-Length (chunked bodies are
    not expected from the app and are refused).
    """
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ValueError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    length: int | None = None
    closes = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            closes = value.strip().lower() == b"close"
    if length is None:
        raise ValueError("the answer has no Content-Length")
    return int(parts[1]), length, closes


async def _saturate(phase: Phase, result: PhaseResult, draw: _Draw | None) -> None:
    start = time.perf_counter()
    measure_from, end = start + phase.warmup, start + phase.warmup + phase.seconds

    async def loop(conn: _Connection) -> None:
        while (sent := time.perf_counter()) < end:
            if await conn.ask(draw) and sent >= measure_from:
                result.latencies.append(time.perf_counter() - sent)
        conn.close()

    await asyncio.gather(*(loop(_Connection(phase, result)) for _ in range(phase.connections)))
    result.measured_seconds = min(time.perf_counter(), end) - measure_from


async def _paced(phase: Phase, rate: float, result: PhaseResult, draw: _Draw | None) -> None:
    queue: asyncio.Queue[float | None] = asyncio.Queue()
    start = time.perf_counter()
    measure_from, end = start + phase.warmup, start + phase.warmup + phase.seconds

    async def dispatch() -> None:
        i = 0
        while (due := start + i / rate) < end:
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            queue.put_nowait(due)
            i += 1
        for _ in range(phase.connections):
            queue.put_nowait(None)

    async def loop(conn: _Connection) -> None:
        while (due := await queue.get()) is not None:
            if time.perf_counter() > end + 5.0:  # give up on a server that stopped answering
                result.late += 1
                continue
            if await conn.ask(draw) and due >= measure_from:
                result.latencies.append(time.perf_counter() - due)
        conn.close()

    workers = [loop(_Connection(phase, result)) for _ in range(phase.connections)]
    await asyncio.gather(dispatch(), *workers)
    result.measured_seconds = end - measure_from


def run_phase(phase: Phase) -> PhaseResult:
    """Run one phase on a fresh event loop in this process and return what it measured."""
    result = PhaseResult(phase)
    draw = _Draw(phase, result) if phase.paths else None
    before = _cpu()
    work: Coroutine[Any, Any, None] = (
        _saturate(phase, result, draw)
        if phase.rate is None
        else _paced(phase, phase.rate, result, draw)
    )
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(work)
    result.cpu_seconds = _cpu() - before
    return result


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (as for the server), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def serve_phases(conn: Connection) -> None:
    """A client process's main loop: run each Phase received on `conn`, send its result back;
    None ends it."""
    while True:
        phase: Any = conn.recv()
        if phase is None:
            return
        conn.send(run_phase(phase))
