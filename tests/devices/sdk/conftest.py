"""Fixtures for device SDK tests: enrolled devices on the test's broker, and a responder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mqtt_helpers import BrokerFixture
from sdk_helpers import EnrolledDevice
from sdk_responder import Responder

from devices.sdk import BrokerConfig, Device
from devices.sdk.device import init_device
from traceability.ledger import Ledger


@pytest.fixture(name="make_responder")
def _make_responder(
    broker: BrokerFixture, sqlite_ledger: Ledger
) -> Iterator[Callable[[], Responder]]:
    """Start stand-in gateways on demand (e.g. once a stopped broker is back)."""
    started: list[Responder] = []

    def make() -> Responder:
        client = broker.client(broker.add_gateway(f"sdk-test-responder-{len(started)}"))
        started.append(Responder(client, sqlite_ledger))
        return started[-1]

    yield make
    for responder in started:
        responder.close()


@pytest.fixture(name="responder")
def _responder(make_responder: Callable[[], Responder]) -> Responder:
    """A stand-in gateway answering every device's events with real signed receipts."""
    return make_responder()


@pytest.fixture(name="enrolled")
def _enrolled(
    tmp_path: Path, broker: BrokerFixture, sqlite_ledger: Ledger
) -> Callable[[str], EnrolledDevice]:
    """Make and enrol a device in tmp_path/<name>: signer on the log, password on the broker."""

    def make(name: str = "device") -> EnrolledDevice:
        root = tmp_path / name
        identity = init_device(root, log_key=sqlite_ledger.verifier)
        credentials = broker.enrol(sqlite_ledger.engine, identity.public_key)
        return EnrolledDevice(
            root, identity.device_id, BrokerConfig(broker.host, broker.port, credentials.password)
        )

    return make


@pytest.fixture(name="open_device")
def _open_device() -> Iterator[Callable[[Path], Device]]:
    """Open devices for a test and close them all after it."""
    opened: list[Device] = []

    def open_(root: Path) -> Device:
        device = Device(root)
        opened.append(device)
        return device

    yield open_
    for device in opened:
        device.close()
