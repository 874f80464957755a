"""The demo's keys are public knowledge (derived from labels published in traceability/demo):
a production instance refuses `seed` and `demo`, a recall signed with the derived regulator key
is refused there, and `herbtrace verify` names any demo key a log holds."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import api_settings
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from support import run_herbtrace

from api.main import create_app
from traceability.demo import parties
from traceability.demo.seed import register_demo_signers
from traceability.envelope import GENESIS_PREV, sign_envelope
from traceability.keys import key_id_for, raw_public_key
from traceability.ledger import initialise
from traceability.log.reading import log_size
from traceability.log.signers import list_signers
from traceability.storage.db import make_engine

SECRETS = {
    "HERBTRACE_LOG_KEY_PASSPHRASE": "a long passphrase of this deployment",
    "HERBTRACE_IMPORT_KEY_PASSPHRASE": "the import key's own passphrase",
    "HERBTRACE_SCAN_SALT": "the scan salt of this deployment",
    "HERBTRACE_MQTT_PASSWORD": "the gateway's broker password",
}
PRODUCTION = {"HERBTRACE_ENVIRONMENT": "production", **SECRETS}


def counts(url: str) -> tuple[int, int]:
    """(registered signers, log entries) of the database at `url`."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return len(list_signers(engine)), log_size(conn)
    finally:
        engine.dispose()


def registered(url: str) -> set[str]:
    """The key IDs registered in the database at `url`."""
    engine = make_engine(url)
    try:
        return {s.key_id for s in list_signers(engine)}
    finally:
        engine.dispose()


def test_a_production_instance_refuses_seed_and_demo(db_url: str, tmp_path: Path) -> None:
    """`herbtrace seed` and `herbtrace demo` exit 2 with a clear message in production and
    write nothing: no signer, no entry, no demo directory."""
    env = {"HERBTRACE_DATABASE_URL": db_url, **PRODUCTION}
    init = run_herbtrace(["init"], tmp_path, **env)
    assert init.returncode == 0, init.stderr
    before = counts(db_url)
    seeded = run_herbtrace(["seed", "--events", "5"], tmp_path, **env)
    assert seeded.returncode == 2, seeded.stdout + seeded.stderr
    assert "refused in production" in seeded.stderr
    assert "Traceback" not in seeded.stderr
    assert counts(db_url) == before
    assert not {s.key_id for s in parties.SIGNERS} & registered(db_url)
    demo_dir = tmp_path / "demo-data"
    demo = run_herbtrace(["demo", "--exit", "--data-dir", str(demo_dir)], tmp_path, **env)
    assert demo.returncode == 2, demo.stdout + demo.stderr
    assert "refused in production" in demo.stderr
    assert "Traceback" not in demo.stderr
    assert not demo_dir.exists()


def test_seed_still_works_in_development(sqlite_url: str, tmp_path: Path) -> None:
    """The refusal is production's: a development instance still seeds (the control)."""
    seeded = run_herbtrace(["seed", "--events", "5"], tmp_path, HERBTRACE_DATABASE_URL=sqlite_url)
    assert seeded.returncode == 0, seeded.stderr
    assert counts(sqlite_url)[1] >= 5


@pytest.fixture(name="production_api")
def _production_api(db_url: str) -> Iterator[TestClient]:
    settings = api_settings(
        db_url,
        environment="production",
        key_kdf_cost="rfc9106",
        log_key_passphrase=SECRETS["HERBTRACE_LOG_KEY_PASSPHRASE"],
        import_key_passphrase=SECRETS["HERBTRACE_IMPORT_KEY_PASSPHRASE"],
        scan_salt=SECRETS["HERBTRACE_SCAN_SALT"],
        mqtt_password=SECRETS["HERBTRACE_MQTT_PASSWORD"],
    )
    engine = make_engine(settings.database_url)
    initialise(settings, engine)
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_recall_signed_with_the_derived_demo_regulator_key_is_refused(
    production_api: TestClient, db_url: str
) -> None:
    """Anyone can derive the demo regulator's private key from its label; on a production
    instance the key was never registered, so an anonymous recall signed with it is refused
    as from an unknown signer and the log does not grow."""
    label = "jilin-mpa"  # as published in traceability/demo/parties.py
    derived = parties.DemoSigner(label, "x", parties.MPA, "regulator").key
    assert raw_public_key(derived) == parties.REGULATOR.public_key
    payload = {
        "v": 1,
        "signer": key_id_for(raw_public_key(derived)),
        "seq": 1,
        "prev": GENESIS_PREV,
        "time": "2026-10-20T08:00:00Z",
        "body": {"type": "recall", "batch": "RG-2026-001", "level": "I", "reason": "forged"},
    }
    before = counts(db_url)
    response = production_api.post(
        "/v1/events", content=json.dumps(sign_envelope(derived, payload))
    )
    assert 400 <= response.status_code < 500, response.text
    assert f"no signer has key ID {payload['signer']}" in response.text
    assert counts(db_url) == before


def _demo_keys_registered(url: str, environment: dict[str, str], tmp_path: Path) -> None:
    """An instance whose signer table holds the demo's keys (as a seeded log would)."""
    assert (
        run_herbtrace(["init"], tmp_path, HERBTRACE_DATABASE_URL=url, **environment).returncode == 0
    )
    engine = make_engine(url)
    try:
        register_demo_signers(engine)
    finally:
        engine.dispose()


def test_verify_names_demo_keys_as_a_finding_in_production(db_url: str, tmp_path: Path) -> None:
    """In production, `herbtrace verify` on a log holding the demo's keys exits 1 and names
    each demo signer's key ID and key."""
    _demo_keys_registered(db_url, PRODUCTION, tmp_path)
    result = run_herbtrace(["verify"], tmp_path, HERBTRACE_DATABASE_URL=db_url, **PRODUCTION)
    assert result.returncode == 1, result.stdout + result.stderr
    for signer in parties.SIGNERS:
        assert signer.key_id in result.stderr
        assert signer.public_key.hex() in result.stderr
    assert "published_key" in result.stderr
    assert "Traceback" not in result.stderr


def test_verify_warns_of_demo_keys_in_development(sqlite_url: str, tmp_path: Path) -> None:
    """In development the same log verifies (exit 0) with a warning naming the demo keys."""
    _demo_keys_registered(sqlite_url, {}, tmp_path)
    result = run_herbtrace(["verify"], tmp_path, HERBTRACE_DATABASE_URL=sqlite_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning (published_key)" in result.stderr
    assert parties.REGULATOR.key_id in result.stderr
    assert "OK" in result.stdout


def test_the_published_demo_keys_are_the_ones_the_labels_derive() -> None:
    """verify compares with keys recomputed from the published labels: SHA-256 of
    "herbtrace demo key: " and the label is each demo private key's seed."""
    derived = {
        raw_public_key(
            Ed25519PrivateKey.from_private_bytes(
                hashlib.sha256(f"herbtrace demo key: {label}".encode()).digest()
            )
        )
        for label in (s.label for s in parties.SIGNERS)
    }
    assert set(parties.published_demo_keys()) == derived
    assert parties.REGULATOR.public_key in derived
