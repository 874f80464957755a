"""`herbtrace demo`, the README's first command, run end to end as a real process."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
from support import run_herbtrace

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
