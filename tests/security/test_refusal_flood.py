"""A hostile (or broken) device floods herbtrace with large refused messages, over HTTP
(POST /v1/events) and over MQTT (the ingest gateway, with the real broker).

Judged by effect on both databases: the database grows by at most the device's refusal
budget plus small summary rows, later refusals are kept as time, reason and hash only, the
HTTP flood meets 429s, every MQTT message is still answered, and another device's valid
event still lands.
"""

from __future__ import annotations

import json
import queue
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion
from resource_support import COOP, ResourceApi, body, open_resource_api
from support import TestSigner

from devices.broker import Credentials, LocalBroker
from devices.gateway import Gateway, GatewayConfig
from schemas.mqtt import events_topic, receipts_topic
from traceability.canonical import canonical_bytes
from traceability.enrolment import enrol_device
from traceability.ingest.receipts import verify_receipt
from traceability.ingest.rejections import list_rejections
from traceability.ledger import initialise
from traceability.settings import Settings
from traceability.storage.db import make_engine

FLOOD = 320
BUDGET_BYTES = 1_048_576  # the default HERBTRACE_REFUSAL_BYTES_PER_SIGNER
KEPT = 100  # the default HERBTRACE_REFUSALS_KEPT_PER_SIGNER
ORGANISATION, SITE = "抚松县参业合作社", "抚松基地"


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    """The app with the default refusal budget and a slow refill (1 write a second), so the
    flood's 200-request burst and then its 429s do not depend on the machine's speed."""
    with open_resource_api(
        db_url, account_rate=1.0, account_burst=200, device_rate=1.0, device_burst=200
    ) as api:
        yield api


def database_bytes(engine: sa.Engine) -> int:
    """The SQLite file's size (its WAL copied in first), or PostgreSQL's size of the refusals
    table with its TOAST and indexes."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return Path(str(engine.url.database)).stat().st_size
    with engine.connect() as conn:
        size = conn.execute(sa.text("SELECT pg_total_relation_size('rejected_messages')"))
        return int(size.scalar_one())


def test_a_flood_of_refused_envelopes_is_bounded_and_limited(api: ResourceApi) -> None:
    """320 refused 57 kB envelopes of one device over one account: the database grows by
    about the 1 MiB budget (not the 11 MB sent), later refusals keep only their hash and
    reason, the flood gets 429s, and another device's valid planting still lands."""
    flooder = api.world.signer(COOP)
    headers = api.headers("coop")
    serials = [f"SN{n:014d}" for n in range(3_000)]
    before = database_bytes(api.engine)
    seen: Counter[int] = Counter()
    sent = 0
    for _ in range(FLOOD):
        envelope = flooder.sign(
            flooder.payload(body("pack", batch="NOPE", serials=serials)), advance=False
        )
        content = json.dumps(envelope).encode()
        sent += len(content)
        seen[api.client.post("/v1/events", content=content, headers=headers).status_code] += 1
    grown = database_bytes(api.engine) - before

    assert seen[429] >= 100, seen
    assert seen[422] + seen[429] == FLOOD, seen
    assert sent > 15_000_000
    assert grown < 3 * BUDGET_BYTES, (grown, seen)

    kept = list_rejections(api.engine, device_id=flooder.key_id)
    assert len(kept) == seen[422]
    full = [r for r in kept if r.payload]
    assert 1 <= len(full) <= KEPT
    assert sum(len(r.payload) for r in full) <= BUDGET_BYTES
    assert kept[: len(full)] == full  # the first ones are kept in full, then summaries
    for summary in kept[len(full) :]:
        assert (summary.reason, summary.detail, summary.payload) == ("unknown_batch", "", b"")
        assert summary.envelope_hash is not None
        assert len(summary.envelope_hash) == 32
        assert summary.payload_size > 50_000

    other = api.world.signer(COOP, role="operator")
    landed = api.client.post("/v1/events", content=json.dumps(other.next(body("planting"))))
    assert landed.status_code == 201, landed.text
    assert api.client.get("/v1/batches/FS-PL-2020-001").json()["owner"] == COOP


