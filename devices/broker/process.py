"""A local Mosquitto process running the project's configuration (tests, demo, benchmarks)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from devices.broker.accounts import PID_FILE, BrokerAccounts
from devices.broker.config import CONFIG_DIR, GATEWAY_USER, TlsFiles, prepare_directory
from devices.broker.dynsec import STATE_FILE
from devices.broker.passwords import Credentials, new_password
from traceability.errors import ConfigurationError

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def mosquitto_binary() -> str:
    """Return the path of the `mosquitto` broker; ConfigurationError if it is not installed."""
    found = shutil.which("mosquitto") or next(
        (p for p in MOSQUITTO_PATHS if Path(p).exists()), None
    )
    if found is None:
        raise ConfigurationError("mosquitto is not installed (package mosquitto)")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalBroker:
    """One Mosquitto process with herbtrace's configuration, keeping its files in `directory`.

    `start()` renders the configuration (see `devices.broker.config`), gives the default
    gateway account (`gateway`) a fresh password and waits until the broker accepts
    connections; `stop()` ends it. Usable as a context manager.

    `add_client` and `add_gateway` create accounts, `disable_client` ends one (over MQTT, as
    the broker's admin, while it runs). With `tls`, its only listener speaks TLS.
    """

    def __init__(
        self,
        directory: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        config_dir: Path = CONFIG_DIR,
        tls: TlsFiles | None = None,
    ) -> None:
        self.directory = directory
        self.host = host
        self.port = port or free_port(host)
        self.config_dir = config_dir
        self.tls = tls
        self.gateway = Credentials(GATEWAY_USER, new_password())
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """The broker's log file."""
        return self.directory / "mosquitto.log"

    @property
    def pid_path(self) -> Path:
        """Where the running broker's process ID is written."""
        return self.directory / PID_FILE

    @property
    def pid(self) -> int | None:
        """The broker's process ID while it runs."""
        return None if self._process is None else self._process.pid

    @property
    def ca_file(self) -> str | None:
        """The CA file clients verify the broker with (None without TLS)."""
        return None if self.tls is None else str(self.tls.ca_file)

    @property
    def accounts(self) -> BrokerAccounts:
        """The broker's accounts (over MQTT while it runs, else in its state file)."""
        return BrokerAccounts.from_directory(self.directory, self.config_dir)

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker and wait until it accepts TCP connections."""
        if self._process is not None and self._process.poll() is None:
            return
        conf = prepare_directory(self.directory, self.port, self.host, self.config_dir, self.tls)
        self.accounts.set_gateway(self.gateway.username, self.gateway.password)
        with open(self.directory / "mosquitto.stderr", "ab") as stderr:
            self._process = subprocess.Popen(  # noqa: S603 - the installed broker, no shell
                [mosquitto_binary(), "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        self.pid_path.write_text(f"{self._process.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ConfigurationError(f"mosquitto exited on start: {self._failure()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise ConfigurationError(f"mosquitto did not listen on port {self.port} in {timeout}s")

    def add_client(self, username: str, password: str | None = None) -> Credentials:
        """Give device `username` (its device ID) an account, limited to its own topics.

        Its client ID is its username; its password is `password`, a fresh random one by default.
        """
        credentials = Credentials(username, password or new_password())
        self.accounts.set(credentials.username, credentials.password)
        return credentials

    def add_clients(self, usernames: list[str]) -> list[Credentials]:
        """Give each device of `usernames` an account with a fresh random password."""
        credentials = [Credentials(u, new_password()) for u in usernames]
        self.accounts.set_devices({c.username: c.password for c in credentials})
        return credentials

    def add_gateway(self, username: str, password: str | None = None) -> Credentials:
        """Give one more gateway process an account of its own (client ID = username)."""
        credentials = Credentials(username, password or new_password())
        self.accounts.set_gateway(credentials.username, credentials.password)
        return credentials

    def remove_client(self, username: str) -> None:
        """Disable `username`: its session ends and its login is refused from now on."""
        self.accounts.disable([username])

    def usernames(self) -> list[str]:
        """The accounts in the broker's state file (as last saved)."""
        from devices.broker.dynsec import Roles, StateFile

        roles = Roles.load(self.config_dir / "roles.json")
        return StateFile(self.directory / STATE_FILE, roles).usernames()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after `timeout` seconds)."""
        process, self._process = self._process, None
        if process is None:
            return
        self.pid_path.unlink(missing_ok=True)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _failure(self) -> str:
        assert self._process is not None  # noqa: S101 - only called while one exists
        text = ""
        for path in (self.directory / "mosquitto.stderr", self.log_path):
            if path.exists():
                text += path.read_text(errors="replace")
        return " ".join(text.split())[-500:] or f"exit code {self._process.returncode}"
