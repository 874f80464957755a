"""`herbtrace bench lookup` at a tiny size, and its client's checks against a real server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from support import run_herbtrace

from api.bench.client import Phase, run_phase
from api.bench.data import LookupData
from api.bench.lookup import SATURATION, LookupFigures, LookupPlan, Series, check_reference
from api.bench.report import table
from traceability.digital_link import DigitalLink
from traceability.errors import ConfigurationError

NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)?"

POSTGRES_ADMIN_URL = os.environ.get(  # as tests/conftest.py: the server of scratch databases
    "HERBTRACE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def cells(line: str, label: str) -> list[float]:
    """The numbers of the table row starting with `label` (— for none is skipped)."""
    assert line.startswith(label), line
    return [float(n.replace(",", "")) for n in re.findall(NUMBER, line[len(label) :])]


def test_the_command_measures_and_checks_every_lookup(tmp_path: Path) -> None:
    """A tiny run prints the side-by-side table, with the log growing in the last phase, and
    checks every answer was the unit's facts."""
    done = run_herbtrace(
        ["bench", "lookup", "--background", "30", "--seconds", "0.5", "--warmup", "0.2",
         "--rounds", "1", "--rate", "100", "--connections", "4"],
        tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("herbtrace bench lookup:"))
    title, machine, built, columns, names, *rows = lines[start:]
    assert title.startswith("herbtrace bench lookup: SQLite, 1 uvicorn worker, 4 connections")
    assert re.fullmatch(rf"machine: \d+ cores, load average {NUMBER} at the start .*", machine)
    assert "unit /01/06901234567892/10/BT2026/21/0002 with a 50-event history" in built
    assert "(30 demo events)" in built
    assert re.search(r"saturation\s+at 100/s\s+server", columns)
    assert names.split() == [
        "endpoint", "req/s", "p50", "ms", "p99", "ms", "p50", "ms", "p99", "ms", "CPU", "µs/req",
    ]  # fmt: skip
    trivial = cells(rows[0], "trivial (GET /bench/trivial)")
    lookup = cells(rows[1], "QR JSON lookup (cached)")
    ratio = cells(rows[2], "lookup ÷ trivial")
    recomputed = cells(rows[3], "QR JSON lookup, facts recomputed")
    assert len(trivial) == len(lookup) == len(ratio) == 6
    assert all(v > 0 for v in trivial + lookup + ratio)
    assert ratio[0] == pytest.approx(lookup[0] / trivial[0], abs=0.01)
    assert len(recomputed) == 4  # no paced figures
    growing = cells(rows[4], "QR JSON lookup, log growing")
    assert len(growing) == 4
    assert growing[0] > 0
    grown = re.fullmatch(
        rf"log growing: ({NUMBER}) demo events appended on other batches in {NUMBER} s "
        rf"\({NUMBER}/s; 0 refused\) while it was measured: .*",
        rows[5],
    )
    assert grown, rows[5]
    assert int(grown[1].replace(",", "")) > 0
    assert rows[6].startswith("client: ")
    assert "µs CPU per request" in rows[6]
    checked = re.fullmatch(
        r"checked ([0-9,]+) lookup answers: all 200 with unit 0002's facts "
        r"\(50 steps, batch BT-P\), byte for byte",
        rows[7],
    )
    assert checked, rows[7]
    assert int(checked[1].replace(",", "")) >= 100
    assert rows[8].startswith("target ≥ 1,000 lookups/s: ")


def test_the_cold_phase_spreads_lookups_over_many_units(tmp_path: Path) -> None:
    """With `--units`, lookups of that many units are measured beside the trivial route at
    saturation and each paced rate, and every answer is checked to name its unit."""
    done = run_herbtrace(
        ["bench", "lookup", "--background", "300", "--seconds", "0.5", "--warmup", "0.2",
         "--rounds", "1", "--rate", "100", "--connections", "4", "--no-uncached",
         "--grow", "0", "--units", "200"],
        tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("cold: "))
    spread, row, ratio, checked, target = lines[start : start + 5]
    found = re.fullmatch(
        rf"cold: lookups spread over 200 units in ({NUMBER}) batches, drawn Zipf-like "
        rf"\(weight 1/k\^1\), each figure on a fresh server that first looked up another unit "
        rf"of each batch; at saturation ({NUMBER}) units "
        rf"asked, \d+% of them once",
        spread,
    )
    assert found, spread
    assert int(found[1]) > 1
    assert 0 < int(found[2].replace(",", "")) <= 200
    cold = cells(row, "QR JSON lookup, cold")
    assert len(cold) == 6
    assert all(v > 0 for v in cold)
    assert len(cells(ratio, "cold ÷ trivial")) == 6
    assert re.fullmatch(
        r"checked [0-9,]+ cold lookup answers: all 200, each naming its unit and batch, "
        r"the same bytes each time asked",
        checked,
    ), checked
    assert target.startswith("target ≥ 1,000 cold lookups/s: ")


