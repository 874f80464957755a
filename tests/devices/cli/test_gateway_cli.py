"""`herbtrace device enroll/revoke` and `herbtrace ingest` as real processes."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import support
from ingest_helpers import GatewayProcess, gateway_env
from mqtt_helpers import NOT_AUTHORIZED, BrokerFixture, TestClient
from registration_support import register_first_site
from sim_fleet import handheld_bodies, handheld_enrolment

from devices.broker import Credentials, free_port
from schemas.mqtt import INGEST_SUBSCRIPTION, events_topic, receipts_topic
from traceability.canonical import canonical_bytes
from traceability.enrolment import get_device
from traceability.ingest.receipts import verify_receipt
from traceability.keys import raw_public_key
from traceability.log.note import NoteVerifier
from traceability.storage.db import make_engine


def run(args: list[str], tmp_path: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """Run `herbtrace ARGS` with `env`; return exit code, stdout and stderr."""
    result = support.run_herbtrace(args, tmp_path, **env)
    return result.returncode, result.stdout, result.stderr


ORG, SITE = "org-fusong-coop", "site-fusong-3"
"""The organisation and site the tests' devices are enrolled for (registered first)."""


def enrolled(stdout: str) -> Credentials:
    """The broker credentials `device enroll` printed."""
    username = re.search(r"broker username: (\S+)", stdout)
    password = re.search(r"broker password: (\S+)", stdout)
    assert username, stdout
    assert password, stdout
    return Credentials(username.group(1), password.group(1))


@pytest.fixture(name="cli_env")
def _cli_env(broker: BrokerFixture, sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment of a log created with `herbtrace init`, pointing at the test's broker."""
    env = gateway_env(broker, sqlite_url)
    code, _, err = run(["init"], tmp_path, env)
    assert code == 0, err
    register_first_site(sqlite_url, ORG, SITE, env["HERBTRACE_LOG_ORIGIN"])
    return env


def test_enrol_then_revoke_through_the_cli(
    broker: BrokerFixture,
    cli_env: dict[str, str],
    tmp_path: Path,
    gateway_processes: Callable[..., GatewayProcess],
) -> None:
    """`device enroll` registers the key and gives working broker credentials, and the
    device's envelopes are accepted; after `device revoke` its signer is revoked and the
    broker no longer lets it in (the gateway's own refusal: test_rejections)."""
    code, _, err = run(["seed", "--registrations"], tmp_path, cli_env)
    assert code == 0, err
    where = handheld_enrolment()
    signer = support.TestSigner()
    key = base64.b64encode(raw_public_key(signer.key)).decode()
    args = ["device", "enroll", "--public-key", key, "--organisation", where["organisation"]]
    code, out, err = run([*args, "--site", where["site"]], tmp_path, cli_env)
    assert code == 0, err
    credentials = enrolled(out)
    assert credentials.username == signer.key_id
    assert f"broker account {signer.key_id} created (broker running)" in out
    engine = make_engine(cli_env["HERBTRACE_DATABASE_URL"])
    device = get_device(engine, signer.key_id)
    assert (device.site, device.signer.role, device.status) == (where["site"], "device", "active")
    log_key = _log_key(tmp_path, cli_env)
    code, out, err = run(["device", "gateway-account", "gw-cli"], tmp_path, cli_env)
    assert code == 0, err
    account = enrolled(out)  # the gateway's own account, printed the same way
    assert account.username == "gw-cli"
    own = {"HERBTRACE_MQTT_USERNAME": "gw-cli", "HERBTRACE_MQTT_PASSWORD": account.password}
    gateway = gateway_processes(cli_env | own)  # the rules on: a real planting
    gateway.wait_ready()
    client = broker.client(credentials)
    client.subscribe(receipts_topic(signer.key_id))
    (planting,) = handheld_bodies(0, 1)
    client.publish(events_topic(signer.key_id), canonical_bytes(signer.next(planting)))
    assert verify_receipt(client.next_message().payload, log_key).status == "accepted"

    code, out, err = run(["device", "revoke", signer.key_id], tmp_path, cli_env)
    assert code == 0, err
    assert f"device {signer.key_id} revoked" in out
    assert f"broker account {signer.key_id} disabled" in out
    assert get_device(engine, signer.key_id).status == "revoked"
    deadline = time.monotonic() + 5
    while TestClient(broker.host, broker.port, credentials).connect() == 0:
        assert time.monotonic() < deadline, "revoked device still gets in"
        time.sleep(0.05)
    assert gateway.stop() == 0
    engine.dispose()


def _log_key(tmp_path: Path, env: dict[str, str]) -> bytes:
    code, out, err = run(["init"], tmp_path, env)
    assert code == 0, err
    vkey = re.search(r"log key: (\S+)", out)
    assert vkey, out
    return NoteVerifier.from_vkey(vkey.group(1)).public_key


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            [
                "device",
                "enroll",
                "--public-key",
                "not base64!",
                "--organisation",
                "x",
                "--site",
                "y",
            ],
            "not valid base64",
        ),
        (
            ["device", "enroll", "--public-key", "AAAA", "--organisation", "x", "--site", "y"],
            "32 bytes",
        ),
        (["device", "revoke", "0" * 32], "no device"),
    ],
)
def test_bad_input_gets_one_clear_error(
    cli_env: dict[str, str], tmp_path: Path, args: list[str], fragment: str
) -> None:
    """Bad keys and unknown devices exit 1 with a one-line error and change nothing."""
    code, _, err = run(args, tmp_path, cli_env)
    assert code == 1
    assert fragment in err
    assert "Traceback" not in err
    engine = make_engine(cli_env["HERBTRACE_DATABASE_URL"])
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM devices").scalar() == 0
    engine.dispose()


