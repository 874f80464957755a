"""The `herbtrace` command line: clear one-line errors for bad input, and the happy paths."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
import support
from click.testing import Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import make_url
from typer.testing import CliRunner

from traceability.cli import app
from traceability.cli.app import load_plugins
from traceability.keys import key_id_for, raw_public_key
from traceability.log.log_key import load_log_verifier
from traceability.log.note import NoteSigner
from traceability.storage.db import make_engine

ORIGIN = "test.herbtrace/log"


def invoke(args: list[str], **env: str) -> Result:
    """Run the CLI in-process with only the given HERBTRACE_ variables set."""
    cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HERBTRACE_")}
    load_plugins()  # the console script does this first: devices/ adds `demo`, `device`, …
    cheap = support.cheap_keys(env)
    return CliRunner().invoke(app, args, env={**cleared, "COLUMNS": "200", **cheap, **env})


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `herbtrace` command as a real process with only `env`'s settings."""
    return support.run_herbtrace(args, cwd, **env)


def assert_clean_error(result: Result, code: int, fragment: str) -> None:
    """The command exited `code` (not via an exception) and said `fragment` on stderr."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.output


def assert_one_error_line(result: Result, code: int, fragment: str) -> None:
    """Like assert_clean_error, and the error is a single `error: …` line."""
    assert_clean_error(result, code, fragment)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]


def new_public_key_b64() -> str:
    """A fresh Ed25519 public key, base64 of its 32 raw bytes."""
    return base64.b64encode(raw_public_key(Ed25519PrivateKey.generate())).decode()


@pytest.fixture(name="inited_url")
def _inited_url(sqlite_url: str) -> str:
    """A SQLite URL of a log created with `herbtrace init`."""
    result = invoke(["init"], HERBTRACE_DATABASE_URL=sqlite_url, HERBTRACE_LOG_ORIGIN=ORIGIN)
    assert result.exit_code == 0, result.output
    return sqlite_url


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["seed", "--events", "0"], "Invalid value for '--events'"),
        (["seed", "--events", "abc"], "Invalid value for '--events'"),
        (["serve", "--port", "0"], "Invalid value for '--port'"),
        (["serve", "--port", "65536"], "Invalid value for '--port'"),
        (["demo", "--events", "-1"], "Invalid value for '--events'"),
        (["export", "bundle"], "Missing option '--out'"),
        (["verify", "--workers", "0"], "Invalid value for '--workers'"),
        (["signer", "add", "--public-key", "AAAA"], "Missing option '--name'"),
        (["signer", "revoke"], "Missing argument 'key_id'"),
        (["bench", "ledger", "--entries", "10"], "Invalid value for '--entries'"),
        (["no-such-command"], "No such command 'no-such-command'"),
    ],
)
def test_bad_arguments_are_usage_errors(args: list[str], fragment: str) -> None:
    """Arguments out of range, of the wrong type or missing exit 2 naming the argument."""
    assert_clean_error(invoke(args), 2, fragment)


def test_verify_of_a_missing_bundle_file_says_so() -> None:
    """`verify --bundle missing-file` exits 2 with one line naming the file."""
    assert_one_error_line(invoke(["verify", "--bundle", "missing-file"]), 2, "no bundle at")


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("not base64!", "public key is not valid base64"),
        (base64.b64encode(bytes(31)).decode(), "an Ed25519 public key is 32 bytes, got 31"),
        (base64.b64encode(bytes(64)).decode(), "an Ed25519 public key is 32 bytes, got 64"),
    ],
)
def test_signer_add_refuses_a_bad_key(inited_url: str, key: str, fragment: str) -> None:
    """`signer add` with bad base64 or a key of the wrong length exits 1 with one line."""
    args = ["signer", "add", "--public-key", key, "--name", "扫码枪", "--organisation", "药房"]
    assert_one_error_line(invoke(args, HERBTRACE_DATABASE_URL=inited_url), 1, fragment)


def test_signer_add_refuses_an_unknown_role(inited_url: str) -> None:
    """`signer add --role wizard` exits 1 listing the roles there are."""
    args = ["signer", "add", "--public-key", new_public_key_b64()]
    args += ["--name", "扫码枪", "--organisation", "药房", "--role", "wizard"]
    result = invoke(args, HERBTRACE_DATABASE_URL=inited_url)
    assert_one_error_line(result, 1, "role must be one of device, operator")
    assert "'wizard'" in result.stderr


def test_signer_revoke_of_an_unknown_key_id_says_so(inited_url: str) -> None:
    """`signer revoke` of a key ID nobody registered exits 1 naming it."""
    result = invoke(["signer", "revoke", "0" * 32], HERBTRACE_DATABASE_URL=inited_url)
    assert_one_error_line(result, 1, f"no signer has key ID {'0' * 32}")


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("not a url", "HERBTRACE_DATABASE_URL is not a database URL"),
        ("mysql://user@localhost/herbtrace", "unsupported database 'mysql'"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/herbtrace", "database error: connection"),
    ],
)
def test_a_malformed_or_unusable_database_url_is_refused(url: str, fragment: str) -> None:
    """A database URL that is malformed, unsupported or unreachable exits 1 with one line."""
    assert_one_error_line(invoke(["init"], HERBTRACE_DATABASE_URL=url), 1, fragment)


@pytest.mark.parametrize(
    "args", [["verify"], ["signer", "list"], ["export", "bundle", "--out", "x"]]
)
def test_commands_on_a_database_never_initialised_say_so(args: list[str], sqlite_url: str) -> None:
    """Commands run before `herbtrace init` exit 1 with one line pointing at init."""
    result = invoke(args, HERBTRACE_DATABASE_URL=sqlite_url)
    assert_one_error_line(result, 1, "`herbtrace init`")


def test_production_with_the_development_passphrase_is_refused(sqlite_url: str) -> None:
    """HERBTRACE_ENVIRONMENT=production with the default passphrase exits 2 naming the variable."""
    result = invoke(["init"], HERBTRACE_DATABASE_URL=sqlite_url, HERBTRACE_ENVIRONMENT="production")
    assert_one_error_line(result, 2, "HERBTRACE_LOG_KEY_PASSPHRASE must be set to a secret")


PRODUCTION_SECRETS = {
    "HERBTRACE_LOG_KEY_PASSPHRASE": "道地药材 secret passphrase",
    "HERBTRACE_IMPORT_KEY_PASSPHRASE": "import secret passphrase",
    "HERBTRACE_SCAN_SALT": "scan salt of this deployment",
    "HERBTRACE_MQTT_PASSWORD": "gateway password of this deployment",
}


def test_production_with_its_own_secrets_is_accepted(sqlite_url: str) -> None:
    """HERBTRACE_ENVIRONMENT=production with every secret set to its own value initialises."""
    result = invoke(
        ["init"],
        HERBTRACE_DATABASE_URL=sqlite_url,
        HERBTRACE_ENVIRONMENT="production",
        **PRODUCTION_SECRETS,
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("missing", sorted(PRODUCTION_SECRETS))
def test_production_refuses_each_development_secret(sqlite_url: str, missing: str) -> None:
    """In production, leaving any one secret at its development default is refused by name."""
    secrets = {k: v for k, v in PRODUCTION_SECRETS.items() if k != missing}
    result = invoke(
        ["init"], HERBTRACE_DATABASE_URL=sqlite_url, HERBTRACE_ENVIRONMENT="production", **secrets
    )
    assert_clean_error(result, 2, missing)


def test_an_unknown_environment_names_the_variable() -> None:
    """HERBTRACE_ENVIRONMENT=staging exits 2 naming the variable and the allowed values."""
    result = invoke(["init"], HERBTRACE_ENVIRONMENT="staging")
    assert_one_error_line(result, 2, "HERBTRACE_ENVIRONMENT: Input should be 'development'")


def test_seeding_with_the_wrong_passphrase_says_so(inited_url: str) -> None:
    """`seed` on an existing log with a wrong HERBTRACE_LOG_KEY_PASSPHRASE exits 1 saying so."""
    result = invoke(
        ["seed", "--events", "5"],
        HERBTRACE_DATABASE_URL=inited_url,
        HERBTRACE_LOG_ORIGIN=ORIGIN,
        HERBTRACE_LOG_KEY_PASSPHRASE="not the passphrase",  # noqa: S106 - deliberately wrong
    )
    assert_one_error_line(result, 1, "wrong HERBTRACE_LOG_KEY_PASSPHRASE")


def test_verify_refuses_a_malformed_log_key(inited_url: str) -> None:
    """`verify --log-key` with something that is not a verifier key exits 1 with one line."""
    result = invoke(
        ["verify", "--log-key", "not-a-key"],
        HERBTRACE_DATABASE_URL=inited_url,
        HERBTRACE_LOG_ORIGIN=ORIGIN,
    )
    assert_one_error_line(result, 1, "verifier key must be <name>+<hex key ID>+<base64 key>")


def test_bench_refuses_an_unknown_backend() -> None:
    """`bench ledger --backend mysql` exits 2 before measuring anything."""
    result = invoke(["bench", "ledger", "--backend", "mysql"])
    assert_one_error_line(result, 2, "unknown backend 'mysql'")


@pytest.mark.parametrize(
    ("args", "env", "code", "fragment"),
    [
        (["seed", "--events", "abc"], {}, 2, "Invalid value for '--events'"),
        (["init"], {"HERBTRACE_ENVIRONMENT": "production"}, 2, "HERBTRACE_LOG_KEY_PASSPHRASE"),
        (["init"], {"HERBTRACE_DATABASE_URL": "::"}, 1, "is not a database URL"),
    ],
)
def test_errors_from_a_real_process_have_no_traceback(
    tmp_path: Path, args: list[str], env: dict[str, str], code: int, fragment: str
) -> None:
    """Run as a real process, bad input exits with its code and a message, never a traceback."""
    result = run(args, tmp_path, **env)
    assert result.returncode == code, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_init_prints_the_log_key_and_is_idempotent(db_url: str) -> None:
    """`init` creates the log and prints its verifier key; running it again keeps the key."""
    env = {"HERBTRACE_DATABASE_URL": db_url, "HERBTRACE_LOG_ORIGIN": ORIGIN}
    first = invoke(["init"], **env)
    assert first.exit_code == 0, first.output
    engine = make_engine(db_url)
    with engine.connect() as conn:
        vkey = load_log_verifier(conn, ORIGIN).to_vkey()
    engine.dispose()
    assert vkey.startswith(f"{ORIGIN}+")
    assert f"log key: {vkey}" in first.stdout
    again = invoke(["init"], **env)
    assert again.exit_code == 0, again.output
    assert f"log key: {vkey}" in again.stdout


def test_seed_then_verify(db_url: str, tmp_path: Path) -> None:
    """`seed --events 50` appends 50 events (and the alerts the rules raise, one for the demo's
    failed test), then `verify`, run as a real process, passes over all of them."""
    env = {"HERBTRACE_DATABASE_URL": db_url, "HERBTRACE_LOG_ORIGIN": ORIGIN}
    assert invoke(["init"], **env).exit_code == 0
    seeded = invoke(["seed", "--events", "50"], **env)
    assert seeded.exit_code == 0, seeded.output
    assert "appended 50 of 50 events; log size 51" in seeded.stdout
    verified = run(["verify"], tmp_path, **env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "checked 51 entries" in verified.stdout
    assert "OK" in verified.stdout


def test_verify_with_log_key_pins_the_database_key(inited_url: str) -> None:
    """`verify --log-key` passes with the log's own key and exits 1 with any other key."""
    env = {"HERBTRACE_DATABASE_URL": inited_url, "HERBTRACE_LOG_ORIGIN": ORIGIN}
    engine = make_engine(inited_url)
    with engine.connect() as conn:
        vkey = load_log_verifier(conn, ORIGIN).to_vkey()
    engine.dispose()
    assert invoke(["seed", "--events", "12"], **env).exit_code == 0
    pinned = invoke(["verify", "--log-key", vkey], **env)
    assert pinned.exit_code == 0, pinned.output
    other = NoteSigner.generate(ORIGIN).verifier().to_vkey()
    refused = invoke(["verify", "--log-key", other], **env)
    assert_one_error_line(refused, 1, "the database's log key is not the one given with --log-key")


