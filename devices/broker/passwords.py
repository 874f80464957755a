"""The Mosquitto password file: adding and removing clients through `mosquitto_passwd`.

Each line is ``<username>:$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512 hash>``.
Passwords never appear on a command line: a new one is written to a private temporary
file that `mosquitto_passwd -U` hashes in place, and the hashed line is then merged into
the password file under an exclusive lock and swapped in atomically (write, then rename).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from traceability.errors import ConfigurationError, InvalidInput
from traceability.storage.named_lock import file_lock

_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True, slots=True)
class Credentials:
    """An MQTT username and password."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials({self.username!r}, password=…)"


def new_password() -> str:
    """Return a fresh random broker password (192 bits, URL-safe base64)."""
    return secrets.token_urlsafe(24)


def mosquitto_passwd() -> str:
    """Return the path of `mosquitto_passwd`; ConfigurationError if it is not installed."""
    found = shutil.which("mosquitto_passwd")
    if found is None:
        raise ConfigurationError("mosquitto_passwd is not installed (package mosquitto)")
    return found


class PasswordFile:
    """A Mosquitto password file that several processes may update at once."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, username: str, password: str) -> None:
        """Add `username` with `password`, or replace its password."""
        self.set_many({username: password})

    def set_many(self, credentials: dict[str, str]) -> None:
        """Add or replace several clients at once (one `mosquitto_passwd` run)."""
        for username, password in credentials.items():
            _check_username(username)
            if not password or any(c in password for c in "\n\r:"):
                raise InvalidInput("a broker password must be non-empty, without ':' or newlines")
        if not credentials:
            return
        hashed = self._hash(credentials)
        with self._locked():
            lines = [line for line in self._lines() if _user_of(line) not in credentials]
            self._write([*lines, *hashed])

    def remove(self, username: str) -> bool:
        """Remove `username`; return whether it was there."""
        with self._locked():
            lines = self._lines()
            kept = [line for line in lines if _user_of(line) != username]
            if len(kept) == len(lines):
                return False
            self._write(kept)
            return True

    def usernames(self) -> list[str]:
        """Return the usernames in the file, in file order."""
        return [_user_of(line) for line in self._lines()]

    def _hash(self, credentials: dict[str, str]) -> list[str]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=".passwd-new-")
        try:
            with os.fdopen(fd, "w") as plain:
                plain.write("".join(f"{u}:{p}\n" for u, p in credentials.items()))
            result = subprocess.run(  # noqa: S603 - fixed program, no shell, no secret in argv
                [mosquitto_passwd(), "-U", name],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if result.returncode != 0:
                raise ConfigurationError(f"mosquitto_passwd failed: {result.stderr.strip()}")
            lines = Path(name).read_text().split()
        finally:
            Path(name).unlink(missing_ok=True)
        if [_user_of(line) for line in lines] != list(credentials) or not all(
            ":$" in line for line in lines
        ):
            raise ConfigurationError("mosquitto_passwd wrote unexpected lines")
        return lines

    def _locked(self) -> AbstractContextManager[None]:
        return file_lock(self.path.with_name(self.path.name + ".lock"))

    def _lines(self) -> list[str]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        return [line for line in text.splitlines() if line.strip()]

    def _write(self, lines: list[str]) -> None:
        fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=".passwd-")
        with os.fdopen(fd, "w") as out:
            out.write("".join(line + "\n" for line in lines))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(name, 0o600)
        os.replace(name, self.path)


def _user_of(line: str) -> str:
    return line.split(":", 1)[0]


def _check_username(username: str) -> None:
    if not _USERNAME.fullmatch(username):
        raise InvalidInput(
            f"a broker username is 1-64 letters, digits, '_', '.' or '-', not {username!r}"
        )
