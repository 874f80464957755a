"""The CLI commands that need the HTTP app: `herbtrace bench lookup`."""

from __future__ import annotations

import signal
import tempfile
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from traceability.cli.common import console, fail, handles_errors


def register(root: typer.Typer, bench: typer.Typer) -> None:  # noqa: ARG001 - the plugin call
    """Add the API's commands to the `herbtrace` CLI (the `herbtrace.cli` entry point)."""
    bench.command("lookup")(bench_lookup)


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
) -> None:
    """QR JSON lookups of a unit with a 50-event history on SQLite, beside a trivial route."""
    from api.bench.data import build
    from api.bench.lookup import LookupPlan, measure
    from api.bench.report import table

    def say(line: str) -> None:
        console.print(line, markup=False, highlight=False, style="dim")

    signal.signal(signal.SIGTERM, _interrupt)  # stop the server and client on the way out

    failed = False
    with tempfile.TemporaryDirectory(prefix="herbtrace-bench-") as tmp:
        say(f"building the database: the unit's story and {background:,} demo events …")
        data = build(f"sqlite:///{Path(tmp) / 'lookup.db'}", background)
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
            )
            figures = measure(data, plan, say)
            console.print()
            for line in table(figures):
                console.print(line, markup=False, highlight=False)
            failed = failed or bool(figures.problems())
    if failed:
        raise fail("some answers were wrong or missing (see above)")


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM: unwind like Ctrl-C, so the server and client processes are stopped."""
    raise KeyboardInterrupt
