"""POST /v1/events: a signed envelope in, the gateway's signed receipt out, on both databases."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from resource_support import COOP, PLANT, ResourceApi, body, open_resource_api
from support import TestSigner

from devices.broker import Credentials, LocalBroker
from devices.gateway import Gateway, GatewayConfig
from schemas.mqtt import events_topic, receipts_topic
from traceability.canonical import canonical_bytes
from traceability.enrolment import enrol_device
from traceability.ingest.receipts import receipt_payload, sign_receipt
from traceability.ingest.rejections import count_rejections, list_rejections
from traceability.log.log_key import load_log_signer
from traceability.log.results import AppendResult
from traceability.types import EnvelopeHash, LeafHash


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    """The app on a fresh database (SQLite, then PostgreSQL) with the story's parties."""
    with open_resource_api(db_url) as api:
        yield api


def _gateway_receipt(api: ResourceApi, result: AppendResult) -> bytes:
    """The receipt bytes the ingest gateway signs for `result` (same functions, same key)."""
    settings = api.domain.settings
    with api.engine.connect() as conn:
        signer = load_log_signer(conn, settings.log_origin, settings.log_key_passphrase)
    received = None
    if result.index is not None and result.status != "rejected":
        received = api.domain.ledger.entry(result.index)[2].received
    return sign_receipt(receipt_payload(result, settings.log_origin, received), signer)


def test_accepted_envelope_gets_201_and_the_gateways_receipt(api: ResourceApi) -> None:
    """A valid signed planting is appended: 201, and the body is byte for byte the receipt
    the gateway would sign for that entry, verifying with the published log key."""
    signer = api.world.signer(COOP)
    envelope = signer.next(body("planting"))
    size = api.domain.ledger.size()
    response = api.client.post("/v1/events", content=canonical_bytes(envelope))
    assert response.status_code == 201, response.text
    receipt = api.receipt(response)
    assert receipt["status"] == "accepted"
    assert receipt["index"] == size
    assert (receipt["signer"], receipt["seq"]) == (signer.key_id, signer.seq)
    leaf_hash = api.domain.ledger.entry(size)[1]
    assert receipt["leaf_hash"] == leaf_hash.hex()
    expected = AppendResult(
        status="accepted",
        envelope_hash=EnvelopeHash(bytes.fromhex(receipt["envelope_hash"])),
        signer=signer.key_id,
        seq=signer.seq,
        index=size,
        leaf_hash=LeafHash(leaf_hash),
    )
    assert response.content == _gateway_receipt(api, expected)
    assert api.client.get("/v1/batches/FS-PL-2020-001").json()["owner"] == COOP


def test_duplicate_gets_200_with_the_original_entry(api: ResourceApi) -> None:
    """The same envelope again: 200, a `duplicate` receipt naming the original index, leaf
    hash and time received, and the log holds it once."""
    envelope = json.dumps(api.world.signer(COOP).next(body("planting")))
    first = api.client.post("/v1/events", content=envelope)
    size = api.domain.ledger.size()
    again = api.client.post("/v1/events", content=envelope)
    assert (first.status_code, again.status_code) == (201, 200)
    original, duplicate = api.receipt(first), api.receipt(again)
    assert duplicate["status"] == "duplicate"
    assert {**duplicate, "status": "accepted"} == original
    assert api.domain.ledger.size() == size


def test_rule_refusal_gets_422_with_a_signed_receipt_and_is_kept(api: ResourceApi) -> None:
    """Fertiliser on a batch nobody recorded is refused (unknown_batch): 422 with a signed
    `rejected` receipt naming the reason; nothing is logged, the refusal is stored as
    evidence, and the signer's sequence number stays usable."""
    signer = api.world.signer(COOP)
    refused = signer.sign(signer.payload(body("cultivation_input", batch="NOPE")), advance=False)
    size = api.domain.ledger.size()
    response = api.client.post("/v1/events", content=json.dumps(refused))
    assert response.status_code == 422
    receipt = api.receipt(response)
    assert (receipt["status"], receipt["reason"]) == ("rejected", "unknown_batch")
    assert "NOPE" in receipt["detail"]
    assert receipt["index"] is None
    assert api.domain.ledger.size() == size
    (kept,) = list_rejections(api.engine)
    assert (kept.topic, kept.reason, kept.signer) == (
        "POST /v1/events",
        "unknown_batch",
        signer.key_id,
    )
    assert json.loads(kept.payload) == refused
    again = api.client.post("/v1/events", content=json.dumps(signer.next(body("planting"))))
    assert again.status_code == 201
    assert api.receipt(again)["seq"] == 1


