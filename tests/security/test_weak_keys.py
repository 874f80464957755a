"""A hostile operator enrols a weak Ed25519 key (small-order or non-canonical) so that anyone
can sign for it without a private key: refused wherever a key is registered, refused at append
if an old log has one, and named by `herbtrace verify`."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import support
from click.testing import Result
from resource_support import COOP, ResourceApi, body, open_resource_api
from typer.testing import CliRunner

from traceability.canonical import canonical_bytes
from traceability.cli import app
from traceability.cli.app import load_plugins
from traceability.envelope import GENESIS_PREV
from traceability.errors import WeakPublicKey
from traceability.keys import check_public_key, key_id_for
from traceability.log.signers import list_signers
from traceability.storage import tables
from traceability.storage.db import make_engine

P = 2**255 - 19
IDENTITY = (1).to_bytes(32, "little")
"""The identity point (0, 1): with it as key, R = identity and S = 0 verify any message."""

SMALL_ORDER = {
    "identity": IDENTITY,
    "order 2 (0, -1)": (P - 1).to_bytes(32, "little"),
    "order 4 (y = 0)": bytes(32),
    "order 4 (y = 0, x negative)": bytes(31) + b"\x80",
    "order 8": bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    "order 8, x negative": bytes.fromhex(
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
    ),
    "order 8, other y": bytes.fromhex(
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
    ),
    "order 8, other y, x negative": bytes.fromhex(
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"
    ),
}
"""The eight points of small order on edwards25519, canonically encoded."""

NON_CANONICAL = {
    "identity with the sign bit set": (1 | 1 << 255).to_bytes(32, "little"),
    "(0, -1) with the sign bit set": (P - 1 | 1 << 255).to_bytes(32, "little"),
    "y = p (the identity's y + p... is 0 + p)": P.to_bytes(32, "little"),
    "y = p + 1 (the identity, non-canonical)": (P + 1).to_bytes(32, "little"),
    "y = 2^255 - 1": (2**255 - 1).to_bytes(32, "little"),
}
"""Encodings RFC 8032 §5.1.3 decoding rejects (y >= p, or x = 0 with its sign bit set)."""

WEAK = SMALL_ORDER | NON_CANONICAL


def forged_envelope(public_key: bytes, body_: dict[str, object]) -> dict[str, object]:
    """An envelope 'signed' by a small-order key without any private key: R = identity, S = 0."""
    payload = {
        "v": 1,
        "signer": key_id_for(public_key),
        "seq": 1,
        "prev": GENESIS_PREV,
        "time": "2026-09-20T08:30:00Z",
        "body": body_,
    }
    canonical_bytes(payload)  # a well-formed payload: only the key is wrong
    return {"payload": payload, "sig": base64.b64encode(IDENTITY + bytes(32)).decode()}


@pytest.mark.parametrize("name", sorted(WEAK))
def test_every_weak_encoding_is_refused_by_the_core_check(name: str) -> None:
    """Each small-order point and each non-canonical encoding raises WeakPublicKey."""
    with pytest.raises(WeakPublicKey):
        check_public_key(WEAK[name])


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    with open_resource_api(db_url) as api:
        yield api


def test_enrolling_the_identity_point_over_http_is_refused_and_the_forgery_appends_nothing(
    api: ResourceApi,
) -> None:
    """The cooperative's operator enrols the identity point as a handheld: 400, no signer; an
    anonymous envelope with the fixed signature R = identity, S = 0 then appends nothing."""
    before = api.domain.ledger.size()
    for name, key in WEAK.items():
        response = api.client.post(
            "/v1/devices",
            json={
                "public_key": base64.b64encode(key).decode(),
                "organisation": COOP,
                "site": "site-fusong-wanliang",
            },
            headers=api.headers("coop"),
        )
        assert response.status_code == 400, (name, response.text)
        assert "Ed25519 public key" in response.text, name
    registered = {s.public_key for s in list_signers(api.engine)}
    assert not registered & set(WEAK.values())
    forged = forged_envelope(IDENTITY, body("planting"))
    response = api.client.post("/v1/events", content=json.dumps(forged))
    assert response.status_code != 201, response.text
    assert 400 <= response.status_code < 500
    assert api.domain.ledger.size() == before


def _insert_weak_signer(url: str, public_key: bytes, name: str) -> str:
    """Put a weak key straight into the signer table, as a log from before the check has it."""
    key_id = key_id_for(public_key)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                tables.signers.insert().values(
                    key_id=key_id,
                    public_key=public_key,
                    name=name,
                    organisation=COOP,
                    role="device",
                    status="active",
                    valid_from=datetime(2020, 1, 1, tzinfo=UTC),
                    valid_until=None,
                    revoked_at=None,
                    created_at=datetime(2020, 1, 1, tzinfo=UTC),
                )
            )
    finally:
        engine.dispose()
    return key_id


def test_an_identity_key_already_in_an_old_log_signs_nothing(api: ResourceApi) -> None:
    """A weak key that reached the signer table before the check cannot append either."""
    _insert_weak_signer(api.engine.url.render_as_string(hide_password=False), IDENTITY, "old")
    before = api.domain.ledger.size()
    response = api.client.post(
        "/v1/events", content=json.dumps(forged_envelope(IDENTITY, body("planting")))
    )
    assert 400 <= response.status_code < 500, response.text
    assert api.domain.ledger.size() == before


def invoke(args: list[str], **env: str) -> Result:
    """Run the CLI in-process with only the given HERBTRACE_ variables set."""
    cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HERBTRACE_")}
    load_plugins()
    cheap = support.cheap_keys(env)
    return CliRunner().invoke(app, args, env={**cleared, "COLUMNS": "200", **cheap, **env})


@pytest.fixture(name="cli_env")
def _cli_env(db_url: str) -> dict[str, str]:
    env = {"HERBTRACE_DATABASE_URL": db_url, "HERBTRACE_LOG_ORIGIN": "test.herbtrace/log"}
    assert invoke(["init"], **env).exit_code == 0
    return env


def test_enrolling_the_identity_point_with_the_cli_is_refused(
    cli_env: dict[str, str], db_url: str
) -> None:
    """`signer add` and `device enroll` with the identity point exit 1 with one line and
    register nothing."""
    identity = base64.b64encode(IDENTITY).decode()
    added = invoke(
        ["signer", "add", "--public-key", identity, "--name", "x", "--organisation", COOP],
        **cli_env,
    )
    assert added.exit_code == 1, added.output
    assert "small order" in added.output
    assert "Traceback" not in added.output
    enrolled = invoke(
        ["device", "enroll", "--public-key", identity, "--organisation", COOP, "--site", "s1"],
        **cli_env,
    )
    assert enrolled.exit_code == 1, enrolled.output
    assert "small order" in enrolled.output
    engine = make_engine(db_url)
    try:
        assert list_signers(engine) == []
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM devices")).scalar_one() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", ["identity", "order 8", "y = p + 1 (the identity, non-canonical)"])
def test_verify_names_a_weak_key_inserted_behind_registration(
    cli_env: dict[str, str], db_url: str, name: str
) -> None:
    """A log whose signer table holds a weak key fails `herbtrace verify` (exit 1), which names
    the signer's key ID and the key."""
    assert invoke(["verify"], **cli_env).exit_code == 0
    key_id = _insert_weak_signer(db_url, WEAK[name], "old handheld")
    result = invoke(["verify"], **cli_env)
    assert result.exit_code == 1, result.output
    assert "weak_key" in result.output
    assert key_id in result.output
    assert WEAK[name].hex() in result.output
    assert "OK" not in result.output
