"""A hostile enrolled device against the broker: it cannot drop, read or take over others.

Judged by effect, with the real broker (the project's configuration), the real gateway and
the log on SQLite and PostgreSQL: honest devices send N events while intruders try their
tricks; all N must be in the log, each honest device gets its N receipts, and no honest
session (device or gateway) is ended.
"""

from __future__ import annotations

import queue
from pathlib import Path

import pytest
from mqtt_parties import GATEWAY_ID, NOT_AUTHORIZED, Instance, Session, running_instance
from support import TestSigner

from schemas.mqtt import INGEST_SUBSCRIPTION, events_topic, receipts_topic
from traceability.canonical import canonical_bytes
from traceability.ingest.receipts import verify_receipt

N = 20
"""Events each honest device sends while the intruders are at work."""


def deliver(instance: Instance, signer: TestSigner, session: Session, n: int = N) -> list[str]:
    """Publish `n` signed events from `signer`; return the statuses of the receipts back."""
    for _ in range(n):
        code = session.publish(events_topic(signer.key_id), canonical_bytes(signer.next()))
        assert code == 0, f"PUBACK reason {code}"
    statuses = []
    for _ in range(n):
        try:
            message = session.messages.get(timeout=15)
        except queue.Empty:
            break
        receipt = verify_receipt(message.payload, instance.verifier.public_key)
        statuses.append(receipt.status)
    return statuses


def intruder(instance: Instance, client_id: str | None = None) -> Session:
    """An enrolled device of its own, connecting with `client_id` (default its own ID)."""
    signer = TestSigner()
    return instance.session(instance.enrol(signer), client_id or signer.key_id)


def test_devices_cannot_join_the_ingest_group_or_read_other_traffic(
    db_url: str, tmp_path: Path
) -> None:
    """Three intruders try the gateways' shared subscription (and other groups, `#`, the
    events of all, another device's receipts): every SUBSCRIBE is refused, nothing reaches
    them, and all N events of each honest device land in the log with N receipts."""
    with running_instance(db_url, tmp_path) as instance:
        honest = [TestSigner() for _ in range(2)]
        sessions = [instance.device(s) for s in honest]
        hostile_topics = [
            INGEST_SUBSCRIPTION,
            "$share/herbtrace-ingest/#",
            "$share/herbtrace-ingest/herbtrace/v1/devices/" + honest[0].key_id + "/events",
            "$share/elsewhere/herbtrace/v1/devices/+/events",
            "#",
            "herbtrace/v1/devices/+/events",
            events_topic(honest[0].key_id),
            receipts_topic(honest[0].key_id),
            "herbtrace/v1/devices/+/receipts",
        ]
        intruders = [intruder(instance) for _ in range(3)]
        for session in intruders:
            assert session.connect(persistent=True) == 0
            for topic in hostile_topics:
                assert session.subscribe(topic) == [NOT_AUTHORIZED], topic
        for signer, session in zip(honest, sessions, strict=True):
            assert deliver(instance, signer, session) == ["accepted"] * N
            assert instance.entries_of(signer) == N
        for session in intruders:
            assert session.messages.empty()
        assert all(s.connected and not s.disconnects for s in sessions)


def test_a_device_cannot_take_over_another_devices_client_id(db_url: str, tmp_path: Path) -> None:
    """An intruder logging in with an honest device's client ID (clean or persistent) is
    refused; the honest session stays up and its N events all land."""
    with running_instance(db_url, tmp_path) as instance:
        honest = TestSigner()
        session = instance.device(honest)
        for persistent in (False, True, False, True, False):
            attempt = intruder(instance, client_id=honest.key_id)
            assert attempt.connect(persistent=persistent) == NOT_AUTHORIZED
        assert session.connected
        assert not session.disconnects
        assert deliver(instance, honest, session) == ["accepted"] * N
        assert instance.entries_of(honest) == N
        assert session.connected
        assert not session.disconnects


def test_no_device_or_other_gateway_can_take_over_the_gateways_session(
    db_url: str, tmp_path: Path
) -> None:
    """Logging in under the gateway's client ID with a persistent session — as a device,
    as another gateway's account, or as the gateway's username with a guessed password —
    is refused five times over; the gateway keeps its session and every event lands."""
    with running_instance(db_url, tmp_path) as instance:
        honest = TestSigner()
        session = instance.device(honest)
        other_gateway = instance.broker.add_gateway("gateway-2")
        for _ in range(5):
            assert intruder(instance, client_id=GATEWAY_ID).connect(persistent=True) == (
                NOT_AUTHORIZED
            )
        attempt = instance.session(other_gateway, GATEWAY_ID)
        assert attempt.connect(persistent=True) == NOT_AUTHORIZED
        guessed = type(other_gateway)(GATEWAY_ID, "guessed")
        assert instance.session(guessed, GATEWAY_ID).connect(persistent=True) == NOT_AUTHORIZED
        assert deliver(instance, honest, session) == ["accepted"] * N
        assert instance.entries_of(honest) == N
        assert instance.gateway.connection._client.is_connected()


@pytest.mark.parametrize("target", ["events", "receipts"])
def test_a_device_cannot_publish_on_another_devices_topics(
    db_url: str, tmp_path: Path, target: str
) -> None:
    """An intruder's publish of a (validly signed) envelope on another device's events
    topic, or of a fake receipt on its receipts topic, is refused by the broker and
    appends nothing."""
    with running_instance(db_url, tmp_path) as instance:
        honest = TestSigner()
        session = instance.device(honest)
        forger = TestSigner()
        attacker = instance.session(instance.enrol(forger), forger.key_id)
        assert attacker.connect() == 0
        topic = (events_topic if target == "events" else receipts_topic)(honest.key_id)
        assert attacker.publish(topic, canonical_bytes(forger.next())) == NOT_AUTHORIZED
        with pytest.raises(queue.Empty):
            session.messages.get(timeout=0.5)
        assert instance.entries_of(forger) == 0
