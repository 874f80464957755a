"""A device process killed with SIGKILL mid-stream loses nothing and duplicates nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from mqtt_helpers import BrokerFixture
from sdk_helpers import EnrolledDevice, wait_for
from sdk_log_checks import assert_complete_chain, log_seqs
from sdk_responder import Responder
from support import run_herbtrace

from devices.sdk.keystore import DeviceFiles
from devices.sdk.outbox import Outbox
from traceability.ledger import Ledger

EVENTS = 600


def simulate_args(broker: BrokerFixture, credentials: Path) -> list[str]:
    return [
        "device",
        "simulate",
        "--dir",
        "sim",
        "--devices",
        "1",
        "--events",
        str(EVENTS),
        "--rate",
        "150",
        "--scenario",
        "handheld",
        "--broker-port",
        str(broker.port),
        "--credentials",
        str(credentials),
        "--ack-timeout",
        "2",
        "--backoff-max",
        "1",
        "--json",
    ]


def test_kill_9_mid_stream_then_restart(
    tmp_path: Path,
    broker: BrokerFixture,
    responder: Responder,
    enrolled: Callable[[str], EnrolledDevice],
    sqlite_ledger: Ledger,
) -> None:
    """After kill -9 with receipts outstanding, and a restart, every event is in the log
    exactly once, chain intact."""
    spec = enrolled("sim/device-0000")
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({spec.device_id: spec.broker.password}))
    args = simulate_args(broker, credentials)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "herbtrace"), *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(
            lambda: len(log_seqs(sqlite_ledger.engine, spec.device_id)) >= 100,
            60,
            "100 events in the log",
        )
        responder.mode = "silent"  # receipts stop: what the device sends now stays pending
        sent = len(responder.seqs(spec.device_id))
        wait_for(lambda: len(responder.seqs(spec.device_id)) >= sent + 10, 60, "10 more events")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert process.stderr is not None
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    reader = Outbox(DeviceFiles(spec.root).outbox)
    at_kill = reader.counts()
    reader.close()
    assert 100 <= at_kill.head_seq < EVENTS, "the kill must come mid-stream"
    assert at_kill.delivered < at_kill.head_seq

    responder.mode = "answer"
    again = run_herbtrace(args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["drained"] is True
    (device,) = report["devices"]
    assert (device["head_seq"], device["pending"], device["rejected"]) == (EVENTS, 0, 0)
    assert device["delivered"] == EVENTS
    assert_complete_chain(sqlite_ledger.engine, spec.device_id, EVENTS)
