"""`herbtrace bench ingest` end to end, with tiny numbers: every figure is printed."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import support

POSTGRES_ADMIN_URL = os.environ.get(  # as tests/conftest.py: the server of scratch databases
    "HERBTRACE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


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


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_bench_ingest_with_the_rules_tells_the_stories_and_every_event_is_accepted(
    tmp_path: Path, backend: str
) -> None:
    """With `--rules`, a lane of devices tells the demo stories through the gateway's rules:
    every receipt is `accepted`, and the log then passes the audit and `reindex --check`."""
    args = ["bench", "ingest", "--rules", "--devices", "10", "--events", "300", "--rate", "100"]
    args += ["--backend", backend, "--postgres-url", POSTGRES_ADMIN_URL]
    result = support.run_herbtrace([*args, "--seconds", "2", "--publishers", "1"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "1 lanes of the demo stories, 10 devices" in out, out
    assert re.search(r"burst receipts \| 300 accepted \|", out), out
    assert re.search(r"steady receipts \| 200 accepted \|", out), out
    assert re.search(r"audit of the log \(as herbtrace verify\) \| OK \(", out), out
    assert re.search(r"\(as reindex --check\) \| the same \(", out), out
    sizes = re.search(r"log size after the run \| ([\d,]+) \| ([\d,]+) \|", out)
    assert sizes is not None, out
    assert sizes[1] == sizes[2], out