@pytest.mark.postgres
def test_every_phase_runs_on_postgresql_in_a_scratch_database(tmp_path: Path) -> None:
    """With `--backend postgres`, the database is built on the PostgreSQL server the bench
    is given and every phase (cached, recomputed, log growing, cold) is measured and checked
    there; the report names the backend."""
    done = run_herbtrace(
        ["bench", "lookup", "--backend", "postgres", "--background", "300", "--seconds", "0.4",
         "--warmup", "0.1", "--rounds", "1", "--rate", "100", "--connections", "4",
         "--grow", "20", "--units", "100"],
        tmp_path,
        HERBTRACE_BENCH_POSTGRES_URL=POSTGRES_ADMIN_URL,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    titles = [line for line in out.splitlines() if line.startswith("herbtrace bench lookup:")]
    assert titles == [
        "herbtrace bench lookup: PostgreSQL, 1 uvicorn worker, 4 connections, 1 round(s) of "
        "0.4 s per figure after 0.1 s warm-up (medians of the rounds)"
    ], out
    assert "(300 demo events)" in out
    for label in ("QR JSON lookup (cached)", "QR JSON lookup, facts recomputed",
                  "QR JSON lookup, log growing", "QR JSON lookup, cold"):  # fmt: skip
        row = next(line for line in out.splitlines() if line.startswith(label))
        assert cells(row, label)[0] > 0, row
    assert re.search(r"log growing: [1-9][0-9,]* demo events appended .*; 0 refused\)", out), out
    assert re.search(r"checked [0-9,]+ lookup answers: all 200 with unit 0002's facts", out), out
    assert re.search(r"checked [0-9,]+ cold lookup answers: all 200, each naming its unit", out)


def test_bad_options_are_refused(tmp_path: Path) -> None:
    """Zero workers or a zero rate is a usage error naming the option, before any work; so
    is a backend other than sqlite or postgres."""
    for option, value in (("--workers", "0"), ("--rate", "0"), ("--seconds", "0")):
        done = run_herbtrace(["bench", "lookup", option, value], tmp_path)
        assert done.returncode == 2, done.stdout
        assert option in done.stderr
    done = run_herbtrace(["bench", "lookup", "--backend", "mysql"], tmp_path)
    assert done.returncode == 2, done.stdout
    assert "unknown backend 'mysql': use sqlite or postgres" in done.stderr
    assert "building" not in done.stdout


ANSWERS = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno",
    b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
]
"""Right, wrong body, wrong status, right but closing, and a body without Content-Length."""


class CannedServer:
    """A real HTTP/1.1 server on a free port of 127.0.0.1, answering requests in turn from
    `answers` (closing the connection after an answer that says so)."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers
        self.count = 0
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0)
        )
        self.port = int(self.server.sockets[0].getsockname()[1])
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                answer = self.answers[self.count % len(self.answers)]
                self.count += 1
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        """Stop serving and end the server's thread."""

        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(name="canned")
def _canned() -> Iterator[CannedServer]:
    """A canned server cycling through ANSWERS."""
    server = CannedServer(ANSWERS)
    yield server
    server.close()


def phase(port: int, rate: float | None, seconds: float) -> Phase:
    """A phase against 127.0.0.1:`port` expecting the body `ok`, one connection, no warm-up."""
    return Phase(
        name="canned",
        host="127.0.0.1",
        port=port,
        path="/",
        accept="application/json",
        expected=b"ok",
        connections=1,
        seconds=seconds,
        warmup=0.0,
        rate=rate,
    )


def test_the_client_counts_every_wrong_answer(canned: CannedServer) -> None:
    """Paced at 50/s for 0.4 s on one connection: 20 requests, four of each kind of answer;
    the wrong ones are counted, the unparseable one is an error, only right ones pass."""
    result = run_phase(phase(canned.port, 50.0, 0.4))
    assert canned.count == 20
    assert result.answers == 16  # the chunked ones failed
    assert result.wrong_body == 4
    assert result.wrong_status == {404: 4}
    assert result.errors == 4
    assert result.error_samples[0] == "ValueError: the answer has no Content-Length"
    assert len(result.latencies) == 16
    assert not result.all_right
    assert result.rate == pytest.approx(40, rel=0.01)  # 16 measured answers in 0.4 s


