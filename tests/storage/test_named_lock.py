"""Named locks exclude other processes on the same database, and die with their holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from traceability.storage.named_lock import named_lock

HOLDER = """
import sys, time
from traceability.storage.db import make_engine
from traceability.storage.named_lock import named_lock
engine = make_engine(sys.argv[1])
with named_lock(engine, sys.argv[2]):
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
print("released", flush=True)
"""


@pytest.fixture(name="holder")
def _holder(engine: Engine) -> Iterator[type[Holder]]:
    """Start processes that hold a named lock on the test's database; end them after."""
    started: list[subprocess.Popen[str]] = []

    class Started(Holder):
        def __init__(self, name: str, seconds: float) -> None:
            super().__init__(engine, name, seconds)
            started.append(self.process)

    yield Started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


class Holder:
    """A process that takes the lock `name`, says so, and holds it for `seconds`."""

    def __init__(self, engine: Engine, name: str, seconds: float) -> None:
        url = engine.url.render_as_string(hide_password=False)
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, url, name, str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "held"


def test_a_second_process_waits_for_the_holder(engine: Engine, holder: type[Holder]) -> None:
    """While another process holds the lock this one blocks, and gets it once it is released;
    a lock of another name is free meanwhile (SQLite and PostgreSQL)."""
    started = time.monotonic()
    holder("signer A", 1.5)
    with named_lock(engine, "signer B"):
        assert time.monotonic() - started < 1.5
    with named_lock(engine, "signer A"):
        waited = time.monotonic() - started
    assert waited >= 1.4


def test_the_lock_dies_with_a_killed_holder(engine: Engine, holder: type[Holder]) -> None:
    """SIGKILL to the holding process frees the lock at once: nothing waits for a dead one."""
    held = holder("signer A", 60)
    os.kill(held.process.pid, signal.SIGKILL)
    held.process.wait(10)
    started = time.monotonic()
    with named_lock(engine, "signer A"):
        assert time.monotonic() - started < 10
