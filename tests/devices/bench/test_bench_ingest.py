"""`herbtrace bench ingest` end to end, with tiny numbers: every figure is printed."""

from __future__ import annotations

import re
from pathlib import Path

import support


def test_bench_ingest_runs_and_reports(tmp_path: Path) -> None:
    """A small run prints the table: rates, latency, memory, and a log holding every
    envelope sent, all of them accepted."""
    args = ["bench", "ingest", "--devices", "3", "--events", "300", "--rate", "100"]
    result = support.run_herbtrace([*args, "--seconds", "2", "--publishers", "1"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for figure in ("raw Ed25519 verify", "publish → receipt latency p99", "gateway RSS"):
        assert figure in out, out
    assert re.search(r"burst receipts \| 300 accepted \|", out), out
    assert re.search(r"steady receipts \| 198 accepted \|", out), out
    assert re.search(r"log size after the run \| 498 \| 498 \|", out), out
