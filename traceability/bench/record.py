"""`herbtrace bench record`: the demo's events through the domain rules, beside plain appends.

The same signed envelopes — the demo's registrations and story cycles (planting, cultivation
inputs, harvest, fresh processing, 炮制, splits, merges, packing, tests, shipments and
receipts, sales, sensor readings, a recall), in the demo's order — are appended to two fresh
logs in turn, in append batches of the same size: once through a plain `Ledger` (signature,
sequence and chain checks, the tree; no rules: the baseline) and once through the `Domain`
(the same, plus every domain rule and the index rows, then the alerts the rules raised,
logged as envelopes of their own). The two alternate for a number of rounds, and each
figure is the median of its rounds. The first two batches of each run warm the signature
workers and caches and are not timed. Beside each rate, the CPU time the recording process
spent per envelope (signatures are checked in worker processes, not counted): other work on
the machine disturbs it far less than the rate.

After the last round the rules' indexes are rebuilt from the log and compared
(`reindex --check`): recording in batches must build exactly what a replay builds.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from itertools import islice

from traceability.demo.seed import register_demo_signers, sign_events
from traceability.demo.stories import events_from
from traceability.domain.service import Domain
from traceability.ledger import Ledger, initialise
from traceability.log.results import AppendResult
from traceability.settings import Settings

Say = Callable[[str], object]
Database = Callable[[], AbstractContextManager[str]]
"""Makes a fresh, empty database for one run and yields its URL (dropped afterwards)."""

WARM_BATCHES = 2


@dataclass
class RecordFigures:
    """What one backend measured: envelopes/s of plain appends and of recording, per round."""

    backend: str
    events: int
    batch: int
    plain: list[float] = field(default_factory=list)
    rules: list[float] = field(default_factory=list)
    plain_cpu: list[float] = field(default_factory=list)
    """Seconds of the recording process's CPU per envelope, plain appends."""
    rules_cpu: list[float] = field(default_factory=list)
    alerts: int = 0
    reindex_ok: bool = False
    load: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Recording through the rules ÷ plain appends (medians)."""
        return statistics.median(self.rules) / statistics.median(self.plain)


def demo_envelopes(count: int) -> list[bytes]:
    """The demo's first `count` events, signed by the demo signers (deterministic)."""
    return list(sign_events(islice(events_from(0), count), {}))


def _batches(envelopes: Sequence[bytes], size: int) -> Iterator[Sequence[bytes]]:
    for start in range(0, len(envelopes), size):
        yield envelopes[start : start + size]


def _timed(
    submit: Callable[[Sequence[bytes]], list[AppendResult]], envelopes: Sequence[bytes], size: int
) -> tuple[float, float]:
    """Envelopes/s of `submit` over the batches after the warm-up, and this process's CPU
    seconds per envelope; every envelope must be accepted."""
    batches = list(_batches(envelopes, size))
    timed = 0
    seconds = cpu = 0.0
    for n, chunk in enumerate(batches):
        start, start_cpu = time.perf_counter(), time.process_time()
        results = submit(chunk)
        elapsed, used = time.perf_counter() - start, time.process_time() - start_cpu
        refused = [r for r in results if r.status != "accepted"]
        if refused:
            first = refused[0]
            raise RuntimeError(f"bench envelope not accepted: {first.status} {first.reason}")
        if n >= WARM_BATCHES:
            timed += len(chunk)
            seconds += elapsed
            cpu += used
    return timed / seconds, cpu / timed


def _settings(url: str, batch: int) -> Settings:
    return Settings(database_url=url, log_origin="bench.herbtrace/log", append_batch_size=batch)


def plain_rate(url: str, envelopes: Sequence[bytes], size: int) -> tuple[float, float]:
    """Envelopes/s appended through a plain ledger on a fresh database at `url`, and CPU
    seconds per envelope."""
    settings = _settings(url, size)
    initialise(settings)
    with Ledger(settings) as ledger:
        register_demo_signers(ledger.engine)
        ledger.start_workers()
        return _timed(ledger.append, envelopes, size)


def rules_rate(
    url: str, envelopes: Sequence[bytes], size: int, *, check: bool
) -> tuple[tuple[float, float], int, bool]:
    """Envelopes/s recorded through the domain on a fresh database at `url`, and CPU seconds
    per envelope.

    Also the number of alerts the rules logged and, with `check`, whether a replay of the log
    rebuilds the same indexes.
    """
    settings = _settings(url, size)
    initialise(settings)
    with Domain(settings) as domain:
        register_demo_signers(domain.engine)
        domain.ledger.start_workers()
        rate = _timed(domain.record, envelopes, size)
        alerts = domain.ledger.size() - len(envelopes)
        ok = domain.reindex(check=True).changed == [] if check else True
    return rate, alerts, ok


def measure(
    backend: str, database: Database, events: int, batch: int, rounds: int, say: Say
) -> RecordFigures:
    """Alternate plain and rules runs `rounds` times on fresh databases; see the module."""
    envelopes = demo_envelopes(events)
    figures = RecordFigures(backend, len(envelopes), batch)
    figures.load.append(os.getloadavg()[0])
    for r in range(rounds):
        with database() as url:
            rate, cpu = plain_rate(url, envelopes, batch)
            figures.plain.append(rate)
            figures.plain_cpu.append(cpu)
        with database() as url:
            (rate, cpu), figures.alerts, ok = rules_rate(
                url, envelopes, batch, check=r == rounds - 1
            )
            figures.rules.append(rate)
            figures.rules_cpu.append(cpu)
            figures.reindex_ok = ok
        say(
            f"{backend} round {r + 1}: plain {figures.plain[-1]:,.0f}/s, "
            f"through the rules {figures.rules[-1]:,.0f}/s "
            f"(load average {os.getloadavg()[0]:.2f})"
        )
    figures.load.append(os.getloadavg()[0])
    return figures
