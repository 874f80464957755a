"""The lookup benchmark's server: the real app under uvicorn in a process of its own."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from traceability.errors import ConfigurationError

APP = "api.bench.app:create_bench_app"
"""The uvicorn factory the server runs (the API plus the trivial route)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiServer:
    """`uvicorn` serving the bench app on a free port with `workers` processes.

    The environment holds the app's settings (HERBTRACE_*); uvicorn picks its fastest
    event loop and HTTP parser installed (`--loop auto --http auto`). The access log is
    off: it would write a line per request to this process's pipe.
    """

    def __init__(self, env: dict[str, str], workers: int = 1) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.workers = workers
        environ = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
        command = [
            sys.executable, "-m", "uvicorn", APP, "--factory",
            "--host", self.host, "--port", str(self.port), "--workers", str(workers),
            "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "5",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter's uvicorn
            command,
            env={**environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None  # noqa: S101 - opened above
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def get(self, path: str, accept: str = "application/json") -> tuple[int, bytes]:
        """One request on a fresh connection: (status, body)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request("GET", path, headers={"Accept": accept})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        """Wait until `path` answers 200 (every worker has started when the port answers
        for one; the first requests warm the rest); ConfigurationError with the server's
        output if it does not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(OSError):
                if self.get(path)[0] == 200:
                    return
            time.sleep(0.1)
        output = "\n".join(self.lines[-20:])
        raise ConfigurationError(f"the API server did not start on port {self.port}:\n{output}")

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) used so far by the server and all its processes."""
        pids = [self.process.pid, *_descendants(self.process.pid)]
        return sum(_cpu_seconds(pid) for pid in pids)

    def stop(self) -> None:
        """Stop the server (SIGTERM to uvicorn), and end whatever it leaves behind."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process `pid` (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc; none elsewhere)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                children = [int(c) for c in task.read_text().split()]
                found.extend(children)
                pending.extend(children)
    return found
