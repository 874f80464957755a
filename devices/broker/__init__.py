"""The project's Mosquitto broker: its configuration, accounts and a local process."""

from devices.broker.accounts import BrokerAccounts, broker_running
from devices.broker.config import (
    CONFIG_DIR,
    GATEWAY_USER,
    TLS_PORT,
    TlsFiles,
    prepare_directory,
    render_config,
)
from devices.broker.dynsec import ADMIN_USER, BrokerAccess
from devices.broker.passwords import Credentials, new_password
from devices.broker.process import LocalBroker, free_port

__all__ = [
    "ADMIN_USER",
    "CONFIG_DIR",
    "GATEWAY_USER",
    "TLS_PORT",
    "BrokerAccess",
    "BrokerAccounts",
    "Credentials",
    "LocalBroker",
    "TlsFiles",
    "broker_running",
    "free_port",
    "new_password",
    "prepare_directory",
    "render_config",
]
