"""A careless or hostile signer sends implausible events: dates in the years 0001 and 9999 or
beyond the clock skew, quantities of zero, below zero, NaN or near a trillion kilograms,
names with control characters or bidirectional overrides, overlong text. Each is refused
over HTTPS (4xx) and over MQTT (a rejected receipt through the real Mosquitto and the ingest
gateway), and the log does not grow; plausible values at the edges are accepted. On SQLite
and PostgreSQL."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from api_support import api_settings
from domain.story import World
from paho.mqtt.enums import CallbackAPIVersion
from read_support import read
from resource_support import COOP, ResourceApi, body, open_resource_api
from support import TestSigner

from devices.broker import Credentials, LocalBroker
from devices.gateway import Gateway, GatewayConfig
from schemas.mqtt import events_topic, receipts_topic
from traceability.canonical import canonical_bytes
from traceability.domain.batches import read_batch
from traceability.domain.service import Domain
from traceability.enrolment import enrol_device
from traceability.ingest.receipts import verify_receipt
from traceability.ledger import Ledger, initialise
from traceability.log.audit import Auditor
from traceability.log.audit_sources import DatabaseSource
from traceability.storage.db import make_engine

SITE = "site-fusong-wanliang"

Case = Callable[[datetime], tuple[dict[str, Any], str | None]]
"""Given the current time, an event body and the envelope's time (None: now)."""


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _harvest(**changes: Any) -> dict[str, Any]:
    return body("harvest", batch=f"H-{next(_numbers)}", **changes)


def _quantity(value: str, unit: str = "kg") -> dict[str, str]:
    return {"value": value, "unit": unit}


_numbers = iter(range(1, 1_000_000))


@dataclass
class Chain:
    """The app and the ingest gateway on one database, the real broker between device and
    gateway, and the log key receipts are verified with."""

    api: ResourceApi
    broker: LocalBroker

    def size(self) -> int:
        return self.api.domain.ledger.size()

    def over_https(self, envelope: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        response = self.api.client.post("/v1/events", content=canonical_bytes(envelope))
        return response.status_code, self.api.receipt(response)

    def over_mqtt(self, credentials: Credentials, envelope: dict[str, Any]) -> dict[str, Any]:
        data = canonical_bytes(envelope)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=credentials.username, protocol=mqtt.MQTTv5
        )
        client.username_pw_set(credentials.username, credentials.password)
        connected, subscribed = threading.Event(), threading.Event()
        messages: queue.Queue[bytes] = queue.Queue()
        client.on_connect = lambda *_args: connected.set()
        client.on_subscribe = lambda *_args: subscribed.set()
        client.on_message = lambda _c, _u, message: messages.put(bytes(message.payload))
        client.connect(self.broker.host, self.broker.port)
        client.loop_start()
        try:
            assert connected.wait(10)
            client.subscribe(receipts_topic(credentials.username), qos=1)
            assert subscribed.wait(10)
            client.publish(events_topic(credentials.username), data, qos=1).wait_for_publish(10)
            receipt = messages.get(timeout=20)
        finally:
            client.disconnect()
            client.loop_stop()
        payload = verify_receipt(receipt, self.api.log_public_key())
        return payload.model_dump(mode="json")

    def signer(self, role: str = "device") -> tuple[TestSigner, Credentials]:
        """A new signer of the cooperative, enrolled as a device with broker credentials."""
        signer = TestSigner()
        enrol_device(
            self.api.engine, public_key=signer.public_key, organisation=COOP, site=SITE, role=role
        )
        return signer, self.broker.add_client(signer.key_id)


@pytest.fixture(name="chain")
def _chain(db_url: str, tmp_path: Path) -> Iterator[Chain]:
    """The story's parties registered and a planting batch to harvest from."""
    with LocalBroker(tmp_path / "broker") as broker, open_resource_api(db_url) as api:
        api.world.ok(COOP, body("planting"))
        config = GatewayConfig(
            host=broker.host,
            port=broker.port,
            username=broker.gateway.username,
            password=broker.gateway.password,
            client_id=broker.gateway.username,
            linger=0.002,
        )
        domain = Domain(api.domain.settings, api.engine)  # as `herbtrace ingest` runs it
        gateway = Gateway(api.domain.settings, config, domain=domain)
        gateway.start()
        try:
            yield Chain(api, broker)
        finally:
            gateway.stop()
            domain.close()


def _envelope(signer: TestSigner, event: dict[str, Any], time: str | None) -> dict[str, Any]:
    payload = signer.payload(event, time=time or _stamp(datetime.now(UTC)))
    return signer.sign(payload, advance=False)


