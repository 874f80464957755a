"""`herbtrace bench record` at a small scale: both sides run, all accepted, the same indexes."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy import make_url
from support import run_herbtrace

from traceability.bench.record import demo_envelopes, measure


def test_the_demo_envelopes_are_the_demos_and_deterministic() -> None:
    """The bench records the demo's own first events, signed the same way every time."""
    first = demo_envelopes(1_000)
    assert len(first) == 1_000
    assert first == demo_envelopes(1_000)
    assert b'"type":"organisation"' in first[0]


def test_both_sides_record_every_envelope_and_rebuild_the_same_indexes(
    db_url: str, new_database: Callable[[], AbstractContextManager[str]]
) -> None:
    """Plain appends and recording through the rules both time every batch after the warm-up,
    the rules log their alerts, and a replay rebuilds the indexes they wrote."""
    backend = make_url(db_url).get_backend_name()
    lines: list[str] = []
    figures = measure(backend, new_database, 1_500, 100, 1, lines.append)
    assert figures.events == 1_500
    assert len(figures.plain) == len(figures.rules) == 1
    assert min(figures.plain + figures.rules + figures.plain_cpu + figures.rules_cpu) > 0
    assert figures.alerts > 0  # the demo's stories raise alerts (a failed test, an excursion)
    assert figures.reindex_ok
    assert lines[0].startswith(f"{backend} round 1")


def test_the_command_prints_both_rates_and_refuses_an_unknown_backend(tmp_path: Path) -> None:
    """The CLI prints the plain and the rules' rates side by side, and their ratio."""
    done = run_herbtrace(
        ["bench", "record", "--events", "1000", "--batch", "200", "--rounds", "1"], tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "plain append (baseline)" in done.stdout
    assert "× plain" in done.stdout
    assert "reindex --check: same indexes" in done.stdout
    bad = run_herbtrace(["bench", "record", "--backend", "oracle"], tmp_path)
    assert bad.returncode == 2
    assert "unknown backend" in bad.stderr
