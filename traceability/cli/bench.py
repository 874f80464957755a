"""`herbtrace bench …`: measured figures, each beside the baseline of the same run."""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from traceability.bench.ledger import LedgerFigures, measure
from traceability.bench.scratch_db import scratch_postgres
from traceability.cli.common import console, fail, handles_errors
from traceability.ledger import Ledger, initialise
from traceability.log.proof_bundle import MAX_BUNDLE_INDICES
from traceability.settings import Settings

app = typer.Typer(help="Benchmarks.", no_args_is_help=True)

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@app.command()
@handles_errors
def ledger(
    entries: Annotated[int, typer.Option(min=20_000, help="Grow each log to this size")] = 100_000,
    backend: Annotated[list[str], typer.Option(help="sqlite and/or postgres")] = ["sqlite"],  # noqa: B006
    postgres_url: Annotated[
        str, typer.Option(envvar="HERBTRACE_BENCH_POSTGRES_URL", help="Server for a scratch DB")
    ] = DEFAULT_PG,
) -> None:
    """Append rate as the log grows, inclusion proofs/s, and audit rate vs raw Ed25519."""
    cores = os.cpu_count() or 1
    results: list[LedgerFigures] = []
    for name, database in databases(backend, postgres_url):
        with database() as url:
            results.append(_run(url, name, entries))
    console.print(f"\n[bold]herbtrace bench ledger --entries {entries}[/] ({cores} cores)")
    for f in results:
        raw = statistics.median(f.raw_verify)
        early, late = f.rate_near(10_000), f.rate_near(f.entries)
        audit_ratio = f.audit_rate / (raw * cores)
        cached, uncached = (statistics.median(r) for r in (f.proof_rates, f.proof_rates_uncached))
        console.print(
            f"{f.backend}: raw Ed25519 verify {raw:,.0f}/s per core (median of "
            f"{len(f.raw_verify)} measurements in this run)\n"
            f"{f.backend}: append {early:,.0f}/s at 10,000 entries, {late:,.0f}/s at "
            f"{f.entries:,} entries: {late / early:.2f} of the early rate "
            f"(load average {_loads(f.append_load[:3])} during the first blocks)\n"
            f"{f.backend}: inclusion proofs {cached:,.0f}/s on one "
            f"connection, {statistics.median(f.proof_rates_parallel):,.0f}/s on {cores}, "
            f"from a {f.entries:,}-entry log (medians of {len(f.proof_rates)}); without the "
            f"node cache {uncached:,.0f}/s on one: × {cached / uncached:.2f}\n"
            f"{f.backend}: inclusion proofs in bundles of {MAX_BUNDLE_INDICES} "
            f"{statistics.median(f.bundle_rates):,.0f}/s on one connection\n"
            f"{f.backend}: inclusion proofs as the API serves them (Ledger.inclusion_proof, a "
            f"pooled connection per proof) {statistics.median(f.api_proof_rates):,.0f}/s\n"
            f"{f.backend}: full audit {f.audit_rate:,.0f} entries/s = {audit_ratio:.2f} × "
            f"raw verify × {cores} cores; audit {'passed' if f.audit_ok else 'FAILED'}\n"
            f"{f.backend}: load average (1 min) at start, proofs, audit, end: "
            f"{_loads(f.load.values())}"
        )


def _loads(values: Iterable[float]) -> str:
    return " · ".join(f"{v:.2f}" for v in values)


def _run(url: str, backend: str, entries: int) -> LedgerFigures:
    settings = Settings(database_url=url, log_origin="bench.herbtrace/log")
    initialise(settings)
    with Ledger(settings) as ledger:
        return measure(ledger, backend, entries, console.print)


@app.command()
@handles_errors
def trace(
    batches: Annotated[int, typer.Option(min=1_000, help="Batches in the indexes")] = 100_000,
    events: Annotated[int, typer.Option(min=1_000, help="Batch-event index rows")] = 1_000_000,
    queries: Annotated[int, typer.Option(min=100, help="Timed queries per figure")] = 1_000,
    backend: Annotated[list[str], typer.Option(help="sqlite and/or postgres")] = ["sqlite"],  # noqa: B006
    postgres_url: Annotated[
        str, typer.Option(envvar="HERBTRACE_BENCH_POSTGRES_URL", help="Server for a scratch DB")
    ] = DEFAULT_PG,
) -> None:
    """Backward trace of a unit with a 50-event history and forward traces, p50/p99 in ms."""
    from traceability.bench.trace import TraceFigures, run

    results: list[TraceFigures] = []
    for name, database in databases(backend, postgres_url):
        with database() as url:
            results.append(run(url, name, batches, events, queries, console.print))
    console.print(f"\n[bold]herbtrace bench trace --batches {batches} --events {events}[/]")
    for f in results:
        console.print(
            f"{f.backend}: {f.batches:,} batches, {f.events:,} batch events, {f.units:,} units; "
            f"{queries:,} queries per line (ms)"
        )
        console.print(f"  {'query':<66} {'p50':>8} {'p99':>8}")
        for t in f.timings:
            console.print(f"  {t.name:<66} {t.p50:8.3f} {t.p99:8.3f}")
        console.print(f"  recording through the rules: {f.append_rate:,.0f} envelopes/s")