REFUSED: dict[str, tuple[Case, str, str]] = {
    "harvested in the year 0001": (
        lambda _now: (_harvest(harvested_on="0001-01-01"), None),
        "device",
        "implausible_time",
    ),
    "harvested in the year 9999": (
        lambda _now: (_harvest(harvested_on="9999-12-31"), None),
        "device",
        "implausible_time",
    ),
    "harvested two days from now": (
        lambda now: (_harvest(harvested_on=(now + timedelta(days=2)).date().isoformat()), None),
        "device",
        "implausible_time",
    ),
    "signed an hour from now": (
        lambda now: (_harvest(), _stamp(now + timedelta(hours=1))),
        "device",
        "implausible_time",
    ),
    "signed in 1970 by a clock never set": (
        lambda _now: (_harvest(), "1970-01-01T00:00:05Z"),
        "device",
        "implausible_time",
    ),
    "a sensor reading in the year 9999": (
        lambda _now: (
            body(
                "sensor_reading",
                batches=["FS-PL-2020-001"],
                readings=[{"at": "9999-01-01T00:00:00Z", "temperature_c": "4.0"}],
            ),
            None,
        ),
        "device",
        "implausible_time",
    ),
    "a harvest of zero": (
        lambda _now: (_harvest(quantity=_quantity("0")), None),
        "device",
        "invalid_event",
    ),
    "a harvest of 0.000 kg": (
        lambda _now: (_harvest(quantity=_quantity("0.000")), None),
        "device",
        "invalid_event",
    ),
    "a negative harvest": (
        lambda _now: (_harvest(quantity=_quantity("-5")), None),
        "device",
        "invalid_event",
    ),
    "a harvest of NaN": (
        lambda _now: (_harvest(quantity=_quantity("NaN")), None),
        "device",
        "invalid_event",
    ),
    "a harvest of Infinity": (
        lambda _now: (_harvest(quantity=_quantity("Infinity")), None),
        "device",
        "invalid_event",
    ),
    "a harvest of a number, not a decimal string": (
        lambda _now: (_harvest(quantity={"value": 1e308, "unit": "kg"}), None),
        "device",
        "invalid_event",
    ),
    "a harvest of nearly a trillion kilograms": (
        lambda _now: (_harvest(quantity=_quantity("999999999999.999999")), None),
        "device",
        "implausible_quantity",
    ),
    "a harvest of a billion tonnes": (
        lambda _now: (_harvest(quantity=_quantity("1000000000", "t")), None),
        "device",
        "implausible_quantity",
    ),
    "a harvest just above the catalogue's bound": (
        lambda _now: (_harvest(quantity=_quantity("1000000.001")), None),
        "device",
        "implausible_quantity",
    ),
    "a planting of a million hectares": (
        lambda _now: (
            body("planting", batch="PL-HUGE", area={"value": "1000000", "unit": "ha"}),
            None,
        ),
        "device",
        "implausible_quantity",
    ),
    "a part with a right-to-left override": (
        lambda _now: (_harvest(part="根和根茎\u202e参人"), None),
        "device",
        "invalid_event",
    ),
    "a part with a NUL byte": (
        lambda _now: (_harvest(part="根\x00茎"), None),
        "device",
        "invalid_event",
    ),
    "a part with a zero-width space": (
        lambda _now: (_harvest(part="根\u200b茎"), None),
        "device",
        "invalid_event",
    ),
    "a part of white space only": (
        lambda _now: (_harvest(part="\u3000 "), None),
        "device",
        "invalid_event",
    ),
    "a part of 201 characters": (
        lambda _now: (_harvest(part="参" * 201), None),
        "device",
        "invalid_event",
    ),
    "an organisation named with a bidi isolate": (
        lambda _now: (
            body("organisation", id="org-evil", name="抚松\u2067合作社\u2069", credit_code=None),
            None,
        ),
        "admin",
        "invalid_event",
    ),
    "an organisation named with a newline": (
        lambda _now: (
            body("organisation", id="org-evil", name="抚松合作社\n监管部门", credit_code=None),
            None,
        ),
        "admin",
        "invalid_event",
    ),
    "a site name of 10,000 characters": (
        lambda _now: (
            body("site", id="site-evil", organisation=COOP, name="基" * 10_000),
            None,
        ),
        "admin",
        "invalid_event",
    ),
    "a processing parameter named with a bell character": (
        lambda _now: (body("processing", parameters={"蒸制温度\x07": "100 °C"}), None),
        "device",
        "invalid_event",
    ),
    "a reading of 140 % relative humidity": (
        lambda now: (
            body(
                "sensor_reading",
                batches=["FS-PL-2020-001"],
                readings=[{"at": _stamp(now), "humidity_pct": "140"}],
            ),
            None,
        ),
        "device",
        "invalid_event",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_an_implausible_event_is_refused_over_https_and_mqtt_and_nothing_is_stored(
    chain: Chain, case: str
) -> None:
    """The same implausible event, signed by a registered signer, is refused with a 4xx over
    HTTPS and a rejected receipt over MQTT, naming the reason, and the log does not grow."""
    build, role, reason = REFUSED[case]
    event, time = build(datetime.now(UTC))
    before = chain.size()

    signer, _ = chain.signer(role)
    status, receipt = chain.over_https(_envelope(signer, event, time))
    assert 400 <= status < 500, receipt
    assert (receipt["status"], receipt["reason"]) == ("rejected", reason), receipt

    signer, credentials = chain.signer(role)
    receipt = chain.over_mqtt(credentials, _envelope(signer, event, time))
    assert (receipt["status"], receipt["reason"]) == ("rejected", reason), receipt

    assert chain.size() == before
    batch = event.get("batch")
    if isinstance(batch, str) and event["type"] in {"harvest", "planting"}:
        assert chain.api.get(f"/v1/batches/{batch}").status_code == 404


ACCEPTED: dict[str, Case] = {
    "harvested today, signed now": lambda now: (
        _harvest(harvested_on=now.date().isoformat()),
        None,
    ),
    "signed five minutes ahead of the log's clock": lambda now: (
        _harvest(),
        _stamp(now + timedelta(minutes=5)),
    ),
    "signed on the first second after the floor": lambda _now: (
        _harvest(),
        "2001-01-01T00:00:00Z",
    ),
    "planted on 1900-01-01": lambda _now: (
        body("planting", batch=f"PL-{next(_numbers)}", planted_on="1900-01-01"),
        None,
    ),
    "a harvest of one milligram": lambda _now: (_harvest(quantity=_quantity("0.000001")), None),
    "a harvest at the catalogue's bound": lambda _now: (
        _harvest(quantity=_quantity("1000", "t")),
        None,
    ),
    "a part of 200 Chinese characters with inner spaces": lambda _now: (
        _harvest(part=("根和根茎 " * 40)[:199] + "茎"),
        None,
    ),
}


@pytest.mark.parametrize("case", list(ACCEPTED), ids=list(ACCEPTED))
def test_a_plausible_event_at_the_edge_is_accepted_over_https_and_mqtt(
    chain: Chain, case: str
) -> None:
    """Plausible values at the edges of the limits are accepted on both channels."""
    event, time = ACCEPTED[case](datetime.now(UTC))
    before = chain.size()
    signer, _ = chain.signer()
    status, receipt = chain.over_https(_envelope(signer, event, time))
    assert (status, receipt["status"]) == (201, "accepted"), receipt

    second = dict(event)
    if "batch" in second and event["type"] in {"harvest", "planting"}:
        second["batch"] = f"{event['batch']}-M"
    signer, credentials = chain.signer()
    receipt = chain.over_mqtt(credentials, _envelope(signer, second, time))
    assert receipt["status"] == "accepted", receipt
    assert chain.size() == before + 2


def test_an_implausible_entry_already_in_the_log_still_verifies_and_rebuilds(
    db_url: str,
) -> None:
    """A planting dated 0001-01-01 that reached the log before these limits (appended without
    the rules, as an older herbtrace would have) stays: the audit passes, reindex --check
    rebuilds the same state with it, while the same event sent now is refused."""
    settings = api_settings(db_url)
    engine = make_engine(settings.database_url)
    initialise(settings, engine)
    try:
        with Domain(settings, engine) as domain:
            world = World(domain)
            world.register_all()
            signer = world.signer(COOP)
            old = body("planting", batch="PL-OLD", planted_on="0001-01-01")
            [result] = Ledger(settings, engine).append([signer.next(old)])
            assert result.status == "accepted"
            assert domain.policy.catch_up() == 1
            assert read(domain.engine, read_batch, "PL-OLD").herb == "renshen"

            world.refused(COOP, dict(old, batch="PL-NEW"), "implausible_time")

            report = domain.reindex(check=True)
            assert report.changed == []
            assert report.skipped == {}
            assert read(domain.engine, read_batch, "PL-OLD").herb == "renshen"
            audit = Auditor(domain.ledger.verifier).run(DatabaseSource(engine))
            assert audit.ok, audit
    finally:
        engine.dispose()
