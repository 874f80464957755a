"""The device's MQTT client on a real Mosquitto: receipts settle, PUBACKs do not, retries wait."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from mqtt_helpers import BrokerFixture
from sdk_helpers import FAST, EnrolledDevice, wait_for
from sdk_log_checks import assert_complete_chain, log_seqs
from sdk_responder import Responder
from support import run_herbtrace

from devices.sdk import Device, RetryPolicy
from schemas.mqtt import receipts_topic
from traceability.ingest.receipts import receipt_payload, sign_receipt
from traceability.ledger import Ledger
from traceability.log.log_key import load_log_signer
from traceability.log.note import NoteSigner

BODY = {"type": "harvest", "batch": "FS-RS-2026-00001", "quantity": {"value": "12.5", "unit": "kg"}}


@pytest.fixture(name="device_d")
def _device_d(
    enrolled: Callable[[str], EnrolledDevice], open_device: Callable[[Path], Device]
) -> tuple[EnrolledDevice, Device]:
    """Device `d`, enrolled, and opened from its folder."""
    spec = enrolled("d")
    return spec, open_device(spec.root)


@pytest.mark.usefixtures("responder")
def test_receipts_settle_the_outbox(
    device_d: tuple[EnrolledDevice, Device],
    sqlite_ledger: Ledger,
) -> None:
    """Every event reaches the log once, in order, and leaves the outbox on its receipt."""
    spec, device = device_d
    for i in range(30):
        device.record({**BODY, "batch": f"B-{i}"})
    client = device.connect(spec.broker, policy=dataclasses.replace(FAST, ack_timeout=5.0))
    assert client.wait_drained(20)
    assert log_seqs(sqlite_ledger.engine, spec.device_id) == list(range(1, 31))
    assert_complete_chain(sqlite_ledger.engine, spec.device_id, 30)
    counts = device.counts()
    assert (counts.pending, counts.delivered, counts.rejected) == (0, 30, 0)
    assert client.stats.delivered == 30


def test_puback_alone_leaves_events_pending(
    device_d: tuple[EnrolledDevice, Device],
) -> None:
    """With no gateway, the broker acknowledges every publish, and every event stays pending."""
    spec, device = device_d
    device.outbox.record_many([BODY] * 5)
    client = device.connect(spec.broker, policy=dataclasses.replace(FAST, ack_timeout=30.0))
    wait_for(lambda: client.stats.pubacks >= 5, 15, "five PUBACKs")
    assert client.stats.denied == 0
    counts = device.counts()
    assert (counts.pending, counts.delivered) == (5, 0)


def test_in_flight_window_is_bounded(
    device_d: tuple[EnrolledDevice, Device],
    responder: Responder,
    sqlite_ledger: Ledger,
) -> None:
    """Without receipts only the oldest `window` events are ever sent; with them all drain."""
    responder.mode = "silent"
    spec, device = device_d
    device.outbox.record_many([BODY] * 40)
    policy = RetryPolicy(window=5, ack_timeout=0.3, backoff_base=0.05, backoff_max=0.2)
    client = device.connect(spec.broker, policy=policy)
    wait_for(lambda: len(responder.seqs(spec.device_id)) >= 15, 15, "three rounds of sends")
    assert set(responder.seqs(spec.device_id)) == {1, 2, 3, 4, 5}
    assert client.stats.max_in_flight == 5
    assert client.stats.timeouts >= 10
    responder.mode = "answer"
    assert client.wait_drained(30)
    assert client.stats.max_in_flight == 5
    assert_complete_chain(sqlite_ledger.engine, spec.device_id, 40)


def test_retries_back_off(
    device_d: tuple[EnrolledDevice, Device],
    responder: Responder,
) -> None:
    """Unanswered events are resent after ack_timeout plus a pause that doubles each round."""
    responder.mode = "silent"
    spec, device = device_d
    device.record(BODY)
    policy = RetryPolicy(window=1, ack_timeout=0.2, backoff_base=0.2, backoff_max=1.6)
    device.connect(spec.broker, policy=policy)
    wait_for(lambda: len(responder.arrivals) >= 6, 20, "six sends of one event")
    times = [a.at for a in responder.arrivals]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # gap k (k = 1, 2, …) = ack_timeout + backoff(k), backoff(k) in [0.5, 1) · min(1.6, 0.2·2^(k-1))
    for k, gap in enumerate(gaps[:5], start=1):
        low = 0.2 + 0.5 * min(1.6, 0.2 * 2 ** (k - 1))
        assert gap >= low - 0.02, f"resend {k} came after {gap:.3f}s, before {low:.3f}s"
    assert gaps[3] > gaps[0] + 0.4  # nominally ≥ 0.6 s longer: the pause doubled thrice


def test_backoff_policy_bounds() -> None:
    """RetryPolicy.backoff is 0 without failures, doubles, is jittered and capped."""
    policy = RetryPolicy(backoff_base=0.5, backoff_max=8.0)
    rng = random.Random(4)
    assert policy.backoff(0, rng) == 0.0
    for failures, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0), (50, 8.0)]:
        samples = [policy.backoff(failures, rng) for _ in range(200)]
        assert all(ceiling / 2 <= s < ceiling for s in samples)
        assert max(samples) - min(samples) > ceiling / 4  # jittered, not constant
    with pytest.raises(ValueError, match="positive"):
        RetryPolicy(window=0)


def test_forged_receipts_are_ignored(
    device_d: tuple[EnrolledDevice, Device],
    responder: Responder,
    sqlite_ledger: Ledger,
) -> None:
    """Receipts not signed by the log key settle nothing; true ones later still do."""
    responder.mode = "forge"
    spec, device = device_d
    device.outbox.record_many([BODY] * 3)
    client = device.connect(spec.broker, policy=dataclasses.replace(FAST, ack_timeout=1.0))
    wait_for(lambda: client.stats.bad_receipts >= 3, 15, "three forged receipts")
    counts = device.counts()
    assert (counts.pending, counts.delivered, counts.rejected) == (3, 0, 0)
    assert "not signed by this log key" in (client.stats.last_error or "")
    responder.mode = "answer"
    assert client.wait_drained(20)
    assert_complete_chain(sqlite_ledger.engine, spec.device_id, 3)


def test_mismatched_and_garbage_receipts_are_ignored(
    broker: BrokerFixture,
    device_d: tuple[EnrolledDevice, Device],
    sqlite_ledger: Ledger,
) -> None:
    """A true receipt with another event's correlation data, or junk, settles nothing."""
    spec, device = device_d
    first, second = device.outbox.record_many([BODY, BODY])
    client = device.connect(spec.broker, policy=dataclasses.replace(FAST, ack_timeout=30.0))
    wait_for(lambda: client.connected, 10, "the device to subscribe")
    (result,) = sqlite_ledger.append([first.envelope])
    receipt = sign_receipt(
        receipt_payload(result, sqlite_ledger.settings.log_origin), _log_signer(sqlite_ledger)
    )
    gateway = broker.client(broker.add_gateway("sdk-test-gateway"))
    topic = receipts_topic(spec.device_id)
    assert gateway.publish(topic, receipt, correlation=second.envelope_hash) == 0
    assert gateway.publish(topic, b"not a receipt") == 0
    assert gateway.publish(topic, json.dumps({"payload": {}, "sig": "x"}).encode()) == 0
    wait_for(lambda: client.stats.bad_receipts >= 3, 10, "three bad receipts")
    assert device.counts().pending == 2
    assert gateway.publish(topic, receipt, correlation=first.envelope_hash) == 0
    wait_for(lambda: device.counts().pending == 1, 10, "the true receipt to settle")
    assert [e.seq for e in device.outbox.oldest(5)] == [2]


