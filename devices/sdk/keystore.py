"""The device's Ed25519 key file: created on the device, never copied off it, mode 0600.

Layout of a device directory (see `DeviceFiles`):

- ``device.key``: the private key. With a passphrase it is encrypted with Argon2id and
  AES-256-GCM (`traceability.key_wrapping`, RFC 9106's second recommended cost: 64 MiB); a file
  from before, PKCS#8 encrypted with PBKDF2, still opens and is re-encrypted in place the first
  time it is. Without a passphrase it is PKCS#8 PEM, ``-----BEGIN PRIVATE KEY-----``.
  Created with mode 0600 by ``os.open(..., O_CREAT | O_EXCL, 0o600)``, so it is never
  readable by others, not even for an instant, and an existing key is never overwritten.
- ``device.pub``: one line, base64 (RFC 4648 §4) of the raw 32-byte public key, the form
  ``herbtrace signer add --public-key`` and enrolment take.
- ``outbox.db``: the durable outbox (`devices.sdk.outbox`).
- ``log.vkey``: optional, the log's note verifier key that signs receipts.
- ``broker-ca.pem``: optional, the CA certificate(s) that verify the broker's TLS
  certificate; with it, the device connects only over TLS to a broker the CA vouches for.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.errors import ConfigurationError, InvalidInput, NoteError
from traceability.key_wrapping import (
    HEADER,
    RECOMMENDED,
    Argon2Cost,
    is_legacy,
    replace_key_file,
    unwrap,
    wrap,
)
from traceability.keys import key_id_for, raw_public_key
from traceability.log.note import NoteVerifier

KEY_FILE_MODE = 0o600
DIR_MODE = 0o700


@dataclass(frozen=True)
class DeviceFiles:
    """The paths of one device's files inside its directory."""

    root: Path

    @property
    def key(self) -> Path:
        return self.root / "device.key"

    @property
    def public(self) -> Path:
        return self.root / "device.pub"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox.db"

    @property
    def log_key(self) -> Path:
        return self.root / "log.vkey"

    @property
    def lock(self) -> Path:
        return self.root / "device.lock"

    @property
    def broker_ca(self) -> Path:
        return self.root / "broker-ca.pem"


@dataclass(frozen=True)
class DeviceIdentity:
    """A device's public identity: its key ID (= MQTT username and client ID) and public key."""

    device_id: str
    public_key: bytes

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_key).decode("ascii")


def identity_of(key: Ed25519PrivateKey) -> DeviceIdentity:
    """Return the identity of a device key."""
    public = raw_public_key(key)
    return DeviceIdentity(key_id_for(public), public)


def create_device_key(
    root: Path,
    passphrase: str | None = None,
    key: Ed25519PrivateKey | None = None,
    cost: Argon2Cost = RECOMMENDED,
) -> DeviceIdentity:
    """Generate the device's key in `root` (created 0700 if absent); refuse to replace one.

    `key` installs a given key instead (the demo's public, derived keys); a real device
    always generates its own. Raises ConfigurationError if `root` already holds a key.
    """
    files = DeviceFiles(root)
    root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    key = key or Ed25519PrivateKey.generate()
    pem = (
        wrap(key, passphrase, cost)
        if passphrase
        else key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    try:
        fd = os.open(files.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    except FileExistsError as exc:
        raise ConfigurationError(f"{files.key} already exists: a device keeps its key") from exc
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    identity = identity_of(key)
    files.public.write_text(identity.public_key_b64 + "\n", encoding="ascii")
    return identity


def load_device_key(root: Path, passphrase: str | None = None) -> Ed25519PrivateKey:
    """Load the device key from `root`; ConfigurationError if missing, unreadable or exposed.

    A key file that group or others may read is refused: the private key never leaves
    the device, and on a shared machine a readable file would be a copy off it.
    """
    path = DeviceFiles(root).key
    try:
        mode = path.stat().st_mode & 0o777
        pem = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigurationError(f"no device key at {path}: run `herbtrace device init`") from exc
    if mode & 0o077:
        raise ConfigurationError(f"{path} has mode {mode:04o}; it must be 0600")
    if pem.startswith(HEADER) or is_legacy(pem):
        if not passphrase:
            raise ConfigurationError(f"cannot open {path}: it is encrypted; give its passphrase")
        key = unwrap(pem, passphrase, str(path), "passphrase")
        if is_legacy(pem):
            replace_key_file(path, wrap(key, passphrase))
        return key
    try:
        loaded = serialization.load_pem_private_key(
            pem, password=passphrase.encode() if passphrase else None
        )
    except TypeError as exc:  # encrypted without a passphrase, or the other way round
        raise ConfigurationError(f"cannot open {path}: {exc}") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigurationError(f"cannot open {path}: wrong passphrase or damaged key") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} does not hold an Ed25519 key")
    return loaded


def save_log_key(root: Path, vkey: str) -> NoteVerifier:
    """Check and store the log's verifier key in `root`; InvalidInput if it is not one."""
    verifier = parse_log_key(vkey)
    DeviceFiles(root).log_key.write_text(verifier.to_vkey() + "\n", encoding="utf-8")
    return verifier


def save_broker_ca(root: Path, ca_file: Path) -> Path:
    """Check that `ca_file` holds PEM certificates and store a copy in `root`; return it.

    InvalidInput if the file cannot be read or holds no certificate.
    """
    try:
        pem = ca_file.read_bytes()
        certificates = x509.load_pem_x509_certificates(pem)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{ca_file} is not a PEM CA certificate file: {exc}") from exc
    if not certificates:
        raise InvalidInput(f"{ca_file} holds no certificate")
    path = DeviceFiles(root).broker_ca
    path.write_bytes(pem)
    return path


def load_broker_ca(root: Path) -> str | None:
    """The path of the stored broker CA file of the device in `root`, or None."""
    path = DeviceFiles(root).broker_ca
    return str(path) if path.exists() else None


def load_log_key(root: Path) -> NoteVerifier | None:
    """Return the stored log verifier key of the device in `root`, or None if none is stored."""
    path = DeviceFiles(root).log_key
    if not path.exists():
        return None
    return parse_log_key(path.read_text(encoding="utf-8"))


def parse_log_key(vkey: str) -> NoteVerifier:
    """Parse a log verifier key (``<origin>+<hex id>+<base64>``); InvalidInput if malformed."""
    try:
        return NoteVerifier.from_vkey(vkey.strip())
    except NoteError as exc:
        raise InvalidInput(f"not a log verifier key: {exc}") from exc
