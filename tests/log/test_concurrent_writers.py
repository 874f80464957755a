"""Two OS processes appending to one log at once still build one linear, auditable chain."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import support

from traceability.canonical import canonical_bytes
from traceability.envelope import envelope_hash
from traceability.ledger import Ledger, initialise
from traceability.log.audit import Auditor
from traceability.log.audit_sources import DatabaseSource
from traceability.log.entry import parse_leaf
from traceability.settings import Settings

PER_WRITER = 1500
BATCH_SIZES = {"east": [1, 17, 64, 200, 3, 90, 500, 40], "west": [7, 150, 2, 33, 65, 300, 11]}
ORIGIN = "test.herbtrace/log"

WRITER = '''\
"""Append the envelopes of one writer, in batches of varying size, once told to go."""

import json
import sys
import time
from pathlib import Path


def main() -> None:
    work, name = Path(sys.argv[1]), sys.argv[2]
    sizes = json.loads(sys.argv[3])
    from traceability.ledger import Ledger
    from traceability.settings import Settings

    envelopes = (work / f"{name}.jsonl").read_bytes().splitlines()
    ledger = Ledger(Settings())
    ledger.start_workers()
    (work / f"{name}.ready").touch()
    while not (work / "go").exists():
        time.sleep(0.0005)
    results, start, k = [], 0, 0
    while start < len(envelopes):
        size = sizes[k % len(sizes)]
        results += [r.to_json() for r in ledger.append(envelopes[start : start + size])]
        start, k = start + size, k + 1
    ledger.close()
    (work / f"{name}.results.json").write_text(json.dumps(results))


if __name__ == "__main__":
    main()
'''


def settings_for(url: str) -> Settings:
    """Settings shared by the test and its writer processes."""
    return Settings(database_url=url, log_origin=ORIGIN, checkpoint_interval=0.05)


def traffic(engine: Any, seed: int) -> list[dict[str, Any]]:
    """Return PER_WRITER envelopes of two fresh signers, randomly interleaved, each in order."""
    signers = [support.TestSigner(), support.TestSigner()]
    for signer in signers:
        signer.register(engine)
    order = [0, 1] * (PER_WRITER // 2)
    random.Random(seed).shuffle(order)
    return [signers[k].next() for k in order]


def wait_for(paths: list[Path], procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
    """Wait until every path exists; fail early if a process has already died."""
    deadline = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        for proc in procs:
            if proc.poll() is not None:
                _, err = proc.communicate()
                pytest.fail(
                    f"writer exited with {proc.returncode} before starting:\n{err.decode()}"
                )
        assert time.monotonic() < deadline, "writers did not get ready in time"
        time.sleep(0.01)


def run_two_writers(url: str, work: Path) -> None:
    """Initialise a log at `url`, run two writer processes at once, and check the result."""
    settings = settings_for(url)
    initialise(settings)
    with Ledger(settings, writable=False) as ledger:
        envelopes = {name: traffic(ledger.engine, seed) for seed, name in enumerate(BATCH_SIZES)}
    writer_of: dict[str, str] = {}
    for name, batch in envelopes.items():
        (work / f"{name}.jsonl").write_bytes(
            b"".join(json.dumps(e).encode() + b"\n" for e in batch)
        )
        writer_of.update((e["payload"]["signer"], name) for e in batch)
    script = work / "writer.py"
    script.write_text(WRITER)
    env = {
        **os.environ,
        "HERBTRACE_DATABASE_URL": url,
        "HERBTRACE_LOG_ORIGIN": ORIGIN,
        "HERBTRACE_CHECKPOINT_INTERVAL": "0.05",
        "HERBTRACE_VERIFY_WORKERS": "2",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(work), name, json.dumps(sizes)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, sizes in BATCH_SIZES.items()
    ]
    try:
        wait_for([work / f"{name}.ready" for name in BATCH_SIZES], procs, timeout=120)
        (work / "go").touch()  # both start appending within the same millisecond
        for proc in procs:
            _, err = proc.communicate(timeout=540)
            assert proc.returncode == 0, err.decode()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    results = {
        name: json.loads((work / f"{name}.results.json").read_text()) for name in BATCH_SIZES
    }
    check_log(settings, envelopes, results, writer_of)


def check_log(
    settings: Settings,
    envelopes: dict[str, list[dict[str, Any]]],
    results: dict[str, list[dict[str, Any]]],
    writer_of: dict[str, str],
) -> None:
    """Check one linear chain holding every envelope once, the writers' receipts, the audit."""
    total = sum(len(batch) for batch in envelopes.values())
    with Ledger(settings, writable=False) as ledger:
        assert ledger.size() == total
        with ledger.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT idx, leaf, leaf_hash, signer, seq, envelope_hash FROM log_entries "
                "ORDER BY idx"
            ).all()
        assert [int(r[0]) for r in rows] == list(range(total))  # no gap, no duplicate index
        previous, seqs, leaf_hashes = bytes(32), {}, []
        for idx, leaf, leaf_hash, signer, seq, _ in rows:
            entry = parse_leaf(bytes(leaf))
            assert entry.index == idx
            assert entry.prev == previous, f"entry {idx} forks the chain"
            assert bytes(leaf_hash) == hashlib.sha256(b"\x00" + bytes(leaf)).digest()
            assert entry.payload()["signer"] == signer
            assert seq == seqs.get(signer, 0) + 1, "each signer's envelopes are in order"
            previous, seqs[signer] = bytes(leaf_hash), seq
            leaf_hashes.append(bytes(leaf_hash))
        stored = Counter(bytes(r[5]) for r in rows)
        sent = Counter(
            envelope_hash(canonical_bytes(e["payload"])) for b in envelopes.values() for e in b
        )
        assert stored == sent
        assert set(stored.values()) == {1}
        assert set(seqs.values()) == {PER_WRITER // 2}
        receipts: list[int] = []
        for name, got in results.items():
            assert [r["status"] for r in got] == ["accepted"] * len(envelopes[name])
            for result, envelope in zip(got, envelopes[name], strict=True):
                assert (
                    result["envelope_hash"]
                    == envelope_hash(canonical_bytes(envelope["payload"])).hex()
                )
                assert result["leaf_hash"] == leaf_hashes[result["index"]].hex()
            receipts += [r["index"] for r in got]
        assert sorted(receipts) == list(range(total))
        writers = [writer_of[r[3]] for r in rows]
        switches = sum(1 for a, b in itertools.pairwise(writers) if a != b)
        assert switches >= 2, "the writers did not run at the same time"
        report = Auditor(ledger.verifier).run(DatabaseSource(ledger.engine))
        assert report.ok, report.findings[:5]
        assert report.entries == total
        assert report.gaps == []
        assert report.checkpoints >= 1


@pytest.mark.slow
@pytest.mark.postgres
def test_two_processes_append_one_chain_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    """Two processes appending 1500 envelopes each to PostgreSQL leave one gap-free chain."""
    run_two_writers(postgres_url, tmp_path)


@pytest.mark.slow
def test_two_processes_append_one_chain_on_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    """Two processes appending 1500 envelopes each to one SQLite file leave one gap-free chain."""
    run_two_writers(sqlite_url, tmp_path)
