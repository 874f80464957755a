"""A `herbtrace` command run as a child process, its output lines collected as they come."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from traceability.errors import ConfigurationError


class HerbtraceProcess:
    """`herbtrace <args>` in a session of its own (so its whole process group can be ended),
    with this process's environment minus every HERBTRACE_* variable, plus `env`.

    Its stdout and stderr, merged, are read line by line into `lines` (newlines stripped);
    it counts as ready once a line contains `ready`.
    """

    def __init__(
        self, args: Sequence[str], env: Mapping[str, str], *, ready: str, cwd: Path | None = None
    ) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
        self.process = subprocess.Popen(  # noqa: S603 - the installed herbtrace command
            [str(Path(sys.executable).parent / "herbtrace"), *args],
            env={**environ, **env},
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._command = " ".join(args[:1])
        self._marker = ready
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None  # noqa: S101 - opened above
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if self._marker in line:
                self._ready.set()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait for the ready line; ConfigurationError with the last 20 output lines if the
        process exits or `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = "\n".join(self.lines[-20:])
                raise ConfigurationError(f"herbtrace {self._command} did not start:\n{output}")
