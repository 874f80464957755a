"""The command examples in the docs run as written on the demo's data."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from support import run_herbtrace

from traceability.demo import seed_events
from traceability.domain.service import Domain
from traceability.ledger import initialise
from traceability.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def shell_block(markdown: str, heading: str) -> list[list[str]]:
    """The commands of the first ```sh block after `heading`, comments dropped."""
    section = markdown.split(heading, 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, f"no sh block after {heading}"
    return [shlex.split(line, comments=True) for line in block.group(1).splitlines() if line]


@pytest.fixture(name="demo_db")
def _demo_db(tmp_path: Path) -> dict[str, str]:
    """A database with the demo's registrations and first stories, as `herbtrace seed` makes."""
    url = f"sqlite:///{tmp_path / 'herbtrace.db'}"
    settings = Settings(database_url=url, key_kdf_cost="development-fast")
    initialise(settings)
    with Domain(settings) as domain:
        assert all(r.status == "accepted" for r in seed_events(domain, 60))
    return {"HERBTRACE_DATABASE_URL": url}


def test_the_token_examples_of_the_api_docs_run_as_written(
    tmp_path: Path, demo_db: dict[str, str]
) -> None:
    """docs/api.md's user and token commands each exit 0 on the demo's organisations."""
    commands = shell_block((DOCS / "api.md").read_text(encoding="utf-8"), "## Tokens")
    assert len(commands) >= 5
    for command in commands:
        assert command[0] == "herbtrace", command
        done = run_herbtrace(command[1:], tmp_path, **demo_db)
        assert done.returncode == 0, f"{shlex.join(command)}\n{done.stdout}{done.stderr}"


def test_user_add_refuses_an_organisation_that_is_not_registered(
    tmp_path: Path, demo_db: dict[str, str]
) -> None:
    """An operator of an unknown organisation is refused, with registered IDs to pick from."""
    args = ["user", "add", "wang.fang", "--role", "operator", "--organisation", "fusong-coop"]
    done = run_herbtrace(args, tmp_path, **demo_db)
    assert done.returncode == 1
    message = " ".join(done.stderr.split())
    assert "organisation 'fusong-coop' is not registered; registered:" in message
    assert "org-fusong-coop" in message
    listed = run_herbtrace(["user", "list"], tmp_path, **demo_db)
    assert "wang.fang" not in listed.stdout