def test_enrolling_twice_is_refused(cli_env: dict[str, str], tmp_path: Path) -> None:
    """The same key enrolled twice: the second attempt exits 1 naming the device."""
    key = base64.b64encode(support.TestSigner().public_key).decode()
    args = ["device", "enroll", "--public-key", key, "--organisation", ORG, "--site", SITE]
    assert run(args, tmp_path, cli_env)[0] == 0
    code, _, err = run(args, tmp_path, cli_env)
    assert code == 1
    assert "already enrolled" in err


def test_ingest_refuses_a_broker_it_cannot_log_in_to(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """A wrong gateway password ends `herbtrace ingest` with a clear error, exit 1."""
    env = {**cli_env, "HERBTRACE_MQTT_PASSWORD": "wrong"}
    code, _, err = run(["ingest"], tmp_path, env)
    assert code == 1
    assert "MQTT broker refused the gateway" in err


def test_enrol_prints_one_json_object_with_the_broker_password(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """`device enroll --json` prints exactly one JSON object a script can read: the device,
    its site and the broker credentials, and whether the account was created."""
    signer = support.TestSigner()
    key = base64.b64encode(signer.public_key).decode()
    args = ["device", "enroll", "--public-key", key, "--organisation", ORG, "--site", SITE]
    code, out, err = run([*args, "--json"], tmp_path, cli_env)
    assert code == 0, err
    record = json.loads(out)
    assert record == {
        "device_id": signer.key_id,
        "organisation": ORG,
        "site": SITE,
        "role": "device",
        "broker_username": signer.key_id,
        "broker_password": record["broker_password"],
        "broker_password_installed": True,
    }
    assert len(record["broker_password"]) >= 16


@pytest.mark.parametrize(
    ("organisation", "site", "fragment"),
    [
        (ORG, "site-nowhere", "site site-nowhere is not registered"),
        ("org-other", SITE, f"site {SITE} belongs to {ORG}, not org-other"),
    ],
)
def test_enrol_refuses_a_site_that_is_not_the_organisations(
    cli_env: dict[str, str], tmp_path: Path, organisation: str, site: str, fragment: str
) -> None:
    """As over HTTP, a device is enrolled only for a registered site of its organisation."""
    key = base64.b64encode(support.TestSigner().public_key).decode()
    args = ["device", "enroll", "--public-key", key, "--organisation", organisation]
    code, _, err = run([*args, "--site", site], tmp_path, cli_env)
    assert code == 1
    assert fragment in " ".join(err.split())


def test_broker_config_renders_a_directory_mosquitto_runs_and_the_cli_administers(
    tmp_path: Path,
) -> None:
    """`device broker-config` writes what the broker needs (no Python needed): Mosquitto
    starts on it, `gateway-account` creates an account through its admin, that account
    gets in and joins the ingest group, and a subscription it may not make gets 0x87."""
    directory = tmp_path / "broker"
    port = free_port()
    code, out, err = run(["device", "broker-config", "--dir", str(directory), "--port", str(port)],
                         tmp_path, {})  # fmt: skip
    assert code == 0, err
    assert f"mosquitto -c {directory / 'mosquitto.conf'}" in out
    assert {p.name for p in directory.iterdir()} >= {
        "mosquitto.conf", "admin.json", "dynamic-security.json", "data"
    }  # fmt: skip
    assert (directory / "admin.json").stat().st_mode & 0o077 == 0
    log = (tmp_path / "mosquitto.out").open("wb")
    broker = subprocess.Popen(["mosquitto", "-c", str(directory / "mosquitto.conf")],
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        env = {"HERBTRACE_BROKER_DIR": str(directory)}
        deadline = time.monotonic() + 20
        while True:
            code, out, err = run(["device", "gateway-account", "gw-1"], tmp_path, env)
            if code == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert code == 0, err
        gateway = TestClient("127.0.0.1", port, enrolled(out))
        gateway.connect()
        assert gateway.subscribe(INGEST_SUBSCRIPTION) == [1]
        assert gateway.subscribe("#") == [NOT_AUTHORIZED]
        gateway.close()
    finally:
        broker.terminate()
        broker.wait(10)
        log.close()