def test_signer_add_list_revoke(inited_url: str) -> None:
    """A signer added on the command line is listed, then revoked, then listed as revoked."""
    key = new_public_key_b64()
    key_id = key_id_for(base64.b64decode(key))
    env = {"HERBTRACE_DATABASE_URL": inited_url}
    added = invoke(
        [
            *("signer", "add", "--public-key", key, "--name", "安国药市终端"),
            *("--organisation", "安国市药材公司", "--role", "operator"),
        ],
        **env,
    )
    assert added.exit_code == 0, added.output
    assert f"signer {key_id} (安国药市终端, 安国市药材公司) is active" in added.stdout

    listed = invoke(["signer", "list"], **env)
    assert listed.exit_code == 0, listed.output
    (row,) = [line for line in listed.stdout.splitlines() if key_id in line]
    assert "安国药市终端" in row
    assert "operator" in row
    assert "active" in row

    revoked = invoke(["signer", "revoke", key_id], **env)
    assert revoked.exit_code == 0, revoked.output
    assert f"signer {key_id} revoked at" in revoked.stdout
    (row,) = [
        line for line in invoke(["signer", "list"], **env).stdout.splitlines() if key_id in line
    ]
    assert "revoked" in row


NEEDS_A_DATABASE = [
    ["verify"],
    ["reindex"],
    ["user", "add", "alice", "--role", "admin"],
    ["user", "list"],
    ["user", "token", "alice"],
    ["signer", "list"],
    ["export", "bundle", "--out", "bundle.json"],
    ["export", "epcis", "--out", "epcis.json"],
    ["device", "revoke", "0" * 16],
    ["serve", "--port", "1"],
    ["ingest"],
]


