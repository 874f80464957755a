"""Rendering `deploy/mosquitto/` (configuration template and access rules) into a broker directory.

A broker directory holds everything one Mosquitto instance reads and writes::

    <directory>/mosquitto.conf            rendered from deploy/mosquitto/mosquitto.conf.template
    <directory>/dynamic-security.json     the dynamic security plugin's accounts and roles
    <directory>/admin.json                how to reach the broker as its admin (mode 0600)
    <directory>/data/                     Mosquitto's persistence (sessions, queued messages)
    <directory>/mosquitto.log             its log
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

from devices.broker.dynsec import (
    ACCESS_FILE,
    ADMIN_USER,
    STATE_FILE,
    BrokerAccess,
    Roles,
    StateFile,
)
from devices.broker.passwords import new_password
from traceability.errors import ConfigurationError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
"""Where the project keeps the broker's configuration template and access rules."""

GATEWAY_USER = "herbtrace-gateway"
"""The MQTT username (and client ID) of the default ingest gateway; each further gateway
process has an account of its own with the gateway role."""

TEMPLATE = "mosquitto.conf.template"
PLAIN_LISTENER = "listener-plain.template"
TLS_LISTENER = "listener-tls.template"
ROLES = "roles.json"
TLS_PORT = 8883
"""The IANA port of MQTT over TLS."""

DYNSEC_PLUGIN_PATHS = (
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
    "/usr/lib64/mosquitto_dynamic_security.so",
    "/usr/local/lib/mosquitto_dynamic_security.so",
)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The operator's TLS files for the broker.

    The CA that devices trust, the server's certificate (issued by it, naming the broker's
    host) and its private key.
    """

    ca_file: Path
    cert_file: Path
    key_file: Path


def dynsec_plugin() -> str:
    """Return the path of Mosquitto's dynamic security plugin; ConfigurationError if absent.

    HERBTRACE_MOSQUITTO_DYNSEC overrides the search.
    """
    configured = os.environ.get("HERBTRACE_MOSQUITTO_DYNSEC")
    candidates = (configured,) if configured else DYNSEC_PLUGIN_PATHS
    for path in candidates:
        if path and Path(path).is_file():
            return path
    raise ConfigurationError(
        "mosquitto_dynamic_security.so is not installed (package mosquitto, 2.0 or later)"
    )


def render_config(
    directory: Path,
    port: int,
    bind_address: str = "127.0.0.1",
    config_dir: Path = CONFIG_DIR,
    tls: TlsFiles | None = None,
) -> str:
    """Return the Mosquitto configuration of a broker on `port` with its files in `directory`.

    With `tls`, the only listener speaks TLS; without, the only listener is plain MQTT.
    """
    if not 0 < port < 65536:
        raise ConfigurationError(f"broker port must be 1-65535, not {port}")
    paths = [directory] + ([tls.ca_file, tls.cert_file, tls.key_file] if tls else [])
    for path in paths:
        for char in "\n\r \t#{}":
            if char in str(path):
                raise ConfigurationError(f"broker path {path} contains {char!r}")
    if tls is not None:
        for path in (tls.ca_file, tls.cert_file, tls.key_file):
            if not path.is_file():
                raise ConfigurationError(f"TLS file {path} does not exist")
        listener = _read(config_dir / TLS_LISTENER).format(
            port=port,
            bind_address=bind_address,
            ca_file=tls.ca_file.resolve(),
            cert_file=tls.cert_file.resolve(),
            key_file=tls.key_file.resolve(),
        )
    else:
        listener = _read(config_dir / PLAIN_LISTENER).format(port=port, bind_address=bind_address)
    return _read(config_dir / TEMPLATE).format(
        listener=listener.strip(),
        directory=directory.resolve(),
        dynsec_plugin=dynsec_plugin(),
        user=getpass.getuser(),
    )


def prepare_directory(
    directory: Path,
    port: int,
    bind_address: str = "127.0.0.1",
    config_dir: Path = CONFIG_DIR,
    tls: TlsFiles | None = None,
    admin_host: str | None = None,
) -> Path:
    """Write the broker's configuration into `directory`; return the rendered `mosquitto.conf`.

    The first time, the plugin's state with a new admin account is written too; an existing
    state is kept, so accounts survive reconfiguration. `admin.json` is
    (re)written with where the broker listens (`admin_host`, default `bind_address`, or
    127.0.0.1 for a wildcard address) and the admin's password.
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data").mkdir(exist_ok=True)
    conf = directory / "mosquitto.conf"
    conf.write_text(render_config(directory, port, bind_address, config_dir, tls))
    access_path = directory / ACCESS_FILE
    state = StateFile(directory / STATE_FILE, Roles.load(config_dir / ROLES))
    if state.path.exists() and access_path.exists():
        password = BrokerAccess.load(access_path).password
    else:
        password = new_password()
        state.create(password)
    host = admin_host or (bind_address if bind_address not in ("0.0.0.0", "::") else "127.0.0.1")  # noqa: S104
    ca_file = str(tls.ca_file.resolve()) if tls else None
    BrokerAccess(host, port, ADMIN_USER, password, ca_file).save(access_path)
    return conf


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the broker configuration {path}: {exc}") from exc
