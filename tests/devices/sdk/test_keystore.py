"""The device key file: created on the device with mode 0600, encrypted with a passphrase."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from support import run_herbtrace

from devices.sdk.device import Device, init_device
from devices.sdk.keystore import (
    DeviceFiles,
    create_device_key,
    load_device_key,
    load_log_key,
    parse_log_key,
)
from traceability.errors import ConfigurationError, InvalidInput
from traceability.keys import key_id_for, raw_public_key
from traceability.log.note import NoteSigner


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_file_is_private(tmp_path: Path) -> None:
    """The key file is 0600 and its directory 0700, whatever the umask."""
    old = os.umask(0)
    try:
        identity = create_device_key(tmp_path / "dev")
    finally:
        os.umask(old)
    files = DeviceFiles(tmp_path / "dev")
    assert mode(files.key) == 0o600
    assert mode(files.root) == 0o700
    assert files.key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert base64.b64decode(files.public.read_text()) == identity.public_key
    key = load_device_key(files.root)
    assert key_id_for(raw_public_key(key)) == identity.device_id


def test_passphrase_encrypts_the_key(tmp_path: Path) -> None:
    """With a passphrase the key is encrypted (Argon2id); a wrong or missing passphrase is
    refused."""
    identity = create_device_key(tmp_path, "correct horse")
    assert DeviceFiles(tmp_path).key.read_bytes().startswith(b"herbtrace encrypted ed25519 key")
    assert raw_public_key(load_device_key(tmp_path, "correct horse")) == identity.public_key
    with pytest.raises(ConfigurationError, match="wrong passphrase"):
        load_device_key(tmp_path, "battery staple")
    with pytest.raises(ConfigurationError, match="cannot open"):
        load_device_key(tmp_path)


def test_an_existing_key_is_never_replaced(tmp_path: Path) -> None:
    """Creating a key where one exists fails and leaves the old key untouched."""
    create_device_key(tmp_path)
    before = DeviceFiles(tmp_path).key.read_bytes()
    with pytest.raises(ConfigurationError, match="already exists"):
        create_device_key(tmp_path)
    assert DeviceFiles(tmp_path).key.read_bytes() == before


def test_exposed_or_missing_key_is_refused(tmp_path: Path) -> None:
    """A key file others may read is refused, and a missing one names `device init`."""
    with pytest.raises(ConfigurationError, match="herbtrace device init"):
        load_device_key(tmp_path)
    create_device_key(tmp_path)
    DeviceFiles(tmp_path).key.chmod(0o644)
    with pytest.raises(ConfigurationError, match="must be 0600"):
        load_device_key(tmp_path)


def test_log_key_is_checked_and_stored(tmp_path: Path) -> None:
    """init_device stores a valid log verifier key; a malformed one is InvalidInput."""
    verifier = NoteSigner.generate("test.herbtrace/log").verifier()
    init_device(tmp_path, log_key=verifier)
    assert load_log_key(tmp_path) == verifier
    with pytest.raises(InvalidInput, match="not a log verifier key"):
        parse_log_key("test.herbtrace/log+00000000+AAAA")


def test_one_process_at_a_time(tmp_path: Path) -> None:
    """A device directory in use cannot be opened a second time."""
    init_device(tmp_path)
    with Device(tmp_path), pytest.raises(ConfigurationError, match="in use"):
        Device(tmp_path)
    Device(tmp_path).close()  # released on close


def test_device_init_command(tmp_path: Path) -> None:
    """`herbtrace device init` prints the key ID and public key and writes a 0600 key file."""
    result = run_herbtrace(["device", "init", "--dir", "dev"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    key = load_device_key(tmp_path / "dev")
    public = raw_public_key(key)
    assert f"device ID: {key_id_for(public)}" in result.stdout
    assert f"public key: {base64.b64encode(public).decode()}" in result.stdout
    assert mode(DeviceFiles(tmp_path / "dev").key) == 0o600
    again = run_herbtrace(["device", "init", "--dir", "dev"], cwd=tmp_path)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert raw_public_key(load_device_key(tmp_path / "dev")) == public


def test_device_init_with_passphrase_from_environment(tmp_path: Path) -> None:
    """The passphrase comes from HERBTRACE_DEVICE_KEY_PASSPHRASE, never from argv."""
    result = run_herbtrace(
        ["device", "init", "--dir", "dev"],
        cwd=tmp_path,
        HERBTRACE_DEVICE_KEY_PASSPHRASE="s3cret",  # noqa: S106 - a test passphrase
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dev/device.key").read_bytes().startswith(b"herbtrace encrypted ed25519")
    load_device_key(tmp_path / "dev", "s3cret")
