"""`herbtrace user add|list|token|revoke` as real processes on a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import run_herbtrace

from traceability import errors, users
from traceability.demo import seed_events
from traceability.domain.service import Domain
from traceability.ledger import initialise
from traceability.settings import Settings
from traceability.storage.db import make_engine


@pytest.fixture(name="db")
def _db(tmp_path: Path) -> dict[str, str]:
    """The environment of a freshly initialised database."""
    env = {"HERBTRACE_DATABASE_URL": f"sqlite:///{tmp_path}/herbtrace.db"}
    settings = Settings(database_url=env["HERBTRACE_DATABASE_URL"], key_kdf_cost="development-fast")
    initialise(settings)
    with Domain(settings) as domain:  # the demo's organisations, `org-fusong-coop` among them
        seed_events(domain, 30)
    return env


def test_add_token_list_revoke(tmp_path: Path, db: dict[str, str]) -> None:
    """A token printed by `user token` authenticates; `list` never shows it; `revoke` ends it."""
    added = run_herbtrace(
        ["user", "add", "wang.fang", "--role", "operator", "--organisation", "org-fusong-coop"],
        tmp_path,
        **db,
    )
    assert added.returncode == 0, added.stderr
    assert "user wang.fang (operator of org-fusong-coop) created" in added.stdout
    issued = run_herbtrace(["user", "token", "wang.fang", "--label", "handheld"], tmp_path, **db)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip().splitlines()[-1]
    assert token.startswith("htk_")
    assert len(token) == users.TOKEN_LENGTH
    engine = make_engine(db["HERBTRACE_DATABASE_URL"])
    try:
        principal = users.authenticate(engine, token)
        assert (principal.name, principal.organisation) == ("wang.fang", "org-fusong-coop")
        listed = run_herbtrace(["user", "list", "--tokens"], tmp_path, **db)
        assert listed.returncode == 0, listed.stderr
        assert "wang.fang" in listed.stdout
        assert "handheld" in listed.stdout
        assert token not in listed.stdout
        assert token[4:20] not in listed.stdout
        revoked = run_herbtrace(["user", "revoke", str(principal.token_id)], tmp_path, **db)
        assert revoked.returncode == 0, revoked.stderr
        assert f"token {principal.token_id} of wang.fang revoked" in revoked.stdout
        with pytest.raises(errors.Unauthenticated):
            users.authenticate(engine, token)
    finally:
        engine.dispose()


def test_revoke_every_token_of_a_user(tmp_path: Path, db: dict[str, str]) -> None:
    """`user revoke --user NAME` revokes all of that user's tokens and says how many."""
    assert (
        run_herbtrace(["user", "add", "li", "--role", "regulator"], tmp_path, **db).returncode == 0
    )
    for _ in range(2):
        assert run_herbtrace(["user", "token", "li"], tmp_path, **db).returncode == 0
    result = run_herbtrace(["user", "revoke", "--user", "li"], tmp_path, **db)
    assert result.returncode == 0, result.stderr
    assert "revoked 2 token(s) of li" in result.stdout


BAD_COMMANDS = [
    (["user", "add", "x", "--role", "operator"], 1, "acts for an organisation"),
    (["user", "add", "x", "--role", "root"], 1, "role must be one of"),
    (["user", "add", "X Y", "--role", "admin"], 1, "user name"),
    (["user", "token", "ghost"], 1, "no user is named 'ghost'"),
    (["user", "revoke", "4242"], 1, "no token has ID 4242"),
    (["user", "revoke"], 2, "give either a token ID or --user NAME"),
]


def test_bad_commands_fail_with_one_line(tmp_path: Path, db: dict[str, str]) -> None:
    """Bad input exits non-zero with a one-line reason and no traceback; no user is created."""
    for args, code, message in BAD_COMMANDS:
        result = run_herbtrace(args, tmp_path, **db)
        assert result.returncode == code, args
        assert message in result.stderr, args
        assert "Traceback" not in result.stderr
    engine = make_engine(db["HERBTRACE_DATABASE_URL"])
    try:
        assert users.list_users(engine) == []
    finally:
        engine.dispose()
