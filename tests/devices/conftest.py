"""Fixtures for MQTT tests: a real Mosquitto, with the project's configuration, per test.

The `broker` fixture (a `mqtt_helpers.BrokerFixture`) is the stable interface device and
gateway tests share:

- `broker.host`, `broker.port`: where the test's own Mosquitto listens (a free port; the
  shared broker on 1883 is never used). Its files are in `broker.directory`.
- `broker.gateway`: the gateway user's `Credentials(username, password)`.
- `broker.add_client(username, password=None) -> Credentials`: broker credentials only,
  no database (for ACL tests).
- `broker.enrol(engine, public_key, organisation=…, site=…, role="device") -> Credentials`:
  enrol a device on the log in `engine` (signer + device row) and give it broker
  credentials; the username is the device ID (its key ID).
- `broker.client(credentials=None, client_id=None) -> TestClient`: a connected paho MQTT 5
  client (see mqtt_helpers.TestClient), closed when the test ends.
- `broker.env() -> dict[str, str]`: the HERBTRACE_MQTT_* and HERBTRACE_BROKER_DIR variables
  that point `herbtrace ingest` / `herbtrace device …` at this broker as the gateway user.
- `broker.local`: the underlying `devices.broker.LocalBroker` (`stop()`, `start()`,
  `reload()`, `remove_client()`).

Gateway fixtures built on it: `ingest` (an in-process `Gateway` on a fresh SQLite log;
`ingest.device()` gives an enrolled, connected device, see ingest_helpers) and
`gateway_processes` (start `herbtrace ingest` processes, ended after the test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ingest_helpers import GatewayProcess, Ingest, gateway_config, log_settings
from mqtt_helpers import BrokerFixture

from devices.broker import LocalBroker
from devices.gateway import Gateway
from traceability.ledger import initialise
from traceability.storage.db import make_engine


@pytest.fixture(name="broker")
def _broker(tmp_path: Path) -> Iterator[BrokerFixture]:
    """A Mosquitto of the test's own, with the project's configuration, on a free port."""
    local = LocalBroker(tmp_path / "broker")
    local.start()
    fixture = BrokerFixture(local)
    try:
        yield fixture
    finally:
        for client in fixture.clients:
            client.close()
        local.stop()


@pytest.fixture(name="ingest")
def _ingest(broker: BrokerFixture, sqlite_url: str) -> Iterator[Ingest]:
    """A gateway running in this process on a fresh SQLite log, subscribed to the broker."""
    settings = log_settings(sqlite_url)
    verifier = initialise(settings)
    engine = make_engine(settings.database_url)
    gateway = Gateway(settings, gateway_config(broker))
    gateway.start()
    try:
        yield Ingest(broker, settings, engine, gateway, verifier)
    finally:
        gateway.stop()
        engine.dispose()


@pytest.fixture(name="gateway_processes")
def _gateway_processes(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    """Start `herbtrace ingest` processes: `start(env, *args)`; all are ended after the test."""
    started: list[GatewayProcess] = []

    def start(env: dict[str, str], *args: str) -> GatewayProcess:
        process = GatewayProcess(env, tmp_path, *args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()
