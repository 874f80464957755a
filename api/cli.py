"""The CLI commands of the HTTP app: `herbtrace serve`, `herbtrace demo` and `bench lookup`."""

from __future__ import annotations

import gc
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from traceability.bench.scratch_db import scratch_postgres
from traceability.cli.bench import DEFAULT_PG
from traceability.cli.common import (
    console,
    fail,
    handles_errors,
    load_settings,
    require_database,
)
from traceability.settings import get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI


def register(root: typer.Typer, bench: typer.Typer) -> None:
    """Add the API's commands to the `herbtrace` CLI (the `herbtrace.cli` entry point)."""
    from api.demo.command import demo

    root.command()(serve)
    root.command()(demo)
    bench.command("lookup")(bench_lookup)


@handles_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes (one per core is typical)")
    ] = 1,
) -> None:
    """Serve the HTTP API (log key, checkpoints, entries and proofs).

    X-Forwarded-For is believed only from HERBTRACE_TRUSTED_PROXIES (none by default).
    """
    import uvicorn

    from devices.broker.accounts import BrokerAccounts

    settings = load_settings()
    require_database(settings)  # `herbtrace init` sets it up; serve creates nothing
    BrokerAccounts.from_settings(settings)  # an unreadable admin.json stops serve here
    uvicorn.run(
        "api.cli:served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        # Forwarded headers only from the proxies the operator lists: uvicorn's default
        # believes them from 127.0.0.1, which lets any local caller name its own address.
        proxy_headers=bool(settings.trusted_proxy_networks),
        forwarded_allow_ips=settings.trusted_proxy_networks or None,
        server_header=False,
    )


def served_app() -> FastAPI:
    """The app `herbtrace serve` runs in each worker process: with the broker's accounts
    when the settings give admin access to the broker (HERBTRACE_BROKER_DIR, or
    HERBTRACE_MQTT_ADMIN_PASSWORD), so that enrolment over HTTP creates the device's broker
    account and revocation disables it.

    The objects made so far (modules, the app) are then left out of the cyclic garbage
    collector's passes (`gc.freeze`): they live as long as the process, and scanning them
    in every full collection stalled a worker for about 100 ms now and then (the p99 of
    `herbtrace bench lookup`'s cold lookups)."""
    from api.main import create_app
    from devices.broker.accounts import BrokerAccounts

    settings = get_settings()
    app = create_app(settings, broker_accounts=BrokerAccounts.from_settings(settings))
    gc.freeze()
    return app


@handles_errors
def bench_lookup(
    background: Annotated[
        int, typer.Option(min=0, max=1_000_000, help="Demo events around the traced unit")
    ] = 5_000,
    workers: Annotated[
        list[int], typer.Option(min=1, max=16, help="uvicorn worker processes (repeatable)")
    ] = [1],  # noqa: B006 - typer reads the default
    connections: Annotated[
        int, typer.Option(min=1, max=1_000, help="Keep-alive client connections")
    ] = 16,
    seconds: Annotated[float, typer.Option(min=0.1, help="Measured seconds per figure")] = 3.0,
    warmup: Annotated[float, typer.Option(min=0.0, help="Unmeasured seconds first")] = 1.0,
    rounds: Annotated[int, typer.Option(min=1, max=50, help="Rounds; figures are medians")] = 3,
    rate: Annotated[
        list[float], typer.Option(min=1.0, help="Paced requests/s to measure (repeatable)")
    ] = [500.0, 1_000.0],  # noqa: B006 - typer reads the default
    uncached: Annotated[
        bool, typer.Option(help="Also measure the lookup recomputed on every request")
    ] = True,
    grow: Annotated[
        float,
        typer.Option(
            min=0.0, help="Demo events/s appended while the last phase is measured (0: none)"
        ),
    ] = 100.0,
    units: Annotated[
        int,
        typer.Option(
            min=0,
            max=1_000_000,
            help="Distinct units the cold lookups are spread over, Zipf-like (0: no cold phase)",
        ),
    ] = 10_000,
    backend: Annotated[list[str], typer.Option(help="sqlite and/or postgres")] = ["sqlite"],  # noqa: B006
    postgres_url: Annotated[
        str, typer.Option(envvar="HERBTRACE_BENCH_POSTGRES_URL", help="Server for a scratch DB")
    ] = DEFAULT_PG,
) -> None:
    """QR JSON lookups of a unit with a 50-event history, beside a trivial route; then cold
    lookups of many units nobody has looked up before. On SQLite, PostgreSQL (a scratch
    database, dropped afterwards) or each in turn."""
    from api.bench.data import build
    from api.bench.lookup import LookupPlan, measure
    from api.bench.report import table

    def say(line: str) -> None:
        console.print(line, markup=False, highlight=False, style="dim")

    unknown = [name for name in backend if name not in ("sqlite", "postgres")]
    if unknown:
        raise fail(f"unknown backend {unknown[0]!r}: use sqlite or postgres", 2)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the server and client on the way out

    failed = False
    for name in backend:
        with _database(name, postgres_url) as url:
            say(
                f"building the database ({name}): the unit's story and {background:,} demo events …"
            )
            data = build(url, background)
            for count in workers:
                plan = LookupPlan(
                    workers=count,
                    connections=connections,
                    seconds=seconds,
                    warmup=warmup,
                    rounds=rounds,
                    rates=tuple(rate),
                    uncached=uncached,
                    grow=grow,
                    units=units,
                )
                figures = measure(data, plan, say)
                console.print()
                for line in table(figures):
                    console.print(line, markup=False, highlight=False)
                failed = failed or bool(figures.problems())
    if failed:
        raise fail("some answers were wrong or missing (see above)")


@contextmanager
def _database(backend: str, postgres_url: str) -> Iterator[str]:
    """The URL of an empty database for the run: a SQLite file in a temporary directory, or
    a scratch database on the PostgreSQL server of `postgres_url`; removed afterwards."""
    if backend == "postgres":
        with scratch_postgres(postgres_url) as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="herbtrace-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'lookup.db'}"


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM: unwind like Ctrl-C, so the server and client processes are stopped."""
    raise KeyboardInterrupt
