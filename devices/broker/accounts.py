"""One broker's device and gateway accounts, wherever the broker is: `BrokerAccounts`.

While the broker runs, accounts change over MQTT as its admin (`dynsec.BrokerAdmin`): a
disabled device is disconnected at once. A local broker directory whose broker is stopped
is changed in its state file, which the broker reads when it starts.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from pathlib import Path

from devices.broker.config import CONFIG_DIR, ROLES
from devices.broker.dynsec import (
    ACCESS_FILE,
    GATEWAY_ROLE,
    STATE_FILE,
    BrokerAccess,
    BrokerAdmin,
    Roles,
    StateFile,
)
from traceability.errors import ConfigurationError
from traceability.settings import Settings

PID_FILE = "mosquitto.pid"


def broker_running(directory: Path) -> bool:
    """Whether the broker whose PID file is in `directory` is alive."""
    try:
        pid = int((directory / PID_FILE).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


class BrokerAccounts:
    """Creates, re-keys and disables accounts of one broker (see the module docstring)."""

    def __init__(
        self, access: BrokerAccess, directory: Path | None = None, config_dir: Path = CONFIG_DIR
    ) -> None:
        self.access = access
        self.directory = directory
        self.roles = Roles.load(config_dir / ROLES)
        self.admin = BrokerAdmin(access, self.roles)

    @classmethod
    def from_directory(cls, directory: Path, config_dir: Path = CONFIG_DIR) -> BrokerAccounts:
        """The accounts of the broker rendered into `directory` (its `admin.json`)."""
        return cls(BrokerAccess.load(directory / ACCESS_FILE), directory, config_dir)

    @classmethod
    def from_settings(cls, settings: Settings) -> BrokerAccounts | None:
        """From HERBTRACE_BROKER_DIR, else from HERBTRACE_MQTT_ADMIN_PASSWORD; None without either.

        With the admin password, HERBTRACE_MQTT_HOST, _PORT, _CA_FILE and _ADMIN_USERNAME apply.
        """
        if settings.broker_dir:
            return cls.from_directory(Path(settings.broker_dir))
        if not settings.mqtt_admin_password:
            return None
        access = BrokerAccess(
            settings.mqtt_host,
            settings.mqtt_port,
            settings.mqtt_admin_username,
            settings.mqtt_admin_password,
            settings.mqtt_ca_file,
        )
        return cls(access)

    @property
    def offline(self) -> bool:
        """Whether changes go to the state file: the broker is local and not running.

        Not running means no live process in its PID file (which only LocalBroker and
        `mosquitto -d` write) and nothing listening where admin.json says it listens.
        """
        if self.directory is None or broker_running(self.directory):
            return False
        try:
            with socket.create_connection((self.access.host, self.access.port), timeout=1.0):
                return False
        except OSError:
            return True

    def set(self, username: str, password: str) -> None:
        """Create a device's account (username = client ID = device ID), or re-key it."""
        self.set_devices({username: password})

    def set_devices(self, devices: dict[str, str]) -> None:
        """Create or re-key several device accounts at once."""
        if self.offline:
            assert self.directory is not None  # noqa: S101 - offline implies a directory
            roles = [self.roles.device_role(d) for d in devices]
            names = {d: [r["rolename"]] for d, r in zip(devices, roles, strict=True)}
            self._state().put_clients(devices, names, roles)
        else:
            self.admin.put_devices(devices)

    def set_gateway(self, username: str, password: str) -> None:
        """Create a gateway's account (client ID = username), or re-key it."""
        if self.offline:
            role = [self.roles.role(GATEWAY_ROLE)]
            self._state().put_clients({username: password}, {username: [GATEWAY_ROLE]}, role)
        else:
            self.admin.put_gateway(username, password)

    def remove(self, username: str) -> None:
        """Disable an account: its session ends within the second and it cannot log in."""
        self.disable([username])

    def disable(self, usernames: Iterable[str]) -> list[str]:
        """Disable accounts; return those the broker does not have (nothing to disable).

        A stopped local broker's accounts are deleted from its state file instead.
        """
        names = list(usernames)
        if not names:
            return []
        if self.offline:
            state = self._state()
            return [u for u in names if not state.remove_client(u)]
        return self.admin.disable(names)

    def _state(self) -> StateFile:
        assert self.directory is not None  # noqa: S101 - only called offline
        path = self.directory / STATE_FILE
        if not path.exists():
            raise ConfigurationError(f"no broker state in {self.directory}")
        return StateFile(path, self.roles)