def test_rejected_receipt_keeps_the_event(
    tmp_path: Path,
    device_d: tuple[EnrolledDevice, Device],
    responder: Responder,
) -> None:
    """A rejected event leaves pending, is kept in the rejected table and shown by status."""
    responder.mode = "reject"
    spec, device = device_d
    device.outbox.record_many([BODY, BODY])
    client = device.connect(spec.broker, policy=FAST)
    wait_for(lambda: client.stats.rejected == 2, 15, "two rejections")
    counts = device.counts()
    assert (counts.pending, counts.rejected, counts.delivered) == (0, 2, 0)
    assert [(r.seq, r.reason) for r in device.outbox.rejected()] == [
        (1, "test_refusal"),
        (2, "test_refusal"),
    ]
    device.close()
    shown = run_herbtrace(
        ["device", "status", "--dir", str(spec.root), "--json", "--rejected"], cwd=tmp_path
    )
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["rejected"] == 2
    assert [r["reason"] for r in status["rejected_events"]] == ["test_refusal"] * 2


def test_offline_device_drains_its_backlog_in_order(
    broker: BrokerFixture,
    enrolled: Callable[[str], EnrolledDevice],
    open_device: Callable[[Path], Device],
    make_responder: Callable[[], Responder],
    sqlite_ledger: Ledger,
) -> None:
    """Events recorded while nothing listens on the broker's port are all sent, in order, later."""
    spec = enrolled("d")
    broker.local.stop()
    device = open_device(spec.root)
    client = device.connect(
        spec.broker, policy=dataclasses.replace(FAST, window=20, ack_timeout=10)
    )
    for i in range(200):
        device.record({**BODY, "batch": f"B-{i}"})
    assert not client.connected
    assert device.counts().pending == 200
    broker.local.start()
    make_responder()
    assert client.wait_drained(60)
    assert log_seqs(sqlite_ledger.engine, spec.device_id) == list(range(1, 201))
    assert_complete_chain(sqlite_ledger.engine, spec.device_id, 200)


def _log_signer(ledger: Ledger) -> NoteSigner:
    with ledger.engine.connect() as conn:
        return load_log_signer(conn, ledger.settings.log_origin, ledger.settings.log_key_passphrase)
