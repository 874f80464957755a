"""The EPCIS import signer's key: an Ed25519 key in a PKCS#8 PEM file, encrypted at rest.

The file is encrypted with `HERBTRACE_IMPORT_KEY_PASSPHRASE` (the best encryption the
`cryptography` library offers for PKCS#8) and written with mode 0600. The key lives in a
file rather than in the database so the log operator's database never holds a key that
may sign domain events; only its public half is registered, with role `importer`.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.errors import ConfigurationError, InvalidInput
from traceability.keys import encrypt_private_key


def create_import_key(path: Path, passphrase: str) -> Ed25519PrivateKey:
    """Generate a key and write it, encrypted, to a new file `path`; InvalidInput if it exists."""
    key = Ed25519PrivateKey.generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise InvalidInput(f"{path} exists already; not overwriting a key") from exc
    with os.fdopen(fd, "wb") as out:
        out.write(encrypt_private_key(key, passphrase))
    return key


def load_import_key(path: Path, passphrase: str) -> Ed25519PrivateKey:
    """Read and decrypt the import key; ConfigurationError naming what is wrong."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the import key {path}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ConfigurationError(
            f"cannot decrypt the import key {path}: wrong HERBTRACE_IMPORT_KEY_PASSPHRASE "
            "or not an encrypted PKCS#8 key"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"the import key {path} is not an Ed25519 key")
    return key
