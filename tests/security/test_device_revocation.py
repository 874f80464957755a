"""Revoking a device takes it off the broker within seconds, over HTTP as by the CLI.

A revocation is recorded once, in the log; whoever holds broker admin rights carries it to
the broker (the CLI at once, every gateway within about a second). Judged by effect, on a
real Mosquitto with the project's configuration: the device's live session is ended, its
login is refused from then on, and nothing it sends reaches the log (SQLite, PostgreSQL).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
from mqtt_parties import NOT_AUTHORIZED, Instance, Session, running_instance
from resource_support import COOP, ResourceApi, open_resource_api, public_key_b64
from support import TestSigner, cheap_keys, run_herbtrace, settings_for

from devices.broker import Credentials, LocalBroker
from devices.broker.process import free_port
from devices.broker.revocations import RevocationWatcher
from devices.gateway import Gateway, GatewayConfig
from schemas.mqtt import events_topic, receipts_topic
from traceability.canonical import canonical_bytes
from traceability.enrolment import enrol_device, revoke_device
from traceability.ingest.receipts import verify_receipt
from traceability.ledger import initialise
from traceability.storage.db import make_engine

WITHIN = 5.0
"""Seconds within which a revoked device must be off the broker."""
ADMINISTRATIVE_ACTION = 152
"""MQTT 5 DISCONNECT reason 0x98: the broker ended the session on an administrator's word."""


def ended_within(session: Session, seconds: float = WITHIN) -> float:
    """Wait until the broker ends `session`; return how long that took (fail after `seconds`)."""
    start = time.monotonic()
    while not session.disconnects:
        assert time.monotonic() - start < seconds, "the revoked device is still connected"
        time.sleep(0.02)
    return time.monotonic() - start


def online(instance_port: int, ca_file: str | None, credentials: Credentials) -> Session:
    """The device connected under its own ID, subscribed to its receipts."""
    session = Session(instance_port, credentials, credentials.username, ca_file)
    assert session.connect(persistent=True) == 0
    assert session.subscribe(receipts_topic(credentials.username)) == [1]
    return session


def refused(port: int, credentials: Credentials) -> bool:
    """Whether the broker now refuses the device's login."""
    return Session(port, credentials, credentials.username).connect() == NOT_AUTHORIZED


def accepted_one(instance: Instance, signer: TestSigner, session: Session) -> None:
    """The device's next event is appended and its receipt comes back."""
    assert session.publish(events_topic(signer.key_id), canonical_bytes(signer.next())) == 0
    receipt = verify_receipt(session.messages.get(timeout=15).payload, instance.verifier.public_key)
    assert receipt.status == "accepted"


def test_revoking_over_http_ends_the_session_and_the_login(db_url: str, tmp_path: Path) -> None:
    """The co-op's operator revokes its handheld with POST /v1/devices/{id}/revoke: the
    gateway disables its broker account, the live session is ended by the broker within
    seconds, the same password is refused afterwards, and the log holds only what was
    sent before."""
    with (
        open_resource_api(db_url) as api,
        running_instance(db_url, tmp_path, settings=api.domain.settings) as instance,
    ):
        signer = TestSigner()
        enrolment = {
            "public_key": public_key_b64(signer.public_key),
            "organisation": COOP,
            "site": "site-fusong-wanliang",
        }
        answer = api.client.post("/v1/devices", json=enrolment, headers=api.headers("coop"))
        assert answer.status_code == 201, answer.text
        password = answer.json()["broker_password"]
        credentials = instance.broker.add_client(signer.key_id, password)
        session = online(instance.broker.port, None, credentials)
        accepted_one(instance, signer, session)

        revoked = api.client.post(
            f"/v1/devices/{signer.key_id}/revoke", headers=api.headers("coop")
        )
        assert revoked.status_code == 200, revoked.text
        ended_within(session)
        assert session.disconnects[0] == ADMINISTRATIVE_ACTION
        assert refused(instance.broker.port, credentials)
        time.sleep(1.5)  # paho's own reconnection attempts are refused as well
        assert not session.connected
        assert instance.entries_of(signer) == 1


def test_revoking_with_the_cli_ends_the_session_without_any_gateway(
    db_url: str, tmp_path: Path
) -> None:
    """`herbtrace device revoke` with the broker directory disables the account itself: the
    device is disconnected at once although no gateway runs, and cannot log in again."""
    settings = settings_for(db_url)
    initialise(settings)
    engine = make_engine(db_url)
    try:
        with LocalBroker(tmp_path / "broker") as broker:
            signer = TestSigner()
            enrolment = enrol_device(
                engine, public_key=signer.public_key, organisation="抚松县参业合作社", site="基地"
            )
            credentials = broker.add_client(signer.key_id, enrolment.broker_password)
            session = online(broker.port, None, credentials)
            done = run_herbtrace(
                ["device", "revoke", signer.key_id],
                tmp_path,
                HERBTRACE_DATABASE_URL=db_url,
                HERBTRACE_LOG_ORIGIN=settings.log_origin,
                HERBTRACE_BROKER_DIR=str(broker.directory),
            )
            assert done.returncode == 0, done.stderr
            assert f"broker account {signer.key_id} disabled" in done.stdout
            ended_within(session, 2.0)
            assert refused(broker.port, credentials)
    finally:
        engine.dispose()


