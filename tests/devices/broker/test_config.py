"""Rendering the broker configuration from deploy/mosquitto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devices.broker import (
    ADMIN_USER,
    TLS_PORT,
    BrokerAccess,
    TlsFiles,
    prepare_directory,
    render_config,
)
from traceability.errors import ConfigurationError


def test_rendered_config_is_the_template_for_this_port_and_directory(tmp_path: Path) -> None:
    """The configuration listens on the given port, refuses anonymous clients, and leaves
    accounts and access rules to the dynamic security plugin's state in the directory."""
    text = render_config(tmp_path, 18883)
    lines = {line for line in text.splitlines() if line and not line.startswith("#")}
    assert "listener 18883 127.0.0.1" in lines
    assert "allow_anonymous false" in lines
    assert f"plugin_opt_config_file {tmp_path.resolve()}/dynamic-security.json" in lines
    assert not any(line.startswith(("password_file", "acl_file")) for line in lines)
    assert "{" not in text


def test_tls_config_has_only_a_tls_listener(tmp_path: Path) -> None:
    """With TLS files, the one listener carries the CA, certificate and key; no plain one."""
    files = [tmp_path / n for n in ("ca.pem", "cert.pem", "key.pem")]
    for path in files:
        path.write_text("x")
    text = render_config(tmp_path, TLS_PORT, "0.0.0.0", tls=TlsFiles(*files))  # noqa: S104
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert [line for line in lines if line.startswith("listener")] == ["listener 8883 0.0.0.0"]
    assert f"cafile {files[0].resolve()}" in lines
    assert f"certfile {files[1].resolve()}" in lines
    assert f"keyfile {files[2].resolve()}" in lines


def test_prepare_keeps_existing_accounts_and_admin(tmp_path: Path) -> None:
    """Preparing a directory again keeps its accounts and admin password; admin.json is
    private and names the broker's new port."""
    conf = prepare_directory(tmp_path, 18883)
    assert conf.read_text() == render_config(tmp_path, 18883)
    state = (tmp_path / "dynamic-security.json").read_text()
    assert ADMIN_USER in state
    assert json.loads(state)["defaultACLAccess"]["subscribe"] is False
    admin = BrokerAccess.load(tmp_path / "admin.json")
    assert (tmp_path / "admin.json").stat().st_mode & 0o777 == 0o600
    prepare_directory(tmp_path, 18884)
    assert (tmp_path / "dynamic-security.json").read_text() == state
    again = BrokerAccess.load(tmp_path / "admin.json")
    assert (again.password, again.port) == (admin.password, 18884)


@pytest.mark.parametrize("port", [0, 65536])
def test_bad_port_is_refused(tmp_path: Path, port: int) -> None:
    """Ports outside 1-65535 are a ConfigurationError."""
    with pytest.raises(ConfigurationError):
        render_config(tmp_path, port)


def test_directory_that_would_break_the_config_is_refused(tmp_path: Path) -> None:
    """A directory name with a space or newline cannot be written into mosquitto.conf."""
    with pytest.raises(ConfigurationError):
        render_config(tmp_path / "a b", 18883)