def test_custody_refusal_names_the_rule(api: ResourceApi) -> None:
    """The plant harvesting the cooperative's planting is refused with reason `custody`."""
    api.world.ok(COOP, body("planting"))
    response = api.client.post(
        "/v1/events", content=json.dumps(api.world.signer(PLANT).next(body("harvest")))
    )
    assert response.status_code == 422
    assert api.receipt(response)["reason"] == "custody"
    assert api.client.get("/v1/batches/FS-RS-2026-001").status_code == 404


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not json at all", "invalid_input"),
        (b"", "invalid_input"),
        (b'{"payload": {}, "sig": "AAAA"}', "invalid_input"),
        (b"{" + b" " * 70_000 + b"}", "invalid_input"),
    ],
    ids=["garbage", "empty", "incomplete", "too-large"],
)
def test_bad_input_gets_a_rejected_receipt_and_nothing_is_kept(
    api: ResourceApi, content: bytes, reason: str
) -> None:
    """Malformed, empty, incomplete or oversized bodies get 422 with a signed receipt saying
    why; anonymous junk is neither logged nor stored, a signed-in caller's is stored."""
    size = api.domain.ledger.size()
    response = api.client.post("/v1/events", content=content)
    assert response.status_code == 422
    receipt = api.receipt(response)
    assert (receipt["status"], receipt["reason"]) == ("rejected", reason)
    assert receipt["detail"]
    assert count_rejections(api.engine) == 0
    signed_in = api.client.post("/v1/events", content=content, headers=api.headers("coop"))
    assert signed_in.status_code == 422
    assert count_rejections(api.engine) == 1
    assert list_rejections(api.engine)[0].payload_size == len(content)
    assert api.domain.ledger.size() == size


def test_bad_signature_is_refused(api: ResourceApi) -> None:
    """An envelope whose signature does not match its payload is refused (signature_invalid)
    and nothing is logged; the genuine envelope is accepted afterwards."""
    signer = api.world.signer(COOP)
    genuine = signer.sign(signer.payload(body("planting")), advance=False)
    forged = {**genuine, "payload": {**genuine["payload"], "time": "2026-09-21T08:30:00Z"}}
    response = api.client.post("/v1/events", content=json.dumps(forged))
    assert response.status_code == 422
    assert api.receipt(response)["reason"] == "signature_invalid"
    assert api.client.post("/v1/events", content=json.dumps(genuine)).status_code == 201


def test_a_valid_token_is_optional_but_a_bad_one_is_refused(api: ResourceApi) -> None:
    """The envelope is the authority: a signed-in caller gets the same receipt, and a bad
    token is refused with 401 before anything is recorded."""
    envelope = json.dumps(api.world.signer(COOP).next(body("planting")))
    bad = api.client.post("/v1/events", content=envelope, headers={"Authorization": "Bearer x"})
    assert bad.status_code == 401
    assert bad.json()["error"] == "unauthenticated"
    ok = api.client.post("/v1/events", content=envelope, headers=api.headers("operator_b"))
    assert ok.status_code == 201
    assert api.receipt(ok)["status"] == "accepted"


def _mqtt_receipt(broker: LocalBroker, credentials: Credentials, data: bytes) -> bytes:
    """Publish `data` as the device over MQTT 5 and return the receipt the gateway sends."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=credentials.username, protocol=mqtt.MQTTv5
    )
    client.username_pw_set(credentials.username, credentials.password)
    connected, subscribed = threading.Event(), threading.Event()
    messages: queue.Queue[bytes] = queue.Queue()
    client.on_connect = lambda *_args: connected.set()
    client.on_subscribe = lambda *_args: subscribed.set()
    client.on_message = lambda _c, _u, message: messages.put(bytes(message.payload))
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert connected.wait(10)
        client.subscribe(receipts_topic(credentials.username), qos=1)
        assert subscribed.wait(10)
        client.publish(events_topic(credentials.username), data, qos=1).wait_for_publish(10)
        return messages.get(timeout=20)
    finally:
        client.disconnect()
        client.loop_stop()


def test_https_and_the_mqtt_gateway_answer_with_the_same_receipt(
    sqlite_url: str, tmp_path: Path
) -> None:
    """One envelope sent over HTTPS and then over MQTT through a real Mosquitto and the
    ingest gateway: the gateway's `duplicate` receipt and the HTTPS one are the same bytes,
    and so are their receipts for a forged copy."""
    with LocalBroker(tmp_path / "broker") as broker, open_resource_api(sqlite_url) as api:
        settings = api.domain.settings
        signer = TestSigner()
        enrol_device(
            api.engine, public_key=signer.public_key, organisation=COOP, site="site-fusong-wanliang"
        )
        credentials = broker.add_client(signer.key_id)
        config = GatewayConfig(
            host=broker.host,
            port=broker.port,
            username=broker.gateway.username,
            password=broker.gateway.password,
            linger=0.002,
        )
        gateway = Gateway(settings, config, engine=api.engine)
        gateway.start()
        try:
            envelope = signer.next(body("planting"))
            data = canonical_bytes(envelope)
            assert api.client.post("/v1/events", content=data).status_code == 201
            over_mqtt = _mqtt_receipt(broker, credentials, data)
            over_https = api.client.post("/v1/events", content=data)
            assert over_https.status_code == 200
            assert api.receipt(over_https)["status"] == "duplicate"
            assert over_https.content == over_mqtt
            forged = {**envelope, "payload": {**envelope["payload"], "seq": 2}}
            forged_data = canonical_bytes(forged)
            refused_https = api.client.post("/v1/events", content=forged_data)
            assert refused_https.status_code == 422
            assert refused_https.content == _mqtt_receipt(broker, credentials, forged_data)
        finally:
            gateway.stop()