@contextmanager
def serving(api: ResourceApi, tmp_path: Path, **env: str) -> Iterator[str]:
    """The real `herbtrace serve` on the app's database, on a free port; its base URL."""
    port = free_port()
    settings = api.settings
    environ = {
        "HERBTRACE_DATABASE_URL": settings.database_url,
        "HERBTRACE_LOG_ORIGIN": settings.log_origin,
        **env,
    }
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "herbtrace"), "serve", "--port", str(port)],
            env={k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
            | cheap_keys(environ)
            | environ,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(30)


def test_herbtrace_serve_with_the_broker_directory_creates_and_disables_accounts_itself(
    db_url: str, tmp_path: Path
) -> None:
    """`herbtrace serve` given the broker's directory holds its accounts: a device enrolled
    over HTTP logs in with the password in the answer, and a revocation over HTTP ends its
    session and its login at once, with no gateway running."""
    with (
        open_resource_api(db_url) as api,
        LocalBroker(tmp_path / "broker") as broker,
        serving(api, tmp_path, HERBTRACE_BROKER_DIR=str(broker.directory)) as base,
    ):
        signer = TestSigner()
        enrolment = {
            "public_key": public_key_b64(signer.public_key),
            "organisation": COOP,
            "site": "site-fusong-wanliang",
        }
        answer = httpx.post(f"{base}/v1/devices", json=enrolment, headers=api.headers("coop"))
        assert answer.status_code == 201, answer.text
        enrolled = answer.json()
        assert enrolled["broker_password_installed"] is True
        credentials = Credentials(enrolled["broker_username"], enrolled["broker_password"])
        session = online(broker.port, None, credentials)

        revoke = f"{base}/v1/devices/{signer.key_id}/revoke"
        assert httpx.post(revoke, headers=api.headers("coop")).status_code == 200
        ended_within(session, 2.0)
        assert session.disconnects[0] == ADMINISTRATIVE_ACTION
        assert refused(broker.port, credentials)


def test_a_revocation_made_while_no_gateway_ran_is_carried_out_when_one_starts(
    db_url: str, tmp_path: Path
) -> None:
    """A device revoked in the log while nothing with broker admin rights was running (the
    CLI without a broker directory, say) is disconnected as soon as a gateway starts."""
    settings = settings_for(db_url)
    initialise(settings)
    engine = make_engine(db_url)
    signer = TestSigner()
    password = enrol_device(
        engine, public_key=signer.public_key, organisation="抚松县参业合作社", site="基地"
    ).broker_password
    revoke_device(engine, signer.key_id)
    try:
        with LocalBroker(tmp_path / "broker") as broker:
            credentials = broker.add_client(signer.key_id, password)
            session = online(broker.port, None, credentials)  # the broker alone knows nothing
            account = broker.add_gateway("gateway-1")
            config = GatewayConfig(
                port=broker.port, username=account.username, password=account.password
            )
            with Gateway(settings, config, engine=engine, broker_accounts=broker.accounts):
                ended_within(session)
                assert refused(broker.port, credentials)
    finally:
        engine.dispose()


def test_an_account_created_after_the_revocation_is_disabled_too(
    db_url: str, tmp_path: Path
) -> None:
    """A revoked device that had no broker account when the watcher first looked gets one
    later (by hand, say): the watcher, looking again, disables it."""
    settings = settings_for(db_url)
    initialise(settings)
    engine = make_engine(db_url)
    signer = TestSigner()
    password = enrol_device(
        engine, public_key=signer.public_key, organisation="抚松县参业合作社", site="基地"
    ).broker_password
    revoke_device(engine, signer.key_id)
    try:
        with LocalBroker(tmp_path / "broker") as broker:
            watcher = RevocationWatcher(engine, broker.accounts, interval=0.1, retry_unknown=0.5)
            watcher.start()
            try:
                time.sleep(0.5)  # the first look: no such account yet
                credentials = broker.add_client(signer.key_id, password)
                deadline = time.monotonic() + WITHIN
                while not refused(broker.port, credentials):
                    assert time.monotonic() < deadline, "the revoked device still logs in"
                    time.sleep(0.1)
            finally:
                watcher.stop()
    finally:
        engine.dispose()
