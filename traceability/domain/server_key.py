"""Server-held signing keys: Ed25519 keys kept in `rules_keys`, created on first use.

A row holds `name`, the 32-byte raw public key and the private key encrypted with the log key
passphrase (Argon2id and AES-256-GCM, `traceability.key_wrapping`). A row from before, PKCS#8
encrypted with PBKDF2, is re-encrypted in place (same key) by `herbtrace init`, which runs
as the tables' owner (`rewrap_server_keys`); where the servers' own role may update the row
(SQLite, or a database they own) the first load does it too.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection, Engine

from traceability.errors import ConfigurationError
from traceability.key_wrapping import RECOMMENDED, Argon2Cost, is_legacy
from traceability.keys import decrypt_private_key, encrypt_private_key, raw_public_key
from traceability.storage import tables
from traceability.storage.db import WRITE

_keys = tables.rules_keys
PASSPHRASE_VARIABLE = "HERBTRACE_LOG_KEY_PASSPHRASE"  # noqa: S105 - a name, not a secret


def ensure_server_key(
    engine: Engine, name: str, passphrase: str, *, what: str, cost: Argon2Cost = RECOMMENDED
) -> Ed25519PrivateKey:
    """The key stored as `name`, decrypted; created and stored first if there is none.

    Safe to run from several processes at once. ConfigurationError (naming `what`, e.g.
    "rules key") when the stored public key is not the private key's.
    """
    try:
        key, public = _load_or_create(engine, name, passphrase, what, cost)
    except sa.exc.IntegrityError:  # another process created it at the same moment
        key, public = _load_or_create(engine, name, passphrase, what, cost)
    if raw_public_key(key) != public:
        raise ConfigurationError(f"the stored {what}'s halves do not match")
    return key


def rewrap_server_keys(
    engine: Engine, passphrase: str, cost: Argon2Cost = RECOMMENDED
) -> list[str]:
    """Re-encrypt every server key still wrapped the old way (same keys); their names.

    Run by `herbtrace init` as the owner role: on PostgreSQL the servers' role may only read
    and add rows of `rules_keys`, so it could not do this on first load.
    """
    done: list[str] = []
    with engine.connect() as raw:
        conn = raw.execution_options(**{WRITE: True})  # SQLite: BEGIN IMMEDIATE
        with conn.begin():
            rows = conn.execute(
                sa.select(_keys.c.name, _keys.c.public_key, _keys.c.encrypted_private_key)
            ).all()
            for name, public, encrypted in rows:
                stored = bytes(encrypted)
                if not is_legacy(stored):
                    continue
                what = f"server key {name!r}"
                key = decrypt_private_key(stored, passphrase, f"the {what}", PASSPHRASE_VARIABLE)
                if raw_public_key(key) != bytes(public):
                    raise ConfigurationError(f"the stored {what}'s halves do not match")
                conn.execute(
                    _keys.update()
                    .where(_keys.c.name == name, _keys.c.encrypted_private_key == stored)
                    .values(encrypted_private_key=encrypt_private_key(key, passphrase, cost))
                )
                done.append(str(name))
    return done


def stored_public_key(conn: Connection, name: str) -> bytes | None:
    """The raw public key stored as `name`, or None if there is none."""
    public = conn.execute(sa.select(_keys.c.public_key).where(_keys.c.name == name)).scalar()
    return None if public is None else bytes(public)


def _load_or_create(
    engine: Engine, name: str, passphrase: str, what: str, cost: Argon2Cost
) -> tuple[Ed25519PrivateKey, bytes]:
    with engine.connect() as raw:
        conn = raw.execution_options(**{WRITE: True})  # SQLite: BEGIN IMMEDIATE
        with conn.begin():
            row = conn.execute(
                sa.select(_keys.c.public_key, _keys.c.encrypted_private_key).where(
                    _keys.c.name == name
                )
            ).first()
            if row is not None:
                stored = bytes(row[1])
                key = decrypt_private_key(stored, passphrase, f"the {what}", PASSPHRASE_VARIABLE)
                if is_legacy(stored) and raw_public_key(key) == bytes(row[0]):
                    conn.execute(
                        _keys.update()
                        .where(_keys.c.name == name, _keys.c.encrypted_private_key == stored)
                        .values(encrypted_private_key=encrypt_private_key(key, passphrase, cost))
                    )
                return key, bytes(row[0])
            key = Ed25519PrivateKey.generate()
            conn.execute(
                _keys.insert().values(
                    name=name,
                    public_key=raw_public_key(key),
                    encrypted_private_key=encrypt_private_key(key, passphrase, cost),
                    created_at=datetime.now(UTC),
                )
            )
            return key, raw_public_key(key)