@app.command()
@handles_errors
def verify(
    messages: Annotated[int, typer.Option(min=100, help="Signed envelopes to verify")] = 2_000,
    rounds: Annotated[int, typer.Option(min=1, help="Timed rounds per figure")] = 3,
    seconds: Annotated[float, typer.Option(min=0.05, help="Seconds per round and figure")] = 1.0,
) -> None:
    """Ed25519 verifies/s of libsodium and OpenSSL on the same envelopes, and herbtrace's paths."""
    import cryptography
    import nacl

    from traceability.bench.verify import measure

    f = measure(messages, rounds, seconds, console.print)
    sodium, openssl = f.median("libsodium"), f.median("OpenSSL")
    console.print(
        f"\n[bold]herbtrace bench verify --messages {messages} --rounds {rounds}[/] "
        f"({os.cpu_count() or 1} cores; load average {_loads(f.load)} at start and end)\n"
        f"raw Ed25519 verify on one core, the same {messages:,} envelopes, medians of {rounds}:"
    )
    for label, rate, beside in (
        (f"libsodium (PyNaCl {nacl.__version__}), herbtrace's", sodium, sodium / openssl),
        (f"OpenSSL (cryptography {cryptography.__version__})", openssl, 1.0),
    ):
        console.print(f"  {label:<44} {rate:>10,.0f}/s  × {beside:.2f} OpenSSL")
    console.print("herbtrace's verification paths on one core, with libsodium:")
    for name in f.paths:
        rate = f.median(name)
        unit = "notes" if name.startswith("checkpoints") else "items"
        console.print(f"  {name:<44} {rate:>10,.0f} {unit}/s  {rate / sodium:.2f} of raw libsodium")


@app.command()
@handles_errors
def record(
    events: Annotated[int, typer.Option(min=1_000, help="Demo events recorded per run")] = 20_000,
    batch: Annotated[int, typer.Option(min=1, help="Envelopes per append batch")] = 500,
    rounds: Annotated[int, typer.Option(min=1, help="Runs of each, alternating")] = 3,
    backend: Annotated[list[str], typer.Option(help="sqlite and/or postgres")] = ["sqlite"],  # noqa: B006
    postgres_url: Annotated[
        str, typer.Option(envvar="HERBTRACE_BENCH_POSTGRES_URL", help="Server for a scratch DB")
    ] = DEFAULT_PG,
) -> None:
    """Recording the demo's events through the domain rules, beside plain appends of them."""
    from traceability.bench.record import measure

    results = [
        measure(name, database, events, batch, rounds, console.print)
        for name, database in databases(backend, postgres_url)
    ]
    console.print(
        f"\n[bold]herbtrace bench record --events {events} --batch {batch} --rounds {rounds}[/]"
    )
    for f in results:
        console.print(
            f"{f.backend}: {f.events:,} demo envelopes in batches of {f.batch}, medians of "
            f"{len(f.plain)} runs each (load average {_loads(f.load)} at start and end)\n"
            f"  plain append (baseline)      {statistics.median(f.plain):>8,.0f}/s  "
            f"({_rates(f.plain)}); {_micros(f.plain_cpu)} µs CPU an envelope\n"
            f"  through the domain rules     {statistics.median(f.rules):>8,.0f}/s  "
            f"({_rates(f.rules)})  {f.ratio:.2f} × plain; {_micros(f.rules_cpu)} µs CPU\n"
            f"  alerts the rules logged: {f.alerts:,}; reindex --check: "
            f"{'same indexes' if f.reindex_ok else 'INDEXES DIFFER'}"
        )
    if not all(f.reindex_ok for f in results):
        raise typer.Exit(1)


def _micros(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1e6:,.0f}"


def _rates(values: Iterable[float]) -> str:
    return " · ".join(f"{v:,.0f}" for v in values)


def databases(
    backends: Iterable[str], postgres_url: str
) -> list[tuple[str, Callable[[], AbstractContextManager[str]]]]:
    """Each backend asked for, with what makes a fresh database of it for one run: a file in
    a temporary directory, or a scratch database on the server of `postgres_url`.

    Every name is checked before any run: an unknown one exits 2.
    """
    out: list[tuple[str, Callable[[], AbstractContextManager[str]]]] = []
    for name in backends:
        if name == "sqlite":
            out.append((name, _sqlite_db))
        elif name == "postgres":
            out.append((name, partial(scratch_postgres, postgres_url)))
        else:
            raise fail(f"unknown backend {name!r}: use sqlite or postgres", 2)
    return out


@contextmanager
def _sqlite_db() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"
