"""`herbtrace demo`, the README's first command, run end to end as a real process."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import cheap_keys, run_herbtrace

from traceability.demo.parties import SIGNERS

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_tells_the_stories_over_mqtt_and_the_log_verifies(tmp_path: Path) -> None:
    """The demo starts its broker, gateway and API, its devices' events all land in the log
    through MQTT with receipts, and the resulting log passes a full audit."""
    data = tmp_path / "demo"
    args = ["demo", "--exit", "--events", "150", "--port", str(_free_port()), "--data-dir"]
    result = run_herbtrace([*args, str(data)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "told 150 events" in result.stdout
    db = data / "herbtrace.db"
    with sqlite3.connect(db) as conn:
        signers = dict(conn.execute("SELECT signer, count(*) FROM log_entries GROUP BY signer"))
        devices = {row[0] for row in conn.execute("SELECT device_id FROM devices")}
    field = {s.key_id for s in SIGNERS if s.role in ("device", "inspector")}
    assert devices == field
    assert sum(signers.get(d, 0) for d in devices) > 50  # most events came over MQTT
    audit = run_herbtrace(["verify"], tmp_path, HERBTRACE_DATABASE_URL=f"sqlite:///{db}")
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_demo_refuses_to_clear_a_directory_it_did_not_make(tmp_path: Path) -> None:
    """Pointed at a non-empty directory without its marker, the demo stops and deletes nothing."""
    keep = tmp_path / "mine.txt"
    keep.write_text("precious")
    result = run_herbtrace(["demo", "--exit", "--events", "1", "--data-dir", "."], tmp_path)
    assert result.returncode != 0
    assert "was not made by `herbtrace demo`" in result.stdout + result.stderr
    assert keep.read_text() == "precious"


@dataclass
class RunningDemo:
    """A `herbtrace demo` process serving until the module's tests are done."""

    process: subprocess.Popen[str]
    directory: Path
    port: int
    output: list[str]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.directory / 'herbtrace.db'}"


def start_demo(workdir: Path, events: int = 300) -> RunningDemo:
    """Start a demo in `workdir` and return once it says it is serving."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
    port = _free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "herbtrace"),
            "demo",
            "--events",
            str(events),
            "--port",
            str(port),
        ],
        cwd=workdir,
        env={**environ, **cheap_keys({}), "COLUMNS": "300"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + 120
    for line in process.stdout:
        output.append(line.rstrip("\n"))
        if "serving; Ctrl-C stops" in line:
            break
        assert time.monotonic() < deadline, "\n".join(output)
    assert process.poll() is None, "\n".join(output)
    return RunningDemo(process, workdir / "herbtrace-demo", port, output)


def stop_demo(demo: RunningDemo) -> None:
    """Stop a demo started by `start_demo` (SIGTERM, as Ctrl-C would) and wait for it."""
    demo.process.send_signal(signal.SIGTERM)
    try:
        demo.process.wait(30)
    except subprocess.TimeoutExpired:
        demo.process.kill()
        demo.process.wait()
    if demo.process.stdout is not None:
        demo.process.stdout.close()


@pytest.fixture(scope="module", name="running_demo")
def _running_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    demo = start_demo(tmp_path_factory.mktemp("running-demo"))
    yield demo
    stop_demo(demo)


def _tree_size(demo: RunningDemo) -> int:
    with sqlite3.connect(demo.directory / "herbtrace.db") as conn:
        return int(conn.execute("SELECT count(*) FROM log_entries").fetchone()[0])


def _healthy(demo: RunningDemo) -> bool:
    with urllib.request.urlopen(f"{demo.base}/healthz", timeout=10) as answer:  # noqa: S310
        return bool(answer.status == 200)


def test_a_second_demo_on_the_same_port_exits_and_leaves_the_running_demo_intact(
    running_demo: RunningDemo,
) -> None:
    """A second demo in the same checkout, on the busy port, says so and clears nothing:
    the first demo's database keeps its entries and its API keeps answering."""
    before = _tree_size(running_demo)
    second = run_herbtrace(
        ["demo", "--exit", "--events", "1", "--port", str(running_demo.port)],
        running_demo.directory.parent,
    )
    assert second.returncode != 0
    assert f"port 127.0.0.1:{running_demo.port} is in use" in second.stderr, second.stderr
    assert "Traceback" not in second.stdout + second.stderr
    assert _tree_size(running_demo) >= before > 0
    assert _healthy(running_demo)


def test_a_second_demo_in_the_same_directory_exits_and_leaves_the_running_demo_intact(
    running_demo: RunningDemo,
) -> None:
    """A second demo on a free port but in the running demo's directory finds the
    directory locked, names the running demo, and clears nothing."""
    before = _tree_size(running_demo)
    files = sorted(p.name for p in running_demo.directory.iterdir())
    second = run_herbtrace(
        ["demo", "--exit", "--events", "1", "--port", str(_free_port())],
        running_demo.directory.parent,
    )
    assert second.returncode != 0
    message = " ".join(second.stderr.split())
    assert "another `herbtrace demo`" in message, second.stderr
    assert f"pid {running_demo.process.pid}" in message
    assert "nothing was cleared" in message
    assert sorted(p.name for p in running_demo.directory.iterdir()) == files
    assert _tree_size(running_demo) >= before > 0
    assert _healthy(running_demo)


def _printed(demo: RunningDemo, label: str) -> str:
    """The last word of the demo's output line starting with `label`."""
    lines = [line.strip() for line in demo.output if line.strip().startswith(label)]
    assert lines, "\n".join(demo.output)
    return lines[0].split()[-1]


def _get(url: str, token: str | None = None, accept: str = "text/html") -> tuple[int, str]:
    headers = {"Accept": accept} | ({"Authorization": f"Bearer {token}"} if token else {})
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the demo's own URL
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return int(answer.status), answer.read().decode()


def test_the_demo_prints_working_links_and_a_way_in_for_the_regulator_and_grower(
    running_demo: RunningDemo,
) -> None:
    """The printed consumer, recalled, regulator and handheld links answer; the printed
    regulator token signs in as a regulator, the operator token as an operator of the
    co-operative the handheld enrols phones for."""
    sold = _printed(running_demo, "a product's consumer page")
    recalled = _printed(running_demo, "a recalled product's consumer page")
    for url in (sold, recalled):
        assert url.startswith(f"{running_demo.base}/01/")
        assert _get(url)[0] == 200
    status, body = _get(recalled, accept="application/json")
    assert status == 200
    assert "recalled" in body
    regulator_page = _printed(running_demo, "the regulator page")
    handheld_page = _printed(running_demo, "the grower's handheld page")
    assert _get(regulator_page)[0] == 200
    assert _get(handheld_page)[0] == 200
    regulator = _printed(running_demo, "sign in with this regulator token")
    operator = _printed(running_demo, "enrol the phone with this operator token")
    me = json.loads(_get(f"{running_demo.base}/v1/me", regulator, "application/json")[1])
    assert me["role"] == "regulator"
    me = json.loads(_get(f"{running_demo.base}/v1/me", operator, "application/json")[1])
    assert (me["role"], me["organisation"]) == ("operator", "org-fusong-coop")
    assert any("herbtrace user add NAME --role regulator" in line for line in running_demo.output)
