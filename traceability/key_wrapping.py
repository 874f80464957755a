"""Private keys encrypted at rest under a passphrase, with the memory-hard Argon2id KDF.

A wrapped key is one header line and one canonical JSON object (RFC 8785) that states
everything needed to open it again:

    herbtrace encrypted ed25519 key 1
    {"cipher":"AES-256-GCM","ciphertext":"…","kdf":{"iterations":3,"lanes":4,
     "memory_kib":65536,"name":"argon2id","salt":"…"},"nonce":"…","public_key":"…"}

The key-encryption key is Argon2id (RFC 9106) of the passphrase and a random 16-byte salt; the
32-byte Ed25519 seed is sealed with AES-256-GCM under it, and the header line and every field
but the ciphertext are the associated data, so the KDF parameters and the public key cannot
be changed without the passphrase (a file cannot be made cheaper to attack by editing it).

Cost: RFC 9106 §4's SECOND RECOMMENDED option (t = 3 iterations, p = 4 lanes, m = 2^16 KiB =
64 MiB), for machines that cannot spare the first option's 2 GiB for every process that opens
the log key; it is above OWASP's Password Storage Cheat Sheet minimums for Argon2id (m = 19 MiB,
t = 2, p = 1). `DEVELOPMENT_FAST` exists only so test suites that make thousands of keys run in
reasonable time; settings refuse it in production.

Key files written before this format are PKCS#8 PEM encrypted by `cryptography`'s
BestAvailableEncryption: PBES2 with PBKDF2-HMAC-SHA256 at 2,048 iterations. They still open,
and `herbtrace init` (the log key) and `herbtrace import epcis` (the import key) re-wrap them.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from traceability.errors import ConfigurationError

HEADER = b"herbtrace encrypted ed25519 key 1\n"
"""The first line of every wrapped key (and how a migration tells the formats apart)."""
LEGACY_HEADER = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
"""The first line of a PKCS#8 key encrypted with PBKDF2 (the format before this one)."""
SALT_BYTES = 16
"""RFC 9106 §4: a 128-bit salt."""


@dataclass(frozen=True, slots=True)
class Argon2Cost:
    """Argon2id's cost parameters (RFC 9106 §3.1): passes, lanes, and memory in KiB."""

    iterations: int
    lanes: int
    memory_kib: int

    def check(self) -> None:
        """Refuse (ConfigurationError) parameters outside what a key file may ask for.

        A hostile file could ask for terabytes.
        """
        if not (
            1 <= self.iterations <= 64
            and 1 <= self.lanes <= 16
            and 8 * self.lanes <= self.memory_kib <= 4 * 1024 * 1024
        ):
            raise ConfigurationError(f"key file KDF parameters out of range: {self}")


RECOMMENDED = Argon2Cost(iterations=3, lanes=4, memory_kib=2**16)
"""RFC 9106 §4, SECOND RECOMMENDED option: t = 3, p = 4, m = 64 MiB."""
DEVELOPMENT_FAST = Argon2Cost(iterations=1, lanes=1, memory_kib=64)
"""For test suites only (HERBTRACE_KEY_KDF_COST=development-fast); refused in production."""


COSTS = {"rfc9106": RECOMMENDED, "development-fast": DEVELOPMENT_FAST}
"""The costs HERBTRACE_KEY_KDF_COST names."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _kek(passphrase: str, salt: bytes, cost: Argon2Cost) -> bytes:
    cost.check()
    return Argon2id(
        salt=salt,
        length=32,
        iterations=cost.iterations,
        lanes=cost.lanes,
        memory_cost=cost.memory_kib,
    ).derive(passphrase.encode())


def _associated(fields: dict[str, Any]) -> bytes:
    return HEADER + rfc8785.dumps({k: v for k, v in fields.items() if k != "ciphertext"})


def is_legacy(blob: bytes) -> bool:
    """True for a key in the old PBKDF2 PKCS#8 format, which `wrap` should replace."""
    return blob.startswith(LEGACY_HEADER)


def wrap(key: Ed25519PrivateKey, passphrase: str, cost: Argon2Cost = RECOMMENDED) -> bytes:
    """Encrypt a private key under `passphrase` (Argon2id, then AES-256-GCM)."""
    if not passphrase:
        raise ConfigurationError("a key cannot be encrypted with an empty passphrase")
    salt, nonce = os.urandom(SALT_BYTES), os.urandom(12)
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    fields: dict[str, Any] = {
        "cipher": "AES-256-GCM",
        "kdf": {
            "name": "argon2id",
            "iterations": cost.iterations,
            "lanes": cost.lanes,
            "memory_kib": cost.memory_kib,
            "salt": _b64(salt),
        },
        "nonce": _b64(nonce),
        "public_key": _b64(public),
    }
    sealed = AESGCM(_kek(passphrase, salt, cost)).encrypt(nonce, seed, _associated(fields))
    fields["ciphertext"] = _b64(sealed)
    return HEADER + rfc8785.dumps(fields) + b"\n"


def unwrap(blob: bytes, passphrase: str, what: str, variable: str) -> Ed25519PrivateKey:
    """Decrypt a wrapped key, in this format or the legacy PKCS#8 one.

    ConfigurationError names `what` (e.g. "the log key") and the passphrase's `variable`
    when the passphrase is wrong or the key is damaged.
    """
    wrong = f"cannot decrypt {what}: wrong {variable} or damaged key"
    if is_legacy(blob):
        return _unwrap_legacy(blob, passphrase, wrong, what)
    if not blob.startswith(HEADER):
        raise ConfigurationError(f"{wrong} (not an encrypted herbtrace key)")
    try:
        fields = json.loads(blob[len(HEADER) :])
        kdf = fields["kdf"]
        if fields["cipher"] != "AES-256-GCM" or kdf["name"] != "argon2id":
            raise ConfigurationError(f"{what} uses an unknown cipher or KDF")
        cost = Argon2Cost(int(kdf["iterations"]), int(kdf["lanes"]), int(kdf["memory_kib"]))
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(fields["nonce"], validate=True)
        sealed = base64.b64decode(fields["ciphertext"], validate=True)
        public = base64.b64decode(fields["public_key"], validate=True)
        associated = _associated(fields)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ConfigurationError(f"{wrong} (malformed key file)") from exc
    try:
        seed = AESGCM(_kek(passphrase, salt, cost)).decrypt(nonce, sealed, associated)
        key = Ed25519PrivateKey.from_private_bytes(seed)
    except (InvalidTag, ValueError) as exc:
        raise ConfigurationError(wrong) from exc
    if (
        key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        != public
    ):
        raise ConfigurationError(f"{what}'s public half does not match its private half")
    return key


def _unwrap_legacy(blob: bytes, passphrase: str, wrong: str, what: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(blob, password=passphrase.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ConfigurationError(wrong) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{what} is not an Ed25519 key")
    return key


def describe(blob: bytes) -> str:
    """Say how a stored key is encrypted, for messages ("Argon2id t=3 p=4 m=65536 KiB")."""
    if is_legacy(blob):
        return "PKCS#8 with PBKDF2"
    try:
        kdf = json.loads(blob[len(HEADER) :])["kdf"]
        return f"Argon2id t={kdf['iterations']} p={kdf['lanes']} m={kdf['memory_kib']} KiB"
    except (ValueError, KeyError, TypeError):
        return "an unknown format"


def replace_key_file(path: Path, data: bytes) -> None:
    """Write `data` over the key file at `path` atomically.

    A 0600 file beside it is written, synced, then renamed over it (atomic on POSIX), so a
    crash leaves the old file or the new one.
    """
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
