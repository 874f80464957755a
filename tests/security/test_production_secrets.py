"""An operator who copies the example environment, types a short passphrase or leaves one empty
gets a one-line refusal (exit 2, no traceback) from every command, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from support import run_herbtrace

from traceability.storage.db import make_engine

EXAMPLE_ENV = Path(__file__).parents[2] / "deploy" / "systemd" / "herbtrace.env"
SECRET_VARIABLES = (
    "HERBTRACE_LOG_KEY_PASSPHRASE",
    "HERBTRACE_IMPORT_KEY_PASSPHRASE",
    "HERBTRACE_SCAN_SALT",
    "HERBTRACE_MQTT_PASSWORD",
)
GOOD = {
    "HERBTRACE_LOG_KEY_PASSPHRASE": "Jq0v8m3Yb2pW5rT1kX9cN4dF7hZ6",
    "HERBTRACE_IMPORT_KEY_PASSPHRASE": "a9Lr2Vx7Qp4Hs1Kt8Wm3Bz6Yc5",
    "HERBTRACE_SCAN_SALT": "Zt3Np8Ks1Vm6Qx4Rb9Lw2Hy7",
    "HERBTRACE_MQTT_PASSWORD": "mQ7rT2vX9kB4nP1sW6zL3cY8",
}


def example_secrets() -> dict[str, str]:
    """The secret variables as deploy/systemd/herbtrace.env ships them (its placeholders)."""
    found = {}
    for raw in EXAMPLE_ENV.read_text().splitlines():
        key, sep, value = raw.strip().partition("=")
        if sep and key in SECRET_VARIABLES:
            found[key] = value
    assert set(found) == set(SECRET_VARIABLES), "the example environment names every secret"
    return found


def production(url: str, **changes: str) -> dict[str, str]:
    """A production environment on `url` with good secrets, but for `changes`."""
    return {
        "HERBTRACE_ENVIRONMENT": "production",
        "HERBTRACE_DATABASE_URL": url,
        **GOOD,
        **changes,
    }


def assert_refused(result: object, variable: str, fragment: str) -> None:
    """Exit 2, one error line naming `variable` and saying `fragment`, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert variable in lines[0]
    assert fragment in lines[0]


def test_good_secrets_are_accepted(sqlite_url: str, tmp_path: Path) -> None:
    """The control: production with generated secrets initialises."""
    result = run_herbtrace(["init"], tmp_path, **production(sqlite_url))
    assert result.returncode == 0, result.stderr


def test_the_example_files_placeholders_are_each_refused_and_nothing_is_written(
    db_url: str, tmp_path: Path
) -> None:
    """Each placeholder secret of deploy/systemd/herbtrace.env, left as shipped, stops
    `herbtrace init` naming the variable, and the database is left untouched."""
    for variable, placeholder in example_secrets().items():
        result = run_herbtrace(["init"], tmp_path, **production(db_url, **{variable: placeholder}))
        assert_refused(result, variable, "placeholder")
    engine = make_engine(db_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("variable", SECRET_VARIABLES)
def test_one_character_secrets_are_refused(sqlite_url: str, tmp_path: Path, variable: str) -> None:
    """A one-character secret is refused in production, naming the variable."""
    result = run_herbtrace(["init"], tmp_path, **production(sqlite_url, **{variable: "k"}))
    assert_refused(result, variable, "at least 16")
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()


def test_fifteen_characters_are_too_short_and_sixteen_enough(
    sqlite_url: str, tmp_path: Path
) -> None:
    """The stated minimum is 16 characters: 15 is refused, 16 accepted."""
    short = production(sqlite_url, HERBTRACE_LOG_KEY_PASSPHRASE="k" * 15)
    assert_refused(run_herbtrace(["init"], tmp_path, **short), "LOG_KEY", "at least 16")
    enough = production(sqlite_url, HERBTRACE_LOG_KEY_PASSPHRASE="Kq8" + "k" * 13)
    assert run_herbtrace(["init"], tmp_path, **enough).returncode == 0


@pytest.mark.parametrize("variable", SECRET_VARIABLES)
def test_empty_secrets_are_refused_in_production(
    sqlite_url: str, tmp_path: Path, variable: str
) -> None:
    """An empty secret (an empty line in the environment file) is refused, not a traceback."""
    result = run_herbtrace(["init"], tmp_path, **production(sqlite_url, **{variable: ""}))
    fragment = "at least 16" if variable == "HERBTRACE_SCAN_SALT" else "must not be empty"
    assert_refused(result, variable, fragment)


@pytest.mark.parametrize(
    "variable", ["HERBTRACE_LOG_KEY_PASSPHRASE", "HERBTRACE_IMPORT_KEY_PASSPHRASE"]
)
def test_an_empty_passphrase_is_refused_in_development_too(
    sqlite_url: str, tmp_path: Path, variable: str
) -> None:
    """Nothing can be encrypted with an empty passphrase: refused in any environment (it
    ended in a traceback from the key encryption)."""
    env = {"HERBTRACE_DATABASE_URL": sqlite_url, variable: ""}
    assert_refused(run_herbtrace(["init"], tmp_path, **env), variable, "must not be empty")


@pytest.mark.parametrize(
    "args",
    [
        ["verify"],
        ["seed", "--events", "1"],
        ["signer", "list"],
        ["serve", "--port", "1"],
        ["ingest"],
        ["import", "keygen", "--key", "k.pem", "--name", "n", "--organisation", "o"],
    ],
)
def test_every_command_refuses_with_one_line(
    sqlite_url: str, tmp_path: Path, args: list[str]
) -> None:
    """The refusal is the same one line and exit 2 from each command, not a traceback."""
    result = run_herbtrace(
        args,
        tmp_path,
        **production(sqlite_url, HERBTRACE_MQTT_PASSWORD="change-me"),  # noqa: S106 - the placeholder
    )
    assert_refused(result, "HERBTRACE_MQTT_PASSWORD", "placeholder")
    assert not (tmp_path / "k.pem").exists()
