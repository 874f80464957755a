"""`herbtrace bench trace` at a small scale: real story, bulk indexes, every figure present."""

from __future__ import annotations

from pathlib import Path

from read_support import read
from support import run_herbtrace

from traceability.bench.trace import build_background, record_story, run
from traceability.domain.lineage import trace_forward, trace_unit
from traceability.domain.service import Domain
from traceability.ledger import initialise
from traceability.settings import Settings


def test_the_bench_builds_its_data_and_times_every_query(tmp_path: Path) -> None:
    """The traced unit has 50 events; the background has the asked-for size; all figures > 0."""
    lines: list[str] = []
    figures = run(f"sqlite:///{tmp_path / 'b.db'}", "sqlite", 2_000, 20_000, 100, lines.append)
    assert figures.history_events == 50
    assert (figures.batches, figures.events, figures.units) == (2_000, 20_000, 4_000)
    assert len(figures.timings) == 5
    assert all(len(t.samples) == 100 and 0 < t.p50 <= t.p99 for t in figures.timings)
    assert figures.append_rate > 0
    assert any("backward trace of the sold unit" in line for line in lines)


def test_the_background_traces_like_recorded_batches(tmp_path: Path) -> None:
    """A bulk-written background story traces back to its planting and forward to its units."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'g.db'}", log_origin="t/log")
    initialise(settings)
    with Domain(settings) as domain:
        record_story(domain)
        assert build_background(domain, 1_000, 10_000) == (1_000, 10_000, 2_000)
        back = read(domain.engine, trace_unit, "06901234560008", "7-1-3")
        assert [o.id for o in back.origins] == ["G7-P"]
        assert {b.id for b in back.batches} == {"G7-P", "G7-H", "G7-X", "G7-M", "G7-S2", "G7-K2"}
        assert len(back.events) == 60
        forward = read(domain.engine, trace_forward, "G7-P")
        assert len(forward.batches) == 10
        assert len(forward.units) == 20


def test_the_command_prints_the_table(tmp_path: Path) -> None:
    """The CLI runs the bench on a scratch SQLite file and prints p50/p99 per query."""
    done = run_herbtrace(
        ["bench", "trace", "--batches", "1000", "--events", "10000", "--queries", "100"], tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "p50" in done.stdout
    assert "primary-key look-up" in done.stdout
    bad = run_herbtrace(["bench", "trace", "--backend", "oracle"], tmp_path)
    assert bad.returncode == 2
    assert "unknown backend" in bad.stderr
