"""The broker's ACL and authentication, on a real Mosquitto with the project's configuration."""

from __future__ import annotations

import queue
import time

import pytest
from mqtt_helpers import NOT_AUTHORIZED, BrokerFixture, TestClient

from devices.broker import BrokerAccounts, Credentials, new_password
from devices.broker.dynsec import GATEWAY_ROLE
from schemas.mqtt import EVERY_DEVICE_EVENTS, INGEST_SUBSCRIPTION, events_topic, receipts_topic

DEVICE_A = "a" * 32
DEVICE_B = "b" * 32
QUIET = 0.5
"""Seconds to wait for a message that must not arrive."""


def assert_silent(client: TestClient) -> None:
    """No message reaches `client` within QUIET seconds."""
    with pytest.raises(queue.Empty):
        client.next_message(QUIET)


def connects(broker: BrokerFixture, credentials: Credentials | None) -> bool:
    """Whether the broker accepts a connection with `credentials` (closed again at once)."""
    client = TestClient(broker.host, broker.port, credentials, client_id=DEVICE_A)
    accepted = client.connect() == 0
    if accepted:
        client.close()
    return accepted


def test_device_publishes_only_to_its_own_events_topic(broker: BrokerFixture) -> None:
    """A device's publish to another device's topic is refused (0x87) and reaches nobody."""
    gateway = broker.client(broker.gateway)
    assert gateway.subscribe(INGEST_SUBSCRIPTION) == [1]
    a = broker.client(broker.add_client(DEVICE_A))
    assert a.publish(events_topic(DEVICE_B), b"forged") == NOT_AUTHORIZED
    assert a.publish(receipts_topic(DEVICE_A), b"fake receipt") == NOT_AUTHORIZED
    assert a.publish("herbtrace/v1/other", b"x") == NOT_AUTHORIZED
    assert_silent(gateway)
    assert a.publish(events_topic(DEVICE_A), b"mine") == 0
    message = gateway.next_message()
    assert (message.topic, message.payload) == (events_topic(DEVICE_A), b"mine")


def test_device_reads_only_its_own_receipts(broker: BrokerFixture) -> None:
    """A device cannot read another device's receipts or events; the gateway's receipt to B
    reaches B alone."""
    a = broker.client(broker.add_client(DEVICE_A))
    b = broker.client(broker.add_client(DEVICE_B))
    for topic in (receipts_topic(DEVICE_B), events_topic(DEVICE_B), "herbtrace/v1/devices/#"):
        assert a.subscribe(topic) == [NOT_AUTHORIZED]  # refused at SUBSCRIBE, not delivery
    assert b.subscribe(receipts_topic(DEVICE_B)) == [1]
    gateway = broker.client(broker.gateway)
    assert gateway.publish(receipts_topic(DEVICE_B), b"receipt for b") == 0
    assert b.next_message().payload == b"receipt for b"
    assert b.publish(events_topic(DEVICE_B), b"event of b") in (0, 16)  # 16: no subscriber
    assert_silent(a)


def test_gateway_reads_all_events_and_writes_all_receipts(broker: BrokerFixture) -> None:
    """The gateway user's shared subscription gets every device's events, and its receipts
    reach each device."""
    gateway = broker.client(broker.gateway)
    assert gateway.subscribe(INGEST_SUBSCRIPTION) == [1]
    devices = {d: broker.client(broker.add_client(d)) for d in (DEVICE_A, DEVICE_B)}
    for device_id, client in devices.items():
        assert client.subscribe(receipts_topic(device_id)) == [1]
        assert client.publish(events_topic(device_id), device_id.encode()) == 0
    got = {gateway.next_message().payload for _ in devices}
    assert got == {d.encode() for d in devices}
    for device_id, client in devices.items():
        assert gateway.publish(receipts_topic(device_id), b"ok " + device_id.encode()) == 0
        assert client.next_message().payload == b"ok " + device_id.encode()


def test_anonymous_and_wrong_passwords_are_refused(broker: BrokerFixture) -> None:
    """Connections without credentials, with a wrong password or an unknown user are refused."""
    good = broker.add_client(DEVICE_A)
    for credentials in (
        None,
        Credentials(DEVICE_A, good.password + "x"),
        Credentials(DEVICE_B, good.password),
        Credentials(broker.gateway.username, "guess"),
    ):
        assert not connects(broker, credentials), credentials
    broker.client(good)  # the right password is accepted


def test_removed_client_can_no_longer_connect(broker: BrokerFixture) -> None:
    """After its account is disabled, a device cannot connect."""
    credentials = broker.add_client(DEVICE_A)
    broker.client(credentials).close()
    broker.local.remove_client(DEVICE_A)
    deadline = time.monotonic() + 5
    while connects(broker, credentials):
        assert time.monotonic() < deadline, "still accepted after removal"
        time.sleep(0.05)


def test_accounts_go_to_the_running_broker_even_without_its_pid_file(
    broker: BrokerFixture,
) -> None:
    """A broker run by systemd writes no PID file: the accounts still go to it over MQTT,
    not into its state file (which the running broker would overwrite), and work at once."""
    broker.local.pid_path.unlink()
    accounts = BrokerAccounts.from_directory(broker.directory)
    assert not accounts.offline
    password = new_password()
    accounts.set(DEVICE_A, password)
    assert connects(broker, Credentials(DEVICE_A, password))


def test_gateways_may_subscribe_to_every_devices_events_and_an_older_broker_learns_it(
    broker: BrokerFixture,
) -> None:
    """A gateway account may subscribe outside the group to every device's events (the
    partitioned gateways' filter) and receives them; a broker whose gateway role lacks
    that rule (set up by an older herbtrace) refuses it until `gateway-account` runs."""
    accounts = broker.local.accounts
    gateway = broker.client(broker.gateway)
    assert gateway.subscribe(EVERY_DEVICE_EVENTS) == [1]
    a = broker.client(broker.add_client(DEVICE_A))
    assert a.publish(events_topic(DEVICE_A), b"mine") == 0
    assert gateway.next_message().payload == b"mine"
    (answer,) = accounts.admin.run(
        [
            {
                "command": "removeRoleACL",
                "rolename": GATEWAY_ROLE,
                "acltype": "subscribeLiteral",
                "topic": EVERY_DEVICE_EVENTS,
            }
        ]
    )
    assert not answer.get("error"), answer
    older = broker.client(broker.gateway)  # the role is checked at each SUBSCRIBE
    assert older.subscribe(EVERY_DEVICE_EVENTS) == [NOT_AUTHORIZED]
    accounts.set_gateway("gw-newer", new_password())  # the role's clients are reconnected
    assert broker.client(broker.gateway).subscribe(EVERY_DEVICE_EVENTS) == [1]
