"""API users and bearer tokens on both databases: issue, authenticate, revoke, stored hashed."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from traceability import errors, users
from traceability.storage import tables
from traceability.storage.migrate import downgrade, upgrade


def stored_token_rows(engine: Engine) -> list[tuple[bytes, ...]]:
    """Return every column of every api_tokens row, as bytes where binary."""
    table = tables.api_tokens
    with engine.connect() as conn:
        return [
            tuple(bytes(v) if isinstance(v, bytes | memoryview) else v for v in row)
            for row in conn.execute(sa.select(table))
        ]


def test_issued_token_authenticates_as_its_user(engine: Engine) -> None:
    """A token issued for an operator authenticates as that user, role and organisation."""
    user = users.create_user(engine, "wang.fang", "operator", "fusong-coop")
    issued = users.issue_token(engine, "wang.fang", "handheld")
    assert issued.token.startswith("htk_")
    assert len(issued.token) == users.TOKEN_LENGTH == 47
    principal = users.authenticate(engine, issued.token)
    assert principal == users.Principal(
        user_id=user.id,
        name="wang.fang",
        role="operator",
        organisation="fusong-coop",
        token_id=issued.info.id,
    )


def test_only_the_sha256_of_the_token_is_stored(engine: Engine) -> None:
    """The database holds SHA-256(token) and nothing from which the token itself can be read."""
    users.create_user(engine, "li.admin", "admin")
    issued = users.issue_token(engine, "li.admin")
    rows = stored_token_rows(engine)
    assert len(rows) == 1
    digest = hashlib.sha256(issued.token.encode("ascii")).digest()
    assert digest in rows[0]
    flat = repr(rows)
    assert issued.token not in flat
    assert issued.token[4:] not in flat


def test_tokens_differ_every_time(engine: Engine) -> None:
    """Two tokens issued for the same user differ and both authenticate."""
    users.create_user(engine, "reg", "regulator")
    first, second = users.issue_token(engine, "reg"), users.issue_token(engine, "reg")
    assert first.token != second.token
    assert users.authenticate(engine, first.token).token_id == first.info.id
    assert users.authenticate(engine, second.token).token_id == second.info.id


def test_revoked_token_stops_authenticating_and_others_keep_working(engine: Engine) -> None:
    """Revoking one token refuses it from then on; the user's other token still works."""
    users.create_user(engine, "zhao", "operator", "jian-plant")
    revoked, kept = users.issue_token(engine, "zhao"), users.issue_token(engine, "zhao")
    info = users.revoke_token(engine, revoked.info.id)
    assert info.revoked_at is not None
    with pytest.raises(errors.Unauthenticated, match="unknown or revoked"):
        users.authenticate(engine, revoked.token)
    assert users.authenticate(engine, kept.token).name == "zhao"
    again = users.revoke_token(engine, revoked.info.id)
    assert again.revoked_at == info.revoked_at


def test_revoking_all_of_a_users_tokens(engine: Engine) -> None:
    """revoke_user_tokens revokes every live token of the user and no one else's."""
    users.create_user(engine, "a", "admin")
    users.create_user(engine, "b", "admin")
    mine = [users.issue_token(engine, "a") for _ in range(3)]
    theirs = users.issue_token(engine, "b")
    assert users.revoke_user_tokens(engine, "a") == 3
    assert users.revoke_user_tokens(engine, "a") == 0
    for issued in mine:
        with pytest.raises(errors.Unauthenticated):
            users.authenticate(engine, issued.token)
    assert users.authenticate(engine, theirs.token).name == "b"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "htk_",
        "Bearer htk_x",
        "htk_" + "A" * 42,
        "htk_" + "A" * 44,
        "xyz_" + "A" * 43,
        "htk_" + "A" * 42 + "=",
        "htk_" + "Ä" * 43,
    ],
)
def test_malformed_tokens_are_refused_before_any_lookup(engine: Engine, token: str) -> None:
    """Tokens of the wrong shape get Unauthenticated naming the expected shape."""
    with pytest.raises(errors.Unauthenticated, match="not a herbtrace token"):
        users.authenticate(engine, token)


def test_well_formed_unknown_token_is_refused(engine: Engine) -> None:
    """A token of the right shape that was never issued is refused as unknown."""
    with pytest.raises(errors.Unauthenticated, match="unknown or revoked"):
        users.authenticate(engine, users.new_token())


@pytest.mark.parametrize(
    ("name", "role", "organisation", "message"),
    [
        ("Wang", "admin", None, "user name"),
        ("", "admin", None, "user name"),
        ("a" * 65, "admin", None, "user name"),
        ("wang", "device", None, "role must be one of"),
        ("wang", "operator", None, "acts for an organisation"),
        ("wang", "operator", "抚松", "acts for an organisation"),
        ("wang", "regulator", "fusong-coop", "only operators"),
    ],
)
def test_bad_users_are_refused_and_nothing_is_stored(
    engine: Engine, name: str, role: str, organisation: str | None, message: str
) -> None:
    """Each bad name, role or organisation gets InvalidInput saying why; no user is created."""
    users.create_user(engine, "existing", "admin")
    with pytest.raises(errors.InvalidInput, match=message):
        users.create_user(engine, name, role, organisation)
    assert [u.name for u in users.list_users(engine)] == ["existing"]


def test_duplicate_user_name_is_refused(engine: Engine) -> None:
    """A second user with a taken name gets AlreadyExists; the first is unchanged."""
    first = users.create_user(engine, "wang", "operator", "org-a")
    with pytest.raises(errors.AlreadyExists):
        users.create_user(engine, "wang", "admin")
    assert users.get_user(engine, "wang") == first


def test_unknown_user_and_token_are_not_found(engine: Engine) -> None:
    """Issuing for, or fetching, a missing user, and revoking a missing token, raise NotFound."""
    with pytest.raises(errors.NotFound):
        users.issue_token(engine, "ghost")
    with pytest.raises(errors.NotFound):
        users.get_user(engine, "ghost")
    with pytest.raises(errors.NotFound):
        users.revoke_token(engine, 12345)


def test_list_users_pages_by_id_and_filters_by_organisation(engine: Engine) -> None:
    """list_users returns users in ID order after a cursor, optionally of one organisation."""
    for i in range(5):
        users.create_user(engine, f"op{i}", "operator", "org-a" if i % 2 else "org-b")
    everyone = users.list_users(engine)
    assert [u.name for u in everyone] == [f"op{i}" for i in range(5)]
    page = users.list_users(engine, after=everyone[1].id, limit=2)
    assert [u.name for u in page] == ["op2", "op3"]
    assert [u.name for u in users.list_users(engine, organisation="org-a")] == ["op1", "op3"]


def test_migration_0004_adds_and_removes_the_user_tables(engine: Engine) -> None:
    """Downgrading to 0003 drops users and api_tokens, and upgrading brings them back empty."""
    users.create_user(engine, "someone", "admin")
    downgrade(engine, "0003")
    assert {"users", "api_tokens"}.isdisjoint(sa.inspect(engine).get_table_names())
    upgrade(engine)
    assert {"users", "api_tokens"} <= set(sa.inspect(engine).get_table_names())
    assert users.list_users(engine) == []
