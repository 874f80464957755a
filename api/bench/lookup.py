"""`herbtrace bench lookup`: QR JSON lookups beside a trivial endpoint, in one run.

One server process (uvicorn, `workers` processes) serves the real app on a database
built for the run (`data.py`: SQLite, or PostgreSQL, the production backend, where every
statement is a round trip to the server); one client process (`client.py`) drives it over
keep-alive connections. Each round measures, side by side, the trivial route and the
unit's JSON lookup: at saturation, then at each paced rate. Figures are medians over the
rounds; the server's CPU time per answer is read from /proc around every phase. A second
server with the facts cache off then measures the lookup recomputed on every request (the
cost of a cache miss) at saturation, and a third, the cache on, measures it at saturation
while a writer process appends demo events on other batches (`grower.py`): each lookup
then finds the log grown and checks its kept facts. Last, the cold phase: lookups spread
over `units` distinct units drawn Zipf-like (`client.py`), so a few are popular and most
are asked once, each figure on a fresh server that has first looked up one other unit of
each batch: what labels scanned for the first time cost, their batches' lineage read
before. The reference answer is fetched once
and checked to be the unit's facts with its whole history; every later answer must be 200
with exactly those bytes (the other servers' too); every cold answer must be 200, name its
unit and batch, and be the same bytes each time its unit is asked in a phase.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection

from api.bench.app import CACHE_VARIABLE, TRIVIAL_BODY, TRIVIAL_PATH
from api.bench.client import Phase, PhaseResult, serve_phases
from api.bench.data import ORIGIN, ColdUnits, LookupData, cold_units
from api.bench.grower import Grower
from api.bench.server import ApiServer
from traceability.errors import ConfigurationError

JSON = "application/json"
SATURATION = "saturation"


@dataclass(frozen=True)
class LookupPlan:
    """How to measure: server workers, client connections, phase length, rounds, rates."""

    workers: int = 1
    connections: int = 16
    seconds: float = 3.0
    warmup: float = 1.0
    rounds: int = 3
    rates: tuple[float, ...] = (500.0, 1000.0)
    uncached: bool = True
    grow: float = 100.0
    """Demo events appended per second during the growing-log phase (0: no such phase)."""
    units: int = 10_000
    """Distinct units the cold phase's lookups are spread over (0: no cold phase)."""
    zipf: float = 1.0
    """The exponent of the cold phase's draw: the k-th most popular unit has weight 1/k^zipf."""


@dataclass
class Series:
    """One endpoint under one load, over the rounds: the client's results and server CPU."""

    results: list[PhaseResult] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)

    def add(self, result: PhaseResult, server_cpu: float) -> None:
        """Record one round."""
        self.results.append(result)
        self.server_cpu.append(server_cpu)

    @property
    def rate(self) -> float:
        """Median of the rounds' answers per second."""
        return statistics.median(r.rate for r in self.results)

    def latency(self, q: float) -> float:
        """Median of the rounds' latency at quantile `q`, in milliseconds."""
        return statistics.median(r.quantile(q) for r in self.results)

    @property
    def server_us(self) -> float:
        """Median of the rounds' server CPU microseconds per answer."""
        return statistics.median(
            _per_answer(cpu, r) for r, cpu in zip(self.results, self.server_cpu, strict=True)
        )

    @property
    def client_us(self) -> float:
        """Median of the rounds' client CPU microseconds per answer."""
        return statistics.median(_per_answer(r.cpu_seconds, r) for r in self.results)


def _per_answer(cpu_seconds: float, result: PhaseResult) -> float:
    """CPU microseconds per answer received; NaN when none was."""
    return cpu_seconds / result.answers * 1e6 if result.answers else math.nan


@dataclass
class LookupFigures:
    """What one run measured with one server configuration."""

    plan: LookupPlan
    data: LookupData
    trivial: dict[str, Series] = field(default_factory=dict)
    lookup: dict[str, Series] = field(default_factory=dict)
    uncached: Series | None = None
    growing: Series | None = None
    grown: tuple[int, int, float] = (0, 0, 0.0)
    """The growing-log phase's writer: events accepted, refused, and seconds it ran."""
    cold: dict[str, Series] = field(default_factory=dict)
    cold_units: ColdUnits | None = None
    reference: dict[str, object] = field(default_factory=dict)
    reference_body: bytes = b""
    load: tuple[float, float] = (0.0, 0.0)
    """The machine's 1-minute load average when the measurements began and ended."""

    def every_result(self) -> list[PhaseResult]:
        """Every phase's result, uncached included."""
        series = [*self.trivial.values(), *self.lookup.values(), *self.cold.values()]
        series += [s for s in (self.uncached, self.growing) if s is not None]
        return [r for s in series for r in s.results]

    def lookup_answers(self) -> int:
        """How many lookup answers were received and checked (warm-up included)."""
        series = [*self.lookup.values()]
        series += [s for s in (self.uncached, self.growing) if s is not None]
        return sum(r.answers for s in series for r in s.results)

    def problems(self) -> list[str]:
        """Every wrong answer or failure, one line per phase that had any."""
        lines = []
        for r in self.every_result():
            if not r.all_right:
                lines.append(
                    f"{r.phase.name}: statuses {r.wrong_status or '{}'}, {r.wrong_body} wrong "
                    f"bodies, {r.errors} errors, {r.late} unanswered {r.error_samples[:2]}"
                )
        return lines


