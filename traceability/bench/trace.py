"""`herbtrace bench trace`: backward and forward traces on 100,000 batches, beside a baseline.

The traced unit's history is real: 50 signed events recorded through the Domain service
(trace_story.py). The bulk — by default 100,000 batches, 1,000,000 batch-event index rows,
200,000 units — is written straight into the index tables, in the shapes the projection
writes, because the trace queries read only those tables and appending a million signed
envelopes through the rules would take the run from seconds to most of an hour (the run
measures the rules' append rate on a sample, so the cost is on record). Each background
story is 10 batches: planting → harvest → processed → processed → 4 splits → 2 packed
batches of 10 units each. Every figure is printed beside a primary-key look-up of a batch
timed in the same run.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.bench.trace_story import GTIN, PLANT, ROOT, UNIT_SERIAL, Party, record_story
from traceability.domain.batches import read_batch
from traceability.domain.lineage import trace_forward, trace_unit
from traceability.domain.service import Domain
from traceability.domain.state import batch_events, batches, lineage, units
from traceability.ledger import initialise
from traceability.log.sequencing import signer_heads
from traceability.settings import Settings
from traceability.storage.db import on_connection

STORY_BATCHES = 10
UNITS_PER_PACK = 10
BACKGROUND_GTIN = "06901234560008"
BACKGROUND_FROM = 10_000_000
"""Log index from which background batch events are numbered (no real entry behind them)."""
EVENT_TYPES = ("sensor_reading", "quality_test", "ship", "receive", "cultivation_input")


@dataclass
class Timing:
    """Latencies of one query, in milliseconds."""

    name: str
    samples: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        return statistics.quantiles(self.samples, n=100, method="inclusive")[98]


@dataclass
class TraceFigures:
    """What one backend measured."""

    backend: str
    batches: int = 0
    events: int = 0
    units: int = 0
    build_seconds: float = 0.0
    history_events: int = 0
    append_rate: float = 0.0
    timings: list[Timing] = field(default_factory=list)


def _bulk(conn: Connection, table: sa.Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert rows on the driver: COPY on PostgreSQL, executemany on SQLite."""
    names = [c.name for c in table.columns]
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(names))
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"  # noqa: S608
    conn.exec_driver_sql(sql, list(rows))


def _batch(i: str, kind: str, parent_qty: str, index: int, **extra: Any) -> tuple[Any, ...]:
    unit = "mu" if kind == "planting" else ("piece" if kind == "packed" else "kg")
    return (
        i, "renshen", kind, "bg-base", "bg-coop", "bg-coop", parent_qty, unit, parent_qty,
        "active", "untested", None, extra.get("gtin"), extra.get("lot"), "2020-04-25",
        None if kind == "planting" else "2026-09-15", None, index,
    )  # fmt: skip


def background_story(s: int, per_batch: int, at: int) -> tuple[list[Any], ...]:
    """Rows of background story `s`: batches, edges, units, batch events (from index `at`)."""
    p = f"G{s}"
    names = [f"{p}-P", f"{p}-H", f"{p}-X", f"{p}-M", *(f"{p}-S{k}" for k in range(1, 5))]
    packs = [f"{p}-K1", f"{p}-K2"]
    rows_b = [_batch(n, "planting" if n.endswith("-P") else "processed", "100", at) for n in names]
    rows_b += [
        _batch(k, "packed", str(UNITS_PER_PACK), at, gtin=BACKGROUND_GTIN, lot=p) for k in packs
    ]
    chain = [(names[0], names[1]), (names[1], names[2]), (names[2], names[3])]
    chain += [(names[3], n) for n in names[4:]] + [(names[4], packs[0]), (names[5], packs[1])]
    edges = [(a, b, at + k, "10", "kg") for k, (a, b) in enumerate(chain)]
    unit_rows = [
        (BACKGROUND_GTIN, f"{s}-{k}-{j}", p, pack, "packed", at, None)
        for k, pack in enumerate(packs)
        for j in range(UNITS_PER_PACK)
    ]
    events = [
        (b, at + n * per_batch + e, EVENT_TYPES[e % len(EVENT_TYPES)])
        for n, b in enumerate(names + packs)
        for e in range(per_batch)
    ]
    return rows_b, edges, unit_rows, events