def test_an_accounts_writes_are_limited_whatever_they_carry(api: ResourceApi) -> None:
    """300 unsigned bodies over one operator's token (no signer to limit): past the account's
    burst of 200 they get 429 with Retry-After, and another account is not held back."""
    headers = api.headers("coop")
    seen: Counter[int] = Counter()
    for n in range(300):
        response = api.client.post("/v1/events", content=b"not an envelope %d" % n, headers=headers)
        seen[response.status_code] += 1
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
    assert seen[429] >= 80, seen
    assert seen[422] + seen[429] == 300, seen
    other = api.client.post("/v1/events", content=b"not an envelope", headers=api.headers("plant"))
    assert other.status_code == 422


class MqttDevice:
    """An enrolled device's MQTT 5 connection, subscribed to its receipts."""

    def __init__(self, broker: LocalBroker, engine: sa.Engine) -> None:
        self.signer = TestSigner()
        enrolment = enrol_device(
            engine,
            public_key=self.signer.public_key,
            organisation="抚松县参业合作社",
            site="抚松基地",
        )
        login: Credentials = broker.add_client(
            enrolment.device.broker_username, enrolment.broker_password
        )
        self.receipts: queue.Queue[bytes] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=login.username, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(login.username, login.password)
        self.client.on_message = lambda _c, _u, message: self.receipts.put(bytes(message.payload))
        self.client.connect(broker.host, broker.port, keepalive=30, clean_start=True)
        self.client.loop_start()
        self.client.subscribe(receipts_topic(self.signer.key_id), qos=1)
        time.sleep(0.3)  # the subscription is in place before anything is published

    def publish(self, data: bytes) -> None:
        """Publish `data` on this device's events topic at QoS 1."""
        self.client.publish(events_topic(self.signer.key_id), data, qos=1).wait_for_publish(10)

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def test_an_mqtt_flood_of_refused_messages_is_bounded_and_still_answered(
    db_url: str, tmp_path: Path
) -> None:
    """320 refused 57 kB messages of one device through the broker and the gateway: each is
    answered with a rejected receipt, the database grows by about the 1 MiB budget (not the
    18 MB sent), the first refusals are kept in full, later ones as summaries or (past the
    device's rate of kept refusals) not at all, and another device's event is appended."""
    settings = Settings(
        database_url=db_url,
        log_origin="flood.test.herbtrace/log",
        checkpoint_interval=0.05,
        device_rate=1.0,
        device_burst=200,
    )
    verifier = initialise(settings)
    engine = make_engine(settings.database_url)
    broker = LocalBroker(tmp_path / "broker")
    broker.start()
    gateway = Gateway(
        settings,
        GatewayConfig(
            host=broker.host,
            port=broker.port,
            username=broker.gateway.username,
            password=broker.gateway.password,
            client_id=broker.gateway.username,
            linger=0.002,
        ),
    )
    gateway.start()
    devices: list[MqttDevice] = []
    try:
        flooder = MqttDevice(broker, engine)
        devices.append(flooder)
        before = database_bytes(engine)
        garbage = b"{" + b"x" * 57_000 + b"}"
        for n in range(FLOOD):
            flooder.publish(garbage + str(n).encode())
        answered = [flooder.receipts.get(timeout=60) for _ in range(FLOOD)]
        grown = database_bytes(engine) - before

        statuses = Counter(verify_receipt(r, verifier.public_key).status for r in answered)
        assert statuses == Counter({"rejected": FLOOD})
        assert grown < 3 * BUDGET_BYTES, grown
        kept = list_rejections(engine, device_id=flooder.signer.key_id)
        full = [r for r in kept if r.payload]
        assert 1 <= len(full) <= KEPT
        assert sum(len(r.payload) for r in full) <= BUDGET_BYTES
        assert kept[: len(full)] == full
        assert len(full) < len(kept) < FLOOD
        for summary in kept[len(full) :]:
            assert (summary.reason, summary.detail, summary.payload) == ("invalid_input", "", b"")
            assert summary.envelope_hash is not None
            assert summary.payload_size > 50_000
        assert gateway.counters.refusals_not_kept == FLOOD - len(kept)

        other = MqttDevice(broker, engine)
        devices.append(other)
        other.publish(canonical_bytes(other.signer.next()))
        receipt = verify_receipt(other.receipts.get(timeout=30), verifier.public_key)
        assert receipt.status == "accepted", receipt
    finally:
        for device in devices:
            device.close()
        gateway.stop()
        broker.stop()
        engine.dispose()