def kinds(plan: LookupPlan) -> list[str]:
    """The loads of a round: saturation, then each paced rate."""
    return [SATURATION, *(f"{rate:g}/s" for rate in plan.rates)]


def check_reference(status: int, body: bytes, data: LookupData) -> dict[str, object]:
    """The lookup's first answer, parsed; ConfigurationError unless it is the unit's facts
    with its whole history."""
    if status != 200:
        raise ConfigurationError(f"the lookup of {data.path} answered {status}: {body[:200]!r}")
    facts = json.loads(body)
    if not isinstance(facts, dict):
        raise ConfigurationError(f"the lookup of {data.path} is not a JSON object")
    unit = (facts.get("gtin"), facts.get("lot"), facts.get("serial"), facts.get("batch"))
    wanted = (data.link.gtin, data.link.lot, data.link.serial, data.batch)
    if unit != wanted or len(facts.get("steps", [])) != data.history:
        raise ConfigurationError(
            f"the lookup of {data.path} named {unit} with {len(facts.get('steps', []))} steps;"
            f" expected {wanted} with {data.history}"
        )
    return facts


class _Client:
    """The client process, fed one phase at a time over a pipe."""

    def __init__(self) -> None:
        self.busy = False
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve_phases, args=(child,), daemon=True)
        self.process.start()
        child.close()

    def run(self, phase: Phase, server: ApiServer) -> tuple[PhaseResult, float]:
        """Run `phase`; its result and the server's CPU seconds meanwhile."""
        before = server.cpu_seconds()
        self.busy = True
        self.conn.send(phase)
        result: PhaseResult = _receive(self.conn)
        self.busy = False
        return result, server.cpu_seconds() - before

    def close(self) -> None:
        """End the client process: at once if it is amid a phase (the run was interrupted)."""
        if not self.busy:
            self.conn.send(None)
            self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(10)


def _receive(conn: Connection) -> PhaseResult:
    if not conn.poll(600):
        raise ConfigurationError("the benchmark client did not report within 10 minutes")
    result: PhaseResult = conn.recv()
    return result


def measure(data: LookupData, plan: LookupPlan, say: Callable[[str], None]) -> LookupFigures:
    """Serve the database built in `data` and measure it as `plan` says."""
    figures = LookupFigures(plan, data)
    env = {
        "HERBTRACE_DATABASE_URL": data.url,
        "HERBTRACE_LOG_ORIGIN": ORIGIN,
        "HERBTRACE_PUBLIC_RATE": "100000",  # the client is one address: not rate-limited
        "HERBTRACE_PUBLIC_BURST": "1000000",
    }
    start_load = os.getloadavg()[0]
    client = _Client()
    try:
        _cached_rounds(figures, env, client, say)
        if plan.uncached:
            _uncached_rounds(figures, {**env, CACHE_VARIABLE: "off"}, client, say)
        if plan.grow > 0:
            _growing_rounds(figures, env, client, say)
        if plan.units > 0:
            _cold_rounds(figures, env, client, say)
    finally:
        client.close()
    figures.load = (start_load, os.getloadavg()[0])
    return figures


def _phase(
    plan: LookupPlan, server: ApiServer, name: str, path: str, expected: bytes, kind: str
) -> Phase:
    rate = None if kind == SATURATION else float(kind.removesuffix("/s"))
    return Phase(
        name=f"{name} ({kind})",
        host=server.host,
        port=server.port,
        path=path,
        accept=JSON,
        expected=expected,
        connections=plan.connections,
        seconds=plan.seconds,
        warmup=plan.warmup,
        rate=rate,
    )


