"""The log's checkpoint key: created once, kept encrypted at rest, unlocked with a passphrase."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection, Engine

from traceability.errors import ConfigurationError
from traceability.keys import decrypt_private_key, encrypt_private_key, raw_public_key
from traceability.log.note import NoteSigner, NoteVerifier, note_key_id
from traceability.storage.tables import LogKey

_keys = LogKey.__table__  # type: ignore[attr-defined]


def create_log_key(engine: Engine, origin: str, passphrase: str) -> NoteVerifier:
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
                    encrypted_private_key=encrypt_private_key(key, passphrase),
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