@pytest.mark.parametrize("args", NEEDS_A_DATABASE, ids=lambda a: " ".join(a[:2]))
def test_a_command_run_where_there_is_no_database_names_the_url_and_creates_nothing(
    args: list[str], tmp_path: Path
) -> None:
    """Run in a directory without the database, a command other than init, seed and demo
    exits 1 naming the absolute path it looked at, and leaves no empty herbtrace.db."""
    result = run(args, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    expected = f"no database at sqlite:///{tmp_path / 'herbtrace.db'}"
    assert expected in " ".join(result.stderr.split()), result.stderr
    assert "herbtrace init" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "herbtrace.db").exists()


@pytest.mark.parametrize("args", NEEDS_A_DATABASE, ids=lambda a: " ".join(a[:2]))
def test_a_command_on_an_empty_database_file_says_it_is_empty_and_changes_nothing(
    args: list[str], sqlite_url: str, tmp_path: Path
) -> None:
    """An existing but empty SQLite file (never initialised) is refused with its URL, and
    stays empty: no tables appear behind the operator's back."""
    path = Path(make_url(sqlite_url).database or "")
    path.touch()
    result = run(args, tmp_path, HERBTRACE_DATABASE_URL=sqlite_url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"the database at {sqlite_url} is empty" in " ".join(result.stderr.split())
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


@pytest.mark.postgres
def test_a_command_on_a_postgresql_database_that_does_not_exist_names_its_url(
    postgres_url: str,
) -> None:
    """A PostgreSQL URL naming no database gets one error line with the URL, no password."""
    missing = make_url(postgres_url).set(database="herbtrace_no_such_db", password="secret")  # noqa: S106
    url = missing.render_as_string(hide_password=False)
    result = invoke(["verify"], HERBTRACE_DATABASE_URL=url)
    assert_one_error_line(result, 1, "cannot open the database at ")
    assert "herbtrace_no_such_db" in result.stderr
    assert "secret" not in result.stderr


def test_verify_on_a_fresh_log_says_it_has_no_entries(inited_url: str) -> None:
    """Right after `init` the log is empty: the audit passes and says so plainly."""
    result = invoke(["verify"], HERBTRACE_DATABASE_URL=inited_url, HERBTRACE_LOG_ORIGIN=ORIGIN)
    assert result.exit_code == 0, result.output
    assert f"auditing {inited_url}" in result.stdout
    assert "the log verifies; it has no entries yet" in result.stdout


def test_seed_sets_up_a_missing_database_where_user_add_refuses_it(tmp_path: Path) -> None:
    """`seed` (like `init` and `demo`) creates what it needs; `user add` before it refuses,
    and after it succeeds on the same URL."""
    assert run(["user", "add", "ann", "--role", "admin"], tmp_path).returncode == 1
    assert run(["seed", "--events", "5"], tmp_path).returncode == 0
    added = run(["user", "add", "ann", "--role", "admin"], tmp_path)
    assert added.returncode == 0, added.stdout + added.stderr
