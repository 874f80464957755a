"""Rendering `deploy/mosquitto/` (configuration template and ACL) into a broker directory.

A broker directory holds everything one Mosquitto instance reads and writes::

    <directory>/mosquitto.conf   rendered from deploy/mosquitto/mosquitto.conf.template
    <directory>/acl              copied from deploy/mosquitto/acl
    <directory>/passwd           Mosquitto password file (PBKDF2-SHA512 lines, `user:$7$…`)
    <directory>/data/            Mosquitto's persistence (sessions, queued messages)
    <directory>/mosquitto.log    its log
"""

from __future__ import annotations

import getpass
import os
import shutil
from pathlib import Path

from traceability.errors import ConfigurationError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
"""Where the project keeps the broker's configuration template and ACL."""

GATEWAY_USER = "herbtrace-gateway"
"""The MQTT username of the ingest gateway(s); the ACL grants it every device's topics."""

TEMPLATE = "mosquitto.conf.template"
ACL = "acl"


def render_config(
    directory: Path,
    port: int,
    bind_address: str = "127.0.0.1",
    config_dir: Path = CONFIG_DIR,
) -> str:
    """Return the Mosquitto configuration of a broker on `port` with its files in `directory`."""
    if not 0 < port < 65536:
        raise ConfigurationError(f"broker port must be 1-65535, not {port}")
    for char in "\n\r \t#":
        if char in str(directory):
            raise ConfigurationError(f"broker directory {directory} contains {char!r}")
    template = _read(config_dir / TEMPLATE)
    return template.format(
        port=port,
        bind_address=bind_address,
        directory=directory.resolve(),
        user=getpass.getuser(),
    )


def prepare_directory(
    directory: Path,
    port: int,
    bind_address: str = "127.0.0.1",
    config_dir: Path = CONFIG_DIR,
) -> Path:
    """Write the configuration, ACL and an empty password file (if none) into `directory`.

    Returns the path of the rendered `mosquitto.conf`. An existing password file is kept, so
    enrolled devices keep their credentials when the broker is reconfigured.
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data").mkdir(exist_ok=True)
    conf = directory / "mosquitto.conf"
    conf.write_text(render_config(directory, port, bind_address, config_dir))
    shutil.copyfile(config_dir / ACL, directory / ACL)
    passwd = directory / "passwd"
    if not passwd.exists():
        passwd.touch(mode=0o600)
    os.chmod(passwd, 0o600)
    return conf


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the broker configuration {path}: {exc}") from exc
