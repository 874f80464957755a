"""The command examples in the docs run as written on the demo's data."""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from registration_support import organisation_body, signed_chain, site_body
from support import run_herbtrace

from api.main import create_app
from traceability.demo import seed_events
from traceability.domain.service import Domain
from traceability.envelope import sign_envelope
from traceability.keys import raw_public_key
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


def _json_block_bodies(markdown: str, heading: str) -> list[dict[str, object]]:
    """The JSON bodies (one per line group) of the first ```json block after `heading`."""
    section = markdown.split(heading, 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert block is not None, f"no json block after {heading}"
    text = " ".join(line.strip() for line in block.group(1).splitlines())
    return list(_objects(text))


def _objects(text: str) -> Iterator[dict[str, object]]:
    decoder = json.JSONDecoder()
    at = 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(text, at)
        yield value


def test_the_first_organisation_and_site_are_registered_as_the_api_docs_say(
    tmp_path: Path,
) -> None:
    """On a fresh database: `signer add --role admin`, the docs' organisation and site
    bodies signed by that key and posted to /v1/events (both accepted), and then
    `device enroll --json` for that site works."""
    url = f"sqlite:///{tmp_path / 'herbtrace.db'}"
    env = {"HERBTRACE_DATABASE_URL": url}
    assert run_herbtrace(["init"], tmp_path, **env).returncode == 0
    registrar = Ed25519PrivateKey.generate()
    public = base64.b64encode(raw_public_key(registrar)).decode()
    docs = (DOCS / "api.md").read_text(encoding="utf-8")
    heading = "**The first organisation and site.**"
    [signer_add] = [c for c in shell_block(docs, heading) if c[1:3] == ["signer", "add"]]
    args = [public if word == "BASE64" else word for word in signer_add[1:]]
    added = run_herbtrace(args, tmp_path, **env)
    assert added.returncode == 0, added.stderr
    organisation, site = _json_block_bodies(docs, heading)
    settings = Settings(database_url=url, key_kdf_cost="development-fast")
    with TestClient(create_app(settings)) as client:
        for envelope in signed_chain(registrar, [organisation, site]):
            answer = client.post("/v1/events", json=envelope)
            assert answer.status_code == 201, answer.text
    device = base64.b64encode(raw_public_key(Ed25519PrivateKey.generate())).decode()
    enroll = ["device", "enroll", "--public-key", device, "--json"]
    enroll += ["--organisation", str(organisation["id"]), "--site", str(site["id"])]
    enrolled = run_herbtrace(enroll, tmp_path, **env)
    assert enrolled.returncode == 0, enrolled.stderr
    assert json.loads(enrolled.stdout)["site"] == site["id"]


def test_a_refused_envelope_keeps_its_number_and_verify_explains_the_gap(
    tmp_path: Path,
) -> None:
    """protocol.md §2, "After a refusal": seq 2 is refused, seq 3 chains onto it and is
    accepted; `herbtrace verify` passes and names the gap at 2 as refused, with the reason;
    another envelope numbered 2 is refused as prev_mismatch, and the refused one, resent
    once its cause is gone, would be the only fill."""
    url = f"sqlite:///{tmp_path / 'herbtrace.db'}"
    env = {"HERBTRACE_DATABASE_URL": url}
    assert run_herbtrace(["init"], tmp_path, **env).returncode == 0
    registrar = Ed25519PrivateKey.generate()
    public = base64.b64encode(raw_public_key(registrar)).decode()
    add = ["signer", "add", "--public-key", public, "--name", "registrar"]
    assert run_herbtrace([*add, "--organisation", "org-platform", "--role", "admin"], tmp_path,
                         **env).returncode == 0  # fmt: skip
    bad_site = site_body("site-x", "org-nowhere")  # names an organisation never registered
    bodies = [organisation_body("org-fusong-coop"), bad_site,
              site_body("site-fusong-wanliang", "org-fusong-coop")]  # fmt: skip
    first, refused, third = signed_chain(registrar, bodies)
    settings = Settings(database_url=url, key_kdf_cost="development-fast")
    with TestClient(create_app(settings)) as client:
        assert client.post("/v1/events", json=first).status_code == 201
        answer = client.post("/v1/events", json=refused)
        assert answer.status_code == 422
        reason = answer.json()["payload"]["reason"]
        assert client.post("/v1/events", json=third).status_code == 201
        [other] = signed_chain(registrar, [organisation_body("org-other")])
        other["payload"] |= {"seq": 2, "prev": refused["payload"]["prev"]}
        other = sign_envelope(registrar, other["payload"])
        again = client.post("/v1/events", json=other)
        assert again.json()["payload"]["reason"] == "prev_mismatch"
    audit = run_herbtrace(["verify"], tmp_path, **env)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    signer = refused["payload"]["signer"]
    line = " ".join(audit.stdout.split())
    assert f"gap: signer {signer} has no envelope 2: refused (" in line
    assert f"{reason}), kept as evidence" in line
