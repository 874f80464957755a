"""The project's Mosquitto broker: its configuration, password file and a local process."""

from devices.broker.config import (
    CONFIG_DIR,
    GATEWAY_USER,
    prepare_directory,
    render_config,
)
from devices.broker.passwords import Credentials, PasswordFile, new_password
from devices.broker.process import LocalBroker, free_port, reload_broker

__all__ = [
    "CONFIG_DIR",
    "GATEWAY_USER",
    "Credentials",
    "LocalBroker",
    "PasswordFile",
    "free_port",
    "new_password",
    "prepare_directory",
    "reload_broker",
    "render_config",
]
