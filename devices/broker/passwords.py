"""Broker credentials: an MQTT username with its password, and fresh random passwords."""

from __future__ import annotations

import secrets
from dataclasses import dataclass


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
