"""Key files are encrypted with Argon2id at RFC 9106's parameters and say so; `herbtrace init`
re-encrypts a log key stored with the old PBKDF2 wrapping in place (same key), and a wrong
passphrase, an edited file or a swapped wrapping gets nobody the key."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from devices.sdk.keystore import DeviceFiles, load_device_key
from traceability.cli import app
from traceability.cli.app import load_plugins
from traceability.domain.rules_signer import ensure_rules_signer
from traceability.domain.rules_signer import key_name as rules_key_name
from traceability.epcis.import_key import load_import_key, upgrade_import_key
from traceability.errors import ConfigurationError
from traceability.key_wrapping import DEVELOPMENT_FAST, HEADER, LEGACY_HEADER, wrap
from traceability.keys import decrypt_private_key, raw_private_key, raw_public_key
from traceability.log.log_key import load_log_signer
from traceability.settings import Settings
from traceability.storage import tables
from traceability.storage.db import make_engine
from traceability.storage.migrate import upgrade

ORIGIN = "test.herbtrace/log"
PASSPHRASE = "the log key passphrase of this test"  # noqa: S105 - a test value
_keys = tables.log_keys


def old_wrapping(key: Ed25519PrivateKey, passphrase: str) -> bytes:
    """The key as the code before Argon2id wrote it: PKCS#8, BestAvailableEncryption (PBKDF2)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    )


def invoke(args: list[str], **env: str) -> Result:
    """Run the CLI in-process with only the given HERBTRACE_ variables (RFC 9106 costs)."""
    cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HERBTRACE_")}
    load_plugins()
    return CliRunner().invoke(app, args, env={**cleared, "COLUMNS": "200", **env})


