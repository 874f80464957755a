"""The SDK against the real ingest gateway: refused events are kept, requeued and delivered."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mqtt_helpers import BrokerFixture
from sdk_helpers import FAST, wait_for
from sdk_log_checks import assert_complete_chain
from support import run_herbtrace

from devices.gateway import Gateway, GatewayConfig
from devices.sdk import BrokerConfig, Device
from devices.sdk.device import init_device
from traceability.ledger import Ledger
from traceability.log.signers import register_signer

BODY = {"type": "harvest", "batch": "FS-RS-2026-00001", "quantity": {"value": "12.5", "unit": "kg"}}


@pytest.fixture(name="gateway")
def _gateway(broker: BrokerFixture, sqlite_ledger: Ledger) -> Iterator[Gateway]:
    """The project's ingest gateway, in this process, on the test's log and broker."""
    account = broker.add_gateway("sdk-test-gateway")
    config = GatewayConfig(
        host=broker.host,
        port=broker.port,
        username=account.username,
        password=account.password,
        linger=0.002,
    )
    gateway = Gateway(sqlite_ledger.settings, config)
    gateway.start()
    yield gateway
    gateway.stop()


@pytest.mark.usefixtures("gateway")
def test_unenrolled_device_keeps_refused_events_until_requeued(
    tmp_path: Path,
    broker: BrokerFixture,
    sqlite_ledger: Ledger,
    open_device: Callable[[Path], Device],
) -> None:
    """Events the log refuses (unknown signer) stay in the rejected table; once the key is
    registered, `herbtrace device requeue` sends them again and they reach the log."""
    root = tmp_path / "d"
    identity = init_device(root, log_key=sqlite_ledger.verifier)
    credentials = broker.add_client(identity.device_id)  # on the broker, not on the log
    device = open_device(root)
    device.outbox.record_many([{**BODY, "batch": f"B-{i}"} for i in range(3)])
    client = device.connect(
        BrokerConfig(broker.host, broker.port, credentials.password),
        policy=dataclasses.replace(FAST, ack_timeout=10.0),
    )
    wait_for(lambda: device.counts().rejected == 3, 20, "three rejections")
    assert {r.reason for r in device.outbox.rejected()} == {"unknown_signer"}
    assert device.counts().pending == 0
    assert sqlite_ledger.size() == 0

    register_signer(
        sqlite_ledger.engine,
        public_key=identity.public_key,
        name="抚松基地手持终端 02",
        organisation="抚松县参业合作社",
        role="device",
    )
    for seq in (1, 2, 3):  # the device keeps running: requeue goes through its outbox file
        result = run_herbtrace(["device", "requeue", str(seq), "--dir", str(root)], cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"event {seq} " in result.stdout
    assert client.wait_drained(20)
    assert_complete_chain(sqlite_ledger.engine, identity.device_id, 3)
    counts = device.counts()
    assert (counts.rejected, counts.delivered) == (0, 3)