def test_the_client_at_saturation_on_right_answers() -> None:
    """At saturation against a server that always answers right, every answer passes."""
    server = CannedServer(ANSWERS[:1])
    try:
        result = run_phase(phase(server.port, None, 0.3))
    finally:
        server.close()
    assert result.all_right
    assert result.answers == server.count > 10
    assert result.rate > 0
    assert 0 < result.quantile(0.5) <= result.quantile(0.99)
    assert result.cpu_seconds > 0


def test_the_client_draws_many_paths_zipf_like() -> None:
    """Given paths, each request draws one, the first most often; answers lacking the
    path's mark are wrong."""
    server = CannedServer(ANSWERS[:1])
    try:
        paths = tuple(f"/{k}" for k in range(50))
        drawn = replace(phase(server.port, None, 0.3), paths=paths, marks=(b"ok",) * 50)
        result = run_phase(drawn)
        unmarked = run_phase(replace(drawn, marks=(b"no",) * 50))
    finally:
        server.close()
    assert result.all_right
    assert sum(result.asked.values()) == result.answers > 20
    assert result.asked.most_common(1)[0][0] == 0
    assert 1 < len(result.asked) <= 50
    assert unmarked.wrong_body == unmarked.answers > 0


def data() -> LookupData:
    """What the bench's database holds, as `build` reports it."""
    return LookupData(
        url="sqlite://",
        link=DigitalLink("06901234567892", lot="BT2026", serial="0002"),
        batch="BT-P",
        history=2,
        background=0,
        log_size=60,
        batches=6,
        seconds=1.0,
    )


def test_the_reference_answer_must_be_the_unit_with_its_history() -> None:
    """The first answer is accepted only as the unit's facts with every step of its history."""
    right = {"gtin": "06901234567892", "lot": "BT2026", "serial": "0002", "batch": "BT-P"}
    steps = {"steps": [{"type": "planting"}, {"type": "retail_sale"}]}
    facts = check_reference(200, json.dumps(right | steps).encode(), data())
    assert facts["batch"] == "BT-P"
    assert data().path == "/01/06901234567892/10/BT2026/21/0002"
    wrong = [
        (404, right | steps, "answered 404"),
        (200, right | {"serial": "0003"} | steps, "expected"),
        (200, right | {"steps": steps["steps"][:1]}, "with 1 steps"),
        (200, [right], "not a JSON object"),
    ]
    for status, answer, reason in wrong:
        with pytest.raises(ConfigurationError, match=re.escape(reason)):
            check_reference(status, json.dumps(answer).encode(), data())


def test_the_table_reports_wrong_answers(canned: CannedServer) -> None:
    """Answers that were not the unit's facts are named in the table, not hidden in a median."""
    result = run_phase(phase(canned.port, 50.0, 0.2))
    plan = LookupPlan(rates=(), uncached=False)
    figures = LookupFigures(plan, data(), reference={"steps": [{}, {}]})
    for series in (figures.trivial, figures.lookup):
        series[SATURATION] = Series()
        series[SATURATION].add(result, 0.01)
    lines = table(figures)
    assert figures.problems()
    assert f"checked {result.answers} lookup answers: SOME WERE WRONG" in lines
    assert any("wrong bodies" in line and "ValueError" in line for line in lines)


def test_sigterm_stops_the_server_it_started(tmp_path: Path) -> None:
    """Terminated mid-run, the bench stops its uvicorn server: the port no longer answers."""
    command = [str(Path(sys.executable).parent / "herbtrace"), "bench", "lookup"]
    options = ["--background", "0", "--seconds", "30", "--rounds", "1", "--no-uncached"]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
    bench = subprocess.Popen(
        [*command, *options],
        cwd=tmp_path,
        env=environ | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert bench.stdout is not None
        address, seen = None, []
        for line in bench.stdout:
            seen.append(line)
            if found := re.search(r"serving on http://127\.0\.0\.1:(\d+)", line):
                address = ("127.0.0.1", int(found[1]))
                break
        assert address is not None, "".join(seen)
        with socket.create_connection(address, timeout=5):
            pass  # serving
        bench.send_signal(signal.SIGTERM)
        output, _ = bench.communicate(timeout=60)
        assert bench.returncode != 0, output
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(address, timeout=5).close()
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.communicate(timeout=10)
