"""Worker processes end when the process that started them is killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

CHILD = """
import os
import sys
import time

from traceability.workers import process_pool


def pid(_: int) -> int:
    time.sleep(0.2)
    return os.getpid()


if __name__ == "__main__":
    pool = process_pool(2)
    pids = sorted(set(pool.map(pid, range(8))))
    print(" ".join(map(str, pids)), flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead, merely not yet reaped
        return stat.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_workers_exit_after_their_parent_is_killed(tmp_path: os.PathLike[str]) -> None:
    """SIGKILL of a process with a worker pool leaves no worker, and no fork server, running."""
    script = os.path.join(tmp_path, "child.py")
    with open(script, "w") as out:
        out.write(CHILD)
    proc = subprocess.Popen([sys.executable, script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert pids
    assert all(_alive(p) for p in pids)
    with open(f"/proc/{pids[0]}/stat") as stat:
        server = int(stat.read().split(")")[-1].split()[1])
    assert server != proc.pid  # workers come from the fork server, not the caller
    pids.append(server)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), "workers or their fork server outlived the caller"
