"""Audit workers that read their own pages: the same rows, the same findings as in-process."""

from __future__ import annotations

import base64
import bisect
import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import test_tamper as tamper
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from traceability.demo import seed_events
from traceability.ledger import Ledger
from traceability.log import audit, audit_sources
from traceability.log.audit import Auditor, AuditReport, AuditSource
from traceability.log.audit_pages import HIGHEST, LOWEST, tile_pages, worker_url
from traceability.log.audit_sources import DatabaseSource
from traceability.log.bundle import BundleSource, export_bundle
from traceability.storage.db import make_engine

PAGE = 16
"""Entries per page in these tests: the 120-entry tamper log makes eight pages."""


def summary(report: AuditReport) -> tuple[object, ...]:
    """Everything a report says, except how long it took."""
    return (report.findings, report.gaps, report.entries, report.nodes, report.checkpoints)


@pytest.fixture(name="paged")
def _paged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send every audit with two workers to them, PAGE entries at a time."""
    monkeypatch.setattr(audit, "IN_PROCESS_BELOW", 0)
    monkeypatch.setattr(audit_sources, "CHUNK", PAGE)


def both_ways(ledger: Ledger, source: AuditSource) -> tuple[AuditReport, AuditReport]:
    """Audit `source` in this process, then in two worker processes."""
    return Auditor(ledger.verifier, 1).run(source), Auditor(ledger.verifier, 2).run(source)


KEYS = st.integers(LOWEST + 1, HIGHEST)


@given(
    st.lists(KEYS | st.integers(-50, 5000), max_size=300, unique=True),
    st.integers(1, 2000),
)
@settings(max_examples=300, deadline=None)
def test_pages_tile_every_key_and_skip_empty_stretches(keys: list[int], page: int) -> None:
    """The ranges run contiguously from LOWEST + 1 to HIGHEST; each holds the keys of one
    page-aligned block, and there is one range per block in use, plus the last."""
    keys.sort()

    def next_key(low: int) -> int | None:
        at = bisect.bisect_left(keys, low)
        return keys[at] if at < len(keys) else None

    ranges = list(tile_pages(next_key, page))
    assert ranges[0][0] == LOWEST + 1
    assert ranges[-1][1] == HIGHEST
    assert all(high + 1 == low for (_, high), (low, _) in itertools.pairwise(ranges))
    for low, high in ranges[:-1]:
        inside = [k for k in keys if low <= k <= high]
        assert inside, "a range below the last holds a key"
        assert len({k // page for k in inside}) == 1
    assert len(ranges) <= len({k // page for k in keys}) + 1


def test_workers_find_a_relative_sqlite_file_and_never_an_in_memory_one() -> None:
    """A relative SQLite path is made absolute for the workers; an in-memory database, which
    only this process can open, is read and shipped by the main process instead."""
    assert worker_url(make_engine("sqlite:///log.db")) == f"sqlite:///{Path('log.db').resolve()}"
    assert worker_url(make_engine("sqlite://")) is None


@pytest.mark.usefixtures("paged")
def test_workers_audit_a_pristine_log_like_the_main_process(ledger: Ledger) -> None:
    """On an untouched log, the paged audit passes with the same counts as the in-process one."""
    tamper.seed_log(ledger)
    pages = DatabaseSource(ledger.engine).entry_pages()
    assert pages is not None
    assert len(list(pages.ranges)) == 120 // PAGE + 1 + 1  # the last block is partly full
    alone, paged_report = both_ways(ledger, DatabaseSource(ledger.engine))
    assert alone.ok, alone.findings
    assert summary(paged_report) == summary(alone)
    assert paged_report.entries == 120


def paged_audit_agrees(ledger: Ledger) -> Callable[[tamper.Tamper, Engine], str | None]:
    """A trial check: the audit fails, and the paged audit reports exactly the same."""

    def check(_change: tamper.Tamper, engine: Engine) -> str | None:
        alone, paged_report = both_ways(ledger, DatabaseSource(engine))
        if alone.ok:
            return "the in-process audit found nothing"
        if summary(paged_report) != summary(alone):
            return f"paged audit differs: {paged_report.findings} vs {alone.findings}"
        return None

    return check


@pytest.mark.usefixtures("paged")
def test_workers_find_what_the_main_process_finds_in_tampered_logs(
    ledger: Ledger, tmp_path: Path
) -> None:
    """Six tamper trials (see test_tamper): the paged audit's findings, gaps and counts are
    exactly the in-process audit's."""
    failures = tamper.run_trials(ledger, tmp_path, 6, paged_audit_agrees(ledger))
    assert not failures, "\n".join(failures)


@pytest.mark.slow
@pytest.mark.usefixtures("paged")
def test_workers_agree_on_every_tamper_trial(ledger: Ledger, tmp_path: Path) -> None:
    """All the tamper trials: the paged audit reports exactly what the in-process one does."""
    failures = tamper.run_trials(ledger, tmp_path, tamper.TRIALS, paged_audit_agrees(ledger))
    assert not failures, "\n".join(failures)


@pytest.mark.usefixtures("paged")
def test_workers_check_a_bundle_the_main_process_reads(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    """A bundle's entries, read here and checked in the workers, give the in-process findings,
    pristine and with one entry's leaf changed."""
    assert all(r.status == "accepted" for r in seed_events(sqlite_ledger, 70))
    sqlite_ledger.checkpointer.issue(sqlite_ledger.engine)
    path = tmp_path / "log.jsonl"
    export_bundle(sqlite_ledger.engine, sqlite_ledger.verifier, path)
    alone, paged_report = both_ways(sqlite_ledger, BundleSource(path))
    assert alone.ok, alone.findings
    assert summary(paged_report) == summary(alone)

    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith('{"entry":{"index":33,'))
    leaf = bytearray(base64.b64decode(json.loads(lines[at])["entry"]["leaf"]))
    leaf[-5] ^= 1
    record = {"entry": {"index": 33, "leaf": base64.b64encode(bytes(leaf)).decode()}}
    lines[at] = json.dumps(record, separators=(",", ":"))
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    alone, paged_report = both_ways(sqlite_ledger, BundleSource(path))
    first = alone.first()
    assert first is not None
    assert first.index == 33
    assert summary(paged_report) == summary(alone)
