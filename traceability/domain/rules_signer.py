"""The rules signer: herbtrace's own key that signs `alert` envelopes, encrypted at rest."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection, Engine

from traceability.domain.server_key import ensure_server_key, stored_public_key
from traceability.key_wrapping import COSTS
from traceability.keys import key_id_for, raw_public_key
from traceability.log.signers import register_signer
from traceability.settings import Settings

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
    """Create the rules key (encrypted with the log key passphrase) unless it exists,
    register it as a `system` signer, and return it decrypted. Safe to run again.
    """
    key = ensure_server_key(
        engine,
        key_name(settings),
        settings.log_key_passphrase,
        what="rules key",
        cost=COSTS[settings.key_kdf_cost],
    )
    public = raw_public_key(key)
    register_signer(
        engine, public_key=public, name="herbtrace rules", organisation=ORGANISATION, role=ROLE
    )
    return RulesSigner(key, key_id_for(public))


def rules_key_id(conn: Connection, settings: Settings) -> str | None:
    """The rules signer's key ID, or None before `ensure_rules_signer` ran."""
    public = stored_public_key(conn, key_name(settings))
    return None if public is None else key_id_for(public)
