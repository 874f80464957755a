"""The log key may be re-encrypted once: from the legacy PBKDF2 wrapping to Argon2id.

log_keys stays append-only but for one update: `encrypted_private_key` going from a PKCS#8
key encrypted with PBKDF2 (`-----BEGIN ENCRYPTED PRIVATE KEY-----`) to the current format
(traceability/key_wrapping.py), with origin, public key and creation time unchanged. Every
other UPDATE, and every DELETE, is refused as before; a key in the current format can never
be replaced. Leaving the weak wrapping beside a new one would leave it to any thief of the
database, so `herbtrace init` replaces it in place.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LEGACY = "-----BEGIN ENCRYPTED PRIVATE KEY-----"
CURRENT = "herbtrace encrypted ed25519 key 1"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION herbtrace_log_key_rewrap() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE'
                    AND NEW.origin = OLD.origin
                    AND NEW.public_key = OLD.public_key
                    AND NEW.created_at = OLD.created_at
                    AND substring(OLD.encrypted_private_key FROM 1 FOR {len(LEGACY)})
                        = convert_to('{LEGACY}', 'UTF8')
                    AND substring(NEW.encrypted_private_key FROM 1 FOR {len(CURRENT)})
                        = convert_to('{CURRENT}', 'UTF8')
                THEN
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$
            """
        )
        op.execute("DROP TRIGGER log_keys_append_only ON log_keys")
        op.execute(
            "CREATE TRIGGER log_keys_append_only BEFORE UPDATE OR DELETE ON log_keys "
            "FOR EACH ROW EXECUTE FUNCTION herbtrace_log_key_rewrap()"
        )
    else:
        op.execute("DROP TRIGGER log_keys_no_update")
        op.execute(
            "CREATE TRIGGER log_keys_no_update BEFORE UPDATE ON log_keys WHEN NOT ("
            "NEW.origin IS OLD.origin AND NEW.public_key IS OLD.public_key "
            "AND NEW.created_at IS OLD.created_at "
            f"AND substr(OLD.encrypted_private_key, 1, {len(LEGACY)}) = CAST('{LEGACY}' AS BLOB) "
            f"AND substr(NEW.encrypted_private_key, 1, {len(CURRENT)}) "
            f"= CAST('{CURRENT}' AS BLOB)) "
            "BEGIN SELECT RAISE(ABORT, 'log_keys is append-only: UPDATE refused'); END"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER log_keys_append_only ON log_keys")
        op.execute(
            "CREATE TRIGGER log_keys_append_only BEFORE UPDATE OR DELETE ON log_keys "
            "FOR EACH ROW EXECUTE FUNCTION herbtrace_append_only()"
        )
        op.execute("DROP FUNCTION herbtrace_log_key_rewrap()")
    else:
        op.execute("DROP TRIGGER log_keys_no_update")
        op.execute(
            "CREATE TRIGGER log_keys_no_update BEFORE UPDATE ON log_keys "
            "BEGIN SELECT RAISE(ABORT, 'log_keys is append-only: UPDATE refused'); END"
        )
