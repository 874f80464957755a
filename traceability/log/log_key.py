"""The log's checkpoint key: created once, kept encrypted at rest, unlocked with a passphrase."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection, Engine

from traceability.errors import ConfigurationError
from traceability.key_wrapping import RECOMMENDED, Argon2Cost, describe, is_legacy
from traceability.keys import decrypt_private_key, encrypt_private_key, raw_public_key
from traceability.log.note import NoteSigner, NoteVerifier, note_key_id
from traceability.storage import tables

_keys = tables.log_keys


def create_log_key(
    engine: Engine, origin: str, passphrase: str, cost: Argon2Cost = RECOMMENDED
) -> NoteVerifier:
    """Create the log key for `origin` unless one exists; return its verifier either way."""
    with engine.begin() as conn:
        row = conn.execute(sa.select(_keys.c.public_key).where(_keys.c.origin == origin)).first()
        if row is None:
            key = Ed25519PrivateKey.generate()
            signer = NoteSigner(origin, key)  # validates the origin as a key name
            conn.execute(
                _keys.insert().values(
                    origin=origin,
                    public_key=raw_public_key(key),
                    encrypted_private_key=encrypt_private_key(key, passphrase, cost),
                    created_at=datetime.now(UTC),
                )
            )
            return signer.verifier()
    public = bytes(row[0])
    return NoteVerifier(origin, note_key_id(origin, public), public)


def load_log_verifier(conn: Connection, origin: str) -> NoteVerifier:
    """Return the public note verifier of the log key for `origin`."""
    row = conn.execute(sa.select(_keys.c.public_key).where(_keys.c.origin == origin)).first()
    if row is None:
        raise ConfigurationError(f"no log key for origin {origin!r}: run `herbtrace init`")
    public = bytes(row[0])
    return NoteVerifier(origin, note_key_id(origin, public), public)


def load_log_signer(conn: Connection, origin: str, passphrase: str) -> NoteSigner:
    """Decrypt the log key for `origin`; ConfigurationError if absent or the passphrase is wrong."""
    row = conn.execute(
        sa.select(_keys.c.public_key, _keys.c.encrypted_private_key).where(_keys.c.origin == origin)
    ).first()
    if row is None:
        raise ConfigurationError(f"no log key for origin {origin!r}: run `herbtrace init`")
    key = decrypt_private_key(bytes(row[1]), passphrase)
    if raw_public_key(key) != bytes(row[0]):
        raise ConfigurationError("the stored log key's halves do not match")
    return NoteSigner(origin, key)


def upgrade_log_key(
    engine: Engine, origin: str, passphrase: str, cost: Argon2Cost = RECOMMENDED
) -> str | None:
    """Re-encrypt a log key stored in the legacy PBKDF2 format with Argon2id; say what it was.

    The same key, a new wrapping, replaced in one transaction that only succeeds if the row
    still holds the legacy wrapping it read (the log_keys trigger allows exactly this one
    update: legacy to current, public key unchanged). Returns None if there was nothing to do;
    ConfigurationError on a wrong passphrase, leaving the row as it was.
    """
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(_keys.c.public_key, _keys.c.encrypted_private_key).where(
                _keys.c.origin == origin
            )
        ).first()
        if row is None or not is_legacy(bytes(row[1])):
            return None
        old = bytes(row[1])
        key = decrypt_private_key(old, passphrase)
        if raw_public_key(key) != bytes(row[0]):
            raise ConfigurationError("the stored log key's halves do not match")
        new = encrypt_private_key(key, passphrase, cost)
        result = conn.execute(
            _keys.update()
            .where(_keys.c.origin == origin, _keys.c.encrypted_private_key == old)
            .values(encrypted_private_key=new)
        )
        if result.rowcount != 1:
            raise ConfigurationError("the log key changed while it was being re-encrypted")
    return f"{describe(old)} → {describe(new)}"
