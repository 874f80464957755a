"""The Mosquitto password file: hashed lines via mosquitto_passwd, safe concurrent updates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from devices.broker import PasswordFile, new_password
from traceability.errors import InvalidInput


def test_set_replace_and_remove(tmp_path: Path) -> None:
    """Passwords are stored hashed (PBKDF2-SHA512, `$7$`), replaced in place, and removed."""
    passwords = PasswordFile(tmp_path / "passwd")
    secret = new_password()
    passwords.set("a" * 32, secret)
    passwords.set("gateway", "other")
    text = (tmp_path / "passwd").read_text()
    assert secret not in text
    assert text.startswith("a" * 32 + ":$7$")
    passwords.set("a" * 32, "changed")
    assert passwords.usernames() == ["gateway", "a" * 32]
    assert (tmp_path / "passwd").stat().st_mode & 0o777 == 0o600
    assert passwords.remove("a" * 32) is True
    assert passwords.remove("a" * 32) is False
    assert passwords.usernames() == ["gateway"]


def test_concurrent_updates_lose_nothing(tmp_path: Path) -> None:
    """Twenty clients added at once from several threads all end up in the file."""
    passwords = PasswordFile(tmp_path / "passwd")
    names = [f"device{n:02d}" for n in range(20)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: passwords.set(n, new_password()), names))
    assert sorted(passwords.usernames()) == names


@pytest.mark.parametrize(
    ("username", "password"),
    [("", "x"), ("a:b", "x"), ("a b", "x"), ("#", "x"), ("ok", ""), ("ok", "a\nb"), ("ok", "a:b")],
)
def test_bad_usernames_and_passwords_are_refused(
    tmp_path: Path, username: str, password: str
) -> None:
    """Names and passwords that would corrupt the file are refused; the file is unchanged."""
    passwords = PasswordFile(tmp_path / "passwd")
    passwords.set("keep", "me")
    before = (tmp_path / "passwd").read_text()
    with pytest.raises(InvalidInput):
        passwords.set(username, password)
    assert (tmp_path / "passwd").read_text() == before
