"""The rules signer: herbtrace's own key that signs `alert` envelopes, encrypted at rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection, Engine

from traceability.errors import ConfigurationError
from traceability.keys import decrypt_private_key, encrypt_private_key, key_id_for, raw_public_key
from traceability.settings import Settings
from traceability.signers import register_signer
from traceability.storage.tables import RulesKey

_keys = RulesKey.__table__  # type: ignore[attr-defined]

ORGANISATION = "herbtrace"
"""The organisation the rules signer is registered under."""

ROLE = "system"


@dataclass(frozen=True)
class RulesSigner:
    """The decrypted rules key, with its key ID."""

    key: Ed25519PrivateKey
    key_id: str


def key_name(settings: Settings) -> str:
    """The rules key's name: the log origin with `#rules` appended."""
    return f"{settings.log_origin}#rules"


def ensure_rules_signer(settings: Settings, engine: Engine) -> RulesSigner:
    """Create the rules key (PKCS#8, encrypted with the log key passphrase) unless it exists,
    register it as a `system` signer, and return it decrypted. Safe to run again.
    """
    try:
        key, public = _load_or_create(engine, key_name(settings), settings.log_key_passphrase)
    except sa.exc.IntegrityError:  # another process created it at the same moment
        key, public = _load_or_create(engine, key_name(settings), settings.log_key_passphrase)
    if raw_public_key(key) != public:
        raise ConfigurationError("the stored rules key's halves do not match")
    register_signer(
        engine, public_key=public, name="herbtrace rules", organisation=ORGANISATION, role=ROLE
    )
    return RulesSigner(key, key_id_for(public))


def _load_or_create(engine: Engine, name: str, passphrase: str) -> tuple[Ed25519PrivateKey, bytes]:
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(_keys.c.public_key, _keys.c.encrypted_private_key).where(_keys.c.name == name)
        ).first()
        if row is None:
            key = Ed25519PrivateKey.generate()
            conn.execute(
                _keys.insert().values(
                    name=name,
                    public_key=raw_public_key(key),
                    encrypted_private_key=encrypt_private_key(key, passphrase),
                    created_at=datetime.now(UTC),
                )
            )
            public = raw_public_key(key)
        else:
            key = decrypt_private_key(bytes(row[1]), passphrase)
            public = bytes(row[0])
    return key, public


def rules_key_id(conn: Connection, settings: Settings) -> str | None:
    """The rules signer's key ID, or None before `ensure_rules_signer` ran."""
    public = conn.execute(
        sa.select(_keys.c.public_key).where(_keys.c.name == key_name(settings))
    ).scalar()
    return None if public is None else key_id_for(bytes(public))