def _cached_rounds(
    figures: LookupFigures, env: dict[str, str], client: _Client, say: Callable[[str], None]
) -> None:
    plan, data = figures.plan, figures.data
    with _server(figures, env, say, f"{plan.workers} worker(s)") as (server, body):
        endpoints = [("trivial", TRIVIAL_PATH, TRIVIAL_BODY), ("lookup", data.path, body)]
        for n in range(plan.rounds):
            for kind in kinds(plan):
                for name, path, expected in endpoints:
                    phase = _phase(plan, server, name, path, expected, kind)
                    result, cpu = client.run(phase, server)
                    target = figures.trivial if name == "trivial" else figures.lookup
                    target.setdefault(kind, Series()).add(result, cpu)
                    say(
                        f"round {n + 1}: {phase.name}: {result.rate:,.0f}/s, "
                        f"p50 {result.quantile(0.5):.2f} ms, p99 {result.quantile(0.99):.2f} ms"
                    )


@contextmanager
def _server(
    figures: LookupFigures, env: dict[str, str], say: Callable[[str], None], what: str
) -> Iterator[tuple[ApiServer, bytes]]:
    """A server of `env` (described as `what`) and its answer to the lookup. The first
    server's answer becomes the reference; every later one must answer the same bytes."""
    plan, data = figures.plan, figures.data
    server = ApiServer(env, plan.workers)
    try:
        server.wait_ready(TRIVIAL_PATH)
        say(f"serving on http://{server.host}:{server.port}, {what}")
        status, body = server.get(data.path)
        reference = check_reference(status, body, data)
        if not figures.reference_body:
            figures.reference, figures.reference_body = reference, body
        elif body != figures.reference_body:
            raise ConfigurationError(f"the lookup with {what} differs from the first answer")
        yield server, body
    finally:
        server.stop()


def _saturated(
    figures: LookupFigures,
    server: ApiServer,
    body: bytes,
    client: _Client,
    say: Callable[[str], None],
    name: str,
) -> Series:
    """The lookup at saturation, `plan.rounds` times."""
    series = Series()
    for n in range(figures.plan.rounds):
        phase = _phase(figures.plan, server, name, figures.data.path, body, SATURATION)
        result, cpu = client.run(phase, server)
        series.add(result, cpu)
        say(f"round {n + 1}: {phase.name}: {result.rate:,.0f}/s")
    return series


def _uncached_rounds(
    figures: LookupFigures, env: dict[str, str], client: _Client, say: Callable[[str], None]
) -> None:
    with _server(figures, env, say, "the facts cache off") as (server, body):
        figures.uncached = _saturated(figures, server, body, client, say, "lookup, recomputed")


def _growing_rounds(
    figures: LookupFigures, env: dict[str, str], client: _Client, say: Callable[[str], None]
) -> None:
    what = f"the log growing {figures.plan.grow:g}/s"
    with _server(figures, env, say, what) as (server, body):
        grower = Grower(figures.data.url, ORIGIN, figures.plan.grow)
        started = time.monotonic()
        try:
            figures.growing = _saturated(figures, server, body, client, say, "lookup, log growing")
        finally:
            accepted, refused = grower.stop()
        figures.grown = (accepted, refused, time.monotonic() - started)


def _cold_rounds(
    figures: LookupFigures, env: dict[str, str], client: _Client, say: Callable[[str], None]
) -> None:
    """The cold phase: each round, each load on a server of its own, started for it."""
    plan = figures.plan
    units = figures.cold_units = cold_units(figures.data.url, plan.units)
    say(f"cold lookups over {len(units.paths):,} units in {units.batches:,} batches")
    for n in range(plan.rounds):
        for k, kind in enumerate(kinds(plan)):
            server = ApiServer(env, plan.workers)
            try:
                server.wait_ready(TRIVIAL_PATH)
                _prime(server, units)
                phase = replace(
                    _phase(plan, server, "lookup, cold", units.paths[0], b"", kind),
                    paths=units.paths,
                    marks=units.marks,
                    zipf=plan.zipf,
                    seed=n * 100 + k,
                )
                result, cpu = client.run(phase, server)
            finally:
                server.stop()
            figures.cold.setdefault(kind, Series()).add(result, cpu)
            say(
                f"round {n + 1}: {phase.name}: {result.rate:,.0f}/s, "
                f"p50 {result.quantile(0.5):.2f} ms, p99 {result.quantile(0.99):.2f} ms, "
                f"{len(result.asked):,} units asked, {result.once:,} of them once"
            )


def _prime(server: ApiServer, units: ColdUnits) -> None:
    """Look up one unit of each batch that is not among the cold units (the batches have
    been scanned before; the units not); ConfigurationError unless each is found."""
    for path in units.primers:
        status, body = server.get(path)
        if status != 200:
            raise ConfigurationError(f"the lookup of {path} answered {status}: {body[:200]!r}")
