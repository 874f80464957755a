"""Gateway processes for the benchmark, and their memory as the kernel reports it."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from traceability.bench.child_process import HerbtraceProcess


class GatewayProcess(HerbtraceProcess):
    """`herbtrace ingest` as a child process in a session of its own."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        super().__init__(["ingest", *args], env, ready="ingesting from")

    def rss(self) -> tuple[int, int, int]:
        """Resident memory in bytes: the gateway process, it plus its worker processes, and
        the gateway's anonymous (heap) part, without pages of mapped files such as the
        SQLite database."""
        own = _rss(self.process.pid)
        children = sum(_rss(child) for child in _descendants(self.process.pid))
        return own, own + children, _rss(self.process.pid, "RssAnon:")

    def cpu(self) -> tuple[float, float]:
        """CPU seconds used so far: the gateway process, and its worker processes."""
        return cpu_seconds(self.process.pid), sum(
            cpu_seconds(child) for child in _descendants(self.process.pid)
        )

    def stop(self) -> None:
        """Stop the gateway (SIGTERM), and end whatever it leaves behind."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(60)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process `pid` (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss(pid: int, field: str = "VmRSS:") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            out.append(child)
            frontier.append(child)
    return out
