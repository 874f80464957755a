"""The EPCIS import signer's key: an Ed25519 key in a PKCS#8 PEM file, encrypted at rest.

The file is encrypted with `HERBTRACE_IMPORT_KEY_PASSPHRASE` (Argon2id and AES-256-GCM,
traceability/key_wrapping.py) and written with mode 0600; a file from before, PKCS#8 encrypted
with PBKDF2, is re-encrypted in place by `upgrade_import_key`.

The key lives in a file rather than in the database so the log operator's database never
holds a key that may sign domain events; only its public half is registered, with role
`importer`.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.errors import ConfigurationError, InvalidInput
from traceability.key_wrapping import (
    RECOMMENDED,
    Argon2Cost,
    describe,
    is_legacy,
    replace_key_file,
)
from traceability.keys import decrypt_private_key, encrypt_private_key

PASSPHRASE_VARIABLE = "HERBTRACE_IMPORT_KEY_PASSPHRASE"  # noqa: S105 - a name, not a secret


def create_import_key(
    path: Path, passphrase: str, cost: Argon2Cost = RECOMMENDED
) -> Ed25519PrivateKey:
    """Generate a key and write it, encrypted, to a new file `path`; InvalidInput if it exists."""
    key = Ed25519PrivateKey.generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise InvalidInput(f"{path} exists already; not overwriting a key") from exc
    with os.fdopen(fd, "wb") as out:
        out.write(encrypt_private_key(key, passphrase, cost))
    return key


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the import key {path}: {exc.strerror}") from exc


def load_import_key(path: Path, passphrase: str) -> Ed25519PrivateKey:
    """Read and decrypt the import key; ConfigurationError naming what is wrong."""
    return decrypt_private_key(
        _read(path), passphrase, f"the import key {path}", PASSPHRASE_VARIABLE
    )


def upgrade_import_key(path: Path, passphrase: str, cost: Argon2Cost = RECOMMENDED) -> str | None:
    """Re-encrypt an import key file in the legacy PBKDF2 format with Argon2id, in place.

    The same key, a new wrapping: written to a 0600 file beside it, flushed, then renamed
    over it (atomic on POSIX), so a crash leaves the old file or the new, never half of one.
    Returns what changed, or None if the file is current.
    """
    old = _read(path)
    if not is_legacy(old):
        return None
    key = decrypt_private_key(old, passphrase, f"the import key {path}", PASSPHRASE_VARIABLE)
    new = encrypt_private_key(key, passphrase, cost)
    replace_key_file(path, new)
    return f"{describe(old)} → {describe(new)}"
