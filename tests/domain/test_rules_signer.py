"""The rules signer: its key is created once, kept encrypted, and registered as `system`."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from traceability.domain.rules_signer import ensure_rules_signer, rules_key_id
from traceability.errors import ConfigurationError
from traceability.keys import raw_private_key
from traceability.log.signers import get_signer
from traceability.settings import Settings


def test_the_rules_key_is_created_once_encrypted_and_registered(
    settings: Settings, engine: Engine
) -> None:
    """Created once (same key again), stored encrypted (Argon2id), registered with role system."""
    first = ensure_rules_signer(settings, engine)
    again = ensure_rules_signer(settings, engine)
    assert raw_private_key(first.key) == raw_private_key(again.key)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT encrypted_private_key FROM rules_keys")).scalar_one()
        assert rules_key_id(conn, settings) == first.key_id
    assert bytes(stored).startswith(b"herbtrace encrypted ed25519 key 1\n")
    assert raw_private_key(first.key) not in bytes(stored)
    signer = get_signer(engine, first.key_id)
    assert (signer.role, signer.organisation) == ("system", "herbtrace")


def test_a_wrong_passphrase_cannot_unlock_the_rules_key(settings: Settings, engine: Engine) -> None:
    """With another passphrase the key does not decrypt: a configuration error, no new key."""
    ensure_rules_signer(settings, engine)
    other = settings.model_copy(update={"log_key_passphrase": "not the passphrase"})
    with pytest.raises(ConfigurationError):
        ensure_rules_signer(other, engine)
