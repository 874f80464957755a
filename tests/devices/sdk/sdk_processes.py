"""Real processes for fault tests: the gateway, simulated devices, and a network link to cut."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERBTRACE = str(Path(sys.executable).parent / "herbtrace")


class Herbtrace:
    """A `herbtrace …` command running as a process; its output goes to a log file."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
        self.args = args
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [HERBTRACE, *args],
                cwd=cwd,
                env={**environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> int:
        """SIGTERM, then wait for the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(60)

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit by itself; its exit code."""
        return self.process.wait(timeout)

    def wait_for_output(self, text: str, timeout: float) -> None:
        """Wait until `text` appears in the output; AssertionError with the output if not."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} from herbtrace {self.args}:\n{self.output()}")
            time.sleep(0.05)


class NetworkLink:
    """A TCP forwarder from a port of its own to `target`, which a test can cut and restore.

    `cut()` closes every forwarded connection and stops listening, so the device sees its
    connection drop and then nothing on the port, as when its network goes away.
    """

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.host, self.target = host, target_port
        with socket.socket() as probe:
            probe.bind((host, 0))
            self.port = int(probe.getsockname()[1])
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.restore()

    def restore(self) -> None:
        """Listen again and forward new connections."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def cut(self) -> None:
        """Drop every connection and stop listening."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                inner, _ = listener.accept()
            except OSError:
                return
            try:
                outer = socket.create_connection((self.host, self.target), timeout=5)
            except OSError:
                inner.close()
                continue
            with self._lock:
                self._sockets += [inner, outer]
            threading.Thread(target=self._pump, args=(inner, outer), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in selector.select():
                    src = key.fileobj
                    assert isinstance(src, socket.socket)
                    data = src.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            a.close()
            b.close()