def stored(engine: Engine) -> tuple[bytes, bytes]:
    """(public key, encrypted private key) of the log key row."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(_keys.c.public_key, _keys.c.encrypted_private_key).where(
                _keys.c.origin == ORIGIN
            )
        ).one()
    return bytes(row[0]), bytes(row[1])


@pytest.fixture(name="old_log")
def _old_log(db_url: str) -> Iterator[tuple[Engine, Ed25519PrivateKey]]:
    """A database whose log key was stored by the old code path (PBKDF2 PKCS#8)."""
    engine = make_engine(db_url)
    upgrade(engine)
    key = Ed25519PrivateKey.generate()
    with engine.begin() as conn:
        conn.execute(
            _keys.insert().values(
                origin=ORIGIN,
                public_key=raw_public_key(key),
                encrypted_private_key=old_wrapping(key, PASSPHRASE),
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    yield engine, key
    engine.dispose()


def env(url: str, passphrase: str = PASSPHRASE) -> dict[str, str]:
    return {
        "HERBTRACE_DATABASE_URL": url,
        "HERBTRACE_LOG_ORIGIN": ORIGIN,
        "HERBTRACE_LOG_KEY_PASSPHRASE": passphrase,
    }


def test_init_rewraps_an_old_log_key_in_place_with_argon2id(
    old_log: tuple[Engine, Ed25519PrivateKey], db_url: str
) -> None:
    """`herbtrace init` on a log key stored with PBKDF2 says it re-encrypted it; the row now
    states Argon2id with RFC 9106's parameters, holds the same key, and no trace of the old
    wrapping; a second init has nothing to do."""
    engine, key = old_log
    public_before, old = stored(engine)
    assert old.startswith(LEGACY_HEADER)
    result = invoke(["init"], **env(db_url))
    assert result.exit_code == 0, result.output
    assert "re-encrypted in place" in result.output
    assert "PKCS#8 with PBKDF2 → Argon2id t=3 p=4 m=65536 KiB" in result.output
    public_after, new = stored(engine)
    assert public_after == public_before
    assert new.startswith(HEADER)
    kdf = json.loads(new[len(HEADER) :])["kdf"]
    assert kdf == kdf | {"name": "argon2id", "iterations": 3, "lanes": 4, "memory_kib": 65536}
    assert len(kdf["salt"]) == 24  # 16 bytes of salt
    assert old not in new
    with engine.connect() as conn:
        signer = load_log_signer(conn, ORIGIN, PASSPHRASE)  # the ledger opens it as before
    assert signer.verifier().public_key == public_before
    assert raw_private_key(decrypt_private_key(new, PASSPHRASE)) == raw_private_key(key)
    again = invoke(["init"], **env(db_url))
    assert again.exit_code == 0
    assert "re-encrypted" not in again.output
    assert stored(engine)[1] == new


def test_a_wrong_passphrase_is_refused_and_the_old_key_left_as_it_was(
    old_log: tuple[Engine, Ed25519PrivateKey], db_url: str
) -> None:
    """init with a wrong passphrase exits 1 saying so and changes nothing; after the upgrade,
    a wrong passphrase opens nothing either."""
    engine, _ = old_log
    before = stored(engine)
    result = invoke(["init"], **env(db_url, "not the passphrase at all"))
    assert result.exit_code == 1, result.output
    assert "wrong HERBTRACE_LOG_KEY_PASSPHRASE" in result.output
    assert stored(engine) == before
    assert invoke(["init"], **env(db_url)).exit_code == 0
    with engine.connect() as conn, pytest.raises(ConfigurationError, match="wrong"):
        load_log_signer(conn, ORIGIN, "not the passphrase at all")


def test_the_database_refuses_any_other_change_of_the_wrapping(
    old_log: tuple[Engine, Ed25519PrivateKey], db_url: str
) -> None:
    """log_keys stays append-only: a legacy wrapping may not become anything but the current
    format, and a current wrapping may not be replaced at all."""
    engine, _ = old_log

    def refused(value: bytes) -> None:
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
            conn.execute(_keys.update().values(encrypted_private_key=value))

    refused(b"attacker's key")
    refused(old_wrapping(Ed25519PrivateKey.generate(), PASSPHRASE))
    assert invoke(["init"], **env(db_url)).exit_code == 0
    _, current = stored(engine)
    refused(current.replace(b'"iterations":3', b'"iterations":1'))
    refused(HEADER + b"{}")
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
        conn.execute(_keys.delete())
    assert stored(engine)[1] == current


def test_an_edited_kdf_parameter_makes_the_key_undecryptable() -> None:
    """The KDF parameters are authenticated: lowering the memory cost in the file does not
    give a cheaper way in, it gives no way in."""
    key = Ed25519PrivateKey.generate()
    wrapped = wrap(key, PASSPHRASE, DEVELOPMENT_FAST)
    assert raw_private_key(decrypt_private_key(wrapped, PASSPHRASE)) == raw_private_key(key)
    edited = wrapped.replace(b'"memory_kib":64', b'"memory_kib":72')
    assert edited != wrapped
    with pytest.raises(ConfigurationError, match="wrong"):
        decrypt_private_key(edited, PASSPHRASE)


def test_an_old_import_key_file_is_rewrapped_atomically(tmp_path: Path) -> None:
    """An import key file in the old PBKDF2 format is replaced by an Argon2id one (mode 0600,
    the same key); a wrong passphrase leaves it untouched."""
    path = tmp_path / "import.key"
    key = Ed25519PrivateKey.generate()
    path.write_bytes(old_wrapping(key, PASSPHRASE))
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="HERBTRACE_IMPORT_KEY_PASSPHRASE"):
        upgrade_import_key(path, "a wrong import passphrase")
    assert path.read_bytes().startswith(LEGACY_HEADER)
    said = upgrade_import_key(path, PASSPHRASE)
    assert said is not None
    assert said.startswith("PKCS#8 with PBKDF2 → Argon2id t=3")
    assert path.read_bytes().startswith(HEADER)
    assert path.stat().st_mode & 0o777 == 0o600
    assert raw_private_key(load_import_key(path, PASSPHRASE)) == raw_private_key(key)
    assert upgrade_import_key(path, PASSPHRASE) is None
    assert [p.name for p in tmp_path.iterdir()] == ["import.key"]


def test_production_refuses_the_cheap_development_cost() -> None:
    """The cheap cost the test suite uses is refused in production."""
    with pytest.raises(ValueError, match="HERBTRACE_KEY_KDF_COST"):
        Settings(
            environment="production",
            key_kdf_cost="development-fast",
            log_key_passphrase=PASSPHRASE,
            import_key_passphrase="the import passphrase here",  # noqa: S106
            scan_salt="the scan salt of the test",
            mqtt_password="the gateway password here",  # noqa: S106
        )


def test_an_old_device_key_file_is_rewrapped_when_opened(tmp_path: Path) -> None:
    """A device key file encrypted with PBKDF2 opens with its passphrase and is replaced by an
    Argon2id one holding the same key (mode 0600); a wrong passphrase opens nothing."""
    files = DeviceFiles(tmp_path)
    key = Ed25519PrivateKey.generate()
    files.key.write_bytes(old_wrapping(key, "device passphrase"))
    files.key.chmod(0o600)
    with pytest.raises(ConfigurationError, match="wrong passphrase"):
        load_device_key(tmp_path, "another passphrase")
    assert files.key.read_bytes().startswith(LEGACY_HEADER)
    assert raw_private_key(load_device_key(tmp_path, "device passphrase")) == raw_private_key(key)
    assert files.key.read_bytes().startswith(HEADER)
    assert files.key.stat().st_mode & 0o777 == 0o600
    assert raw_private_key(load_device_key(tmp_path, "device passphrase")) == raw_private_key(key)


def test_an_old_rules_key_is_rewrapped_when_first_loaded(
    settings: Settings, engine: Engine
) -> None:
    """The rules key (in rules_keys, under the log key passphrase) stored with PBKDF2 is
    replaced by an Argon2id wrapping of the same key the first time it is loaded."""
    key = Ed25519PrivateKey.generate()
    table = tables.rules_keys
    with engine.begin() as conn:
        conn.execute(
            table.insert().values(
                name=rules_key_name(settings),
                public_key=raw_public_key(key),
                encrypted_private_key=old_wrapping(key, settings.log_key_passphrase),
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    loaded = ensure_rules_signer(settings, engine)
    assert raw_private_key(loaded.key) == raw_private_key(key)
    with engine.connect() as conn:
        stored = bytes(conn.execute(sa.select(table.c.encrypted_private_key)).scalar_one())
    assert stored.startswith(HEADER)
    with pytest.raises(ConfigurationError, match="wrong HERBTRACE_LOG_KEY_PASSPHRASE"):
        decrypt_private_key(stored, "not the passphrase", "the rules key")
    assert raw_private_key(ensure_rules_signer(settings, engine).key) == raw_private_key(key)


def test_init_rewraps_old_server_keys_so_the_servers_role_never_has_to(
    old_log: tuple[Engine, Ed25519PrivateKey], db_url: str
) -> None:
    """`herbtrace init` (the owner) re-encrypts an old rules key in `rules_keys` too: on
    PostgreSQL the servers' role may only read and add rows there, so a first load by a
    server could not; the key stays the same and a second init has nothing to do."""
    engine, _ = old_log
    key = Ed25519PrivateKey.generate()
    table = tables.rules_keys
    with engine.begin() as conn:
        conn.execute(
            table.insert().values(
                name="rules-old",
                public_key=raw_public_key(key),
                encrypted_private_key=old_wrapping(key, PASSPHRASE),
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    result = invoke(["init"], **env(db_url))
    assert result.exit_code == 0, result.output
    assert "server key rules-old re-encrypted in place" in result.output
    with engine.connect() as conn:
        new = bytes(
            conn.execute(
                sa.select(table.c.encrypted_private_key).where(table.c.name == "rules-old")
            ).scalar_one()
        )
    assert new.startswith(HEADER)
    assert raw_private_key(decrypt_private_key(new, PASSPHRASE)) == raw_private_key(key)
    assert "server key" not in invoke(["init"], **env(db_url)).output
