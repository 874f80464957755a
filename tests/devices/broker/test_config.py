"""Rendering the broker configuration from deploy/mosquitto."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.broker import CONFIG_DIR, GATEWAY_USER, prepare_directory, render_config
from traceability.errors import ConfigurationError


def test_rendered_config_is_the_template_for_this_port_and_directory(tmp_path: Path) -> None:
    """The configuration listens on the given port, refuses anonymous clients, and uses
    the password file and ACL in the broker's directory."""
    text = render_config(tmp_path, 18883)
    lines = {line for line in text.splitlines() if line and not line.startswith("#")}
    assert "listener 18883 127.0.0.1" in lines
    assert "allow_anonymous false" in lines
    assert f"password_file {tmp_path.resolve()}/passwd" in lines
    assert f"acl_file {tmp_path.resolve()}/acl" in lines
    assert "{" not in text


def test_prepare_writes_acl_and_keeps_existing_passwords(tmp_path: Path) -> None:
    """Preparing a directory copies the ACL and keeps a password file already there."""
    (tmp_path / "passwd").write_text("someone:$7$kept\n")
    conf = prepare_directory(tmp_path, 18883)
    assert conf.read_text() == render_config(tmp_path, 18883)
    acl = (tmp_path / "acl").read_text()
    assert acl == (CONFIG_DIR / "acl").read_text()
    assert "pattern write herbtrace/v1/devices/%u/events" in acl
    assert f"user {GATEWAY_USER}" in acl
    assert (tmp_path / "passwd").read_text() == "someone:$7$kept\n"


@pytest.mark.parametrize("port", [0, 65536])
def test_bad_port_is_refused(tmp_path: Path, port: int) -> None:
    """Ports outside 1-65535 are a ConfigurationError."""
    with pytest.raises(ConfigurationError):
        render_config(tmp_path, port)


def test_directory_that_would_break_the_config_is_refused(tmp_path: Path) -> None:
    """A directory name with a space or newline cannot be written into mosquitto.conf."""
    with pytest.raises(ConfigurationError):
        render_config(tmp_path / "a b", 18883)