def build_background(domain: Domain, total_batches: int, total_events: int) -> tuple[int, int, int]:
    """Write the background stories straight into the indexes; return (batches, events, units)."""
    stories = total_batches // STORY_BATCHES
    per_batch = max(1, total_events // (stories * STORY_BATCHES))
    made = [0, 0, 0]
    chunk = 1000
    with domain.engine.begin() as conn:
        for first in range(0, stories, chunk):
            rows: list[list[Any]] = [[], [], [], []]
            for s in range(first, min(stories, first + chunk)):
                at = BACKGROUND_FROM + s * STORY_BATCHES * per_batch
                for bucket, part in zip(rows, background_story(s, per_batch, at), strict=True):
                    bucket.extend(part)
            for table, part in zip((batches, lineage, units, batch_events), rows, strict=True):
                _bulk(conn, table, part)
            made[0] += len(rows[0])
            made[1] += len(rows[3])
            made[2] += len(rows[2])
    return made[0], made[1], made[2]


def timed(name: str, query: Callable[[int], object], count: int) -> Timing:
    """Run `query(i)` `count` times after a warm-up; latency of each call in ms."""
    for i in range(min(50, count)):
        query(i)
    samples = []
    for i in range(count):
        start = time.perf_counter_ns()
        query(i)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return Timing(name, samples)


def measure_append(domain: Domain, count: int) -> float:
    """Rate (envelopes/s) of recording warehouse readings through the rules, in one call.

    A tenth of them first warm the signature workers and caches; the rest are timed.
    """
    plant = Party("plant", PLANT, "device")  # the story's signer: continue its chain
    with domain.engine.connect() as conn:
        head = signer_heads(conn, {_key_id(plant)})[_key_id(plant)]
    plant.seq, plant.prev = head.seq, head.envelope_hash.hex()
    envs = [
        plant.sign(
            {
                "type": "sensor_reading",
                "sensor": "bt-sensor-b",
                "kind": "warehouse",
                "batches": ["BT-B"],
                "readings": [{"at": _second(i), "temperature_c": "15"}],
            }
        )
        for i in range(count)
    ]
    domain.ledger.start_workers()
    warm, envs = envs[: count // 10], envs[count // 10 :]
    domain.record(warm)
    start = time.perf_counter()
    results = domain.record(envs)
    seconds = time.perf_counter() - start
    if any(r.status != "accepted" for r in results):
        raise RuntimeError("bench readings refused")
    return len(envs) / seconds


def _second(i: int) -> str:
    return f"2026-10-02T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"


def _key_id(party: Party) -> str:
    from traceability.keys import key_id_for, raw_public_key

    return key_id_for(raw_public_key(party.key))


def run(
    url: str,
    backend: str,
    total_batches: int,
    total_events: int,
    queries: int,
    say: Callable[[str], None],
) -> TraceFigures:
    """Build the data on a fresh database at `url` and time the queries."""
    settings = Settings(database_url=url, log_origin="bench.herbtrace/log")
    initialise(settings)
    figures = TraceFigures(backend)
    with Domain(settings) as domain:
        start = time.perf_counter()
        figures.history_events = record_story(domain)
        made = build_background(domain, total_batches, total_events)
        figures.build_seconds = time.perf_counter() - start
        figures.batches, figures.events, figures.units = made
        say(
            f"{backend}: built {made[0]:,} batches, {made[1]:,} batch events, {made[2]:,} units "
            f"in {figures.build_seconds:.1f} s; the traced unit has {figures.history_events} events"
        )
        if backend == "sqlite":
            with domain.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        else:
            with domain.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
        stories = made[0] // STORY_BATCHES
        rng = random.Random(7)  # noqa: S311 - picks rows to query, not secrets
        picks = [rng.randrange(stories) for _ in range(queries)]
        history = figures.history_events
        engine = domain.engine
        cases: list[tuple[str, Callable[[int], object]]] = [
            (
                "primary-key look-up of a batch (baseline)",
                lambda i: on_connection(engine, read_batch, f"G{picks[i]}-M"),
            ),
            (
                f"backward trace of the sold unit ({history} events, 6 batches)",
                lambda _i: on_connection(engine, trace_unit, GTIN, UNIT_SERIAL),
            ),
            (
                "backward trace of a background unit (60 events, 6 batches)",
                lambda i: on_connection(engine, trace_unit, BACKGROUND_GTIN, f"{picks[i]}-1-3"),
            ),
            (
                "forward trace of the story's planting (7 batches, 100 units)",
                lambda _i: on_connection(engine, trace_forward, ROOT),
            ),
            (
                "forward trace of a background planting (10 batches, 20 units)",
                lambda i: on_connection(engine, trace_forward, f"G{picks[i]}-P"),
            ),
        ]
        figures.timings = [timed(name, query, queries) for name, query in cases]
        for t in figures.timings:
            say(f"{backend}: {t.name}: p50 {t.p50:.3f} ms, p99 {t.p99:.3f} ms")
        figures.append_rate = measure_append(domain, 2000)
        say(f"{backend}: recording through the rules: {figures.append_rate:,.0f} envelopes/s")
    return figures
