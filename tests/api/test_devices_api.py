"""Devices over HTTP: enrol a key for a site, list and read, revoke; broker accounts follow."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from resource_support import COOP, PLANT, ResourceApi, body, open_resource_api, public_key_b64
from support import TestSigner

from devices.broker import LocalBroker
from traceability.enrolment import list_devices
from traceability.log.signers import get_signer


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    """The app on a fresh database (SQLite, then PostgreSQL) with the story's parties."""
    with open_resource_api(db_url) as api:
        yield api


def _enrolment(key: TestSigner, org: str = COOP, site: str = "site-fusong-wanliang") -> dict:
    return {"public_key": public_key_b64(key.public_key), "organisation": org, "site": site}


def test_operator_enrols_a_device_that_then_signs_events(api: ResourceApi) -> None:
    """The cooperative's operator enrols a handheld key: 201 with its ID, an active signer
    and a broker password shown once; the device's events are then accepted."""
    key = TestSigner()
    response = api.client.post(
        "/v1/devices", json=_enrolment(key) | {"name": "万良 handheld"}, headers=api.headers("coop")
    )
    assert response.status_code == 201, response.text
    enrolled = response.json()
    assert enrolled["device"]["device_id"] == key.key_id
    assert enrolled["device"]["signer"]["status"] == "active"
    assert enrolled["device"]["signer"]["role"] == "device"
    assert len(enrolled["broker_password"]) == 32
    assert enrolled["broker_password_installed"] is False
    accepted = api.client.post("/v1/events", content=json.dumps(key.next(body("planting"))))
    assert accepted.status_code == 201
    assert api.get(f"/v1/devices/{key.key_id}", "coop").json() == enrolled["device"]


def test_lists_filter_and_page(api: ResourceApi) -> None:
    """Devices list by ID, per organisation and site, in pages that follow next_after."""
    keys = [TestSigner() for _ in range(3)]
    for key in keys:
        assert (
            api.client.post(
                "/v1/devices", json=_enrolment(key), headers=api.headers("admin")
            ).status_code
            == 201
        )
    plant_key = TestSigner()
    api.client.post(
        "/v1/devices",
        json=_enrolment(plant_key, PLANT, "site-jian-plant"),
        headers=api.headers("admin"),
    )
    coop = api.get("/v1/devices", "coop", organisation=COOP).json()
    assert [d["device_id"] for d in coop["items"]] == sorted(k.key_id for k in keys)
    assert [
        d["device_id"] for d in api.get("/v1/devices", site="site-jian-plant").json()["items"]
    ] == [plant_key.key_id]
    first = api.get("/v1/devices", limit=2).json()
    rest = api.get("/v1/devices", limit=2, after=first["next_after"]).json()
    assert len(first["items"]) + len(rest["items"]) == 4
    assert rest["next_after"] is None


def test_operators_act_only_for_their_own_organisation(api: ResourceApi) -> None:
    """The plant's operator may not enrol, read, list or revoke the cooperative's devices
    (403), and nothing is stored or changed by its attempts."""
    key = TestSigner()
    refused = api.client.post("/v1/devices", json=_enrolment(key), headers=api.headers("plant"))
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"
    assert list_devices(api.engine) == []
    api.client.post("/v1/devices", json=_enrolment(key), headers=api.headers("coop"))
    assert api.get(f"/v1/devices/{key.key_id}", "plant").status_code == 403
    assert api.get("/v1/devices", "plant", organisation=COOP).status_code == 403
    revoke = api.client.post(f"/v1/devices/{key.key_id}/revoke", headers=api.headers("plant"))
    assert revoke.status_code == 403
    assert get_signer(api.engine, key.key_id).status == "active"
    regulator = api.client.post(
        "/v1/devices", json=_enrolment(TestSigner()), headers=api.headers("regulator")
    )
    assert regulator.status_code == 403


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"public_key": "not base64!"}, 400, "base64"),
        ({"public_key": "AAAA"}, 400, "32 bytes"),
        ({"site": "site-jian-plant"}, 400, "belongs to"),
        ({"site": "site-nowhere"}, 400, "not registered"),
        ({"role": "admin"}, 422, "role"),
        (
            {"valid_from": "2027-01-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z"},
            400,
            "valid_until",
        ),
    ],
    ids=["bad-base64", "short-key", "other-orgs-site", "unknown-site", "bad-role", "bad-window"],
)
def test_bad_enrolments_are_refused_and_store_nothing(
    api: ResourceApi, change: dict[str, str], status: int, words: str
) -> None:
    """Each bad enrolment gets a JSON error whose reason says what is wrong; no device or
    signer is stored."""
    key = TestSigner()
    response = api.client.post(
        "/v1/devices", json=_enrolment(key) | change, headers=api.headers("coop")
    )
    assert response.status_code == status, response.text
    assert words in response.json()["reason"]
    assert list_devices(api.engine) == []


def test_enrolling_twice_is_refused(api: ResourceApi) -> None:
    """The same key enrolled again is 400 `already enrolled`; the first enrolment stands."""
    key = TestSigner()
    headers = api.headers("coop")
    assert api.client.post("/v1/devices", json=_enrolment(key), headers=headers).status_code == 201
    again = api.client.post("/v1/devices", json=_enrolment(key), headers=headers)
    assert again.status_code == 400
    assert "already enrolled" in again.json()["reason"]
    assert len(list_devices(api.engine)) == 1


def test_revoked_device_is_refused_by_the_log(api: ResourceApi) -> None:
    """After revocation the device shows `revoked` and its next envelope is refused
    (signer_not_active); revoking an unknown device is 404."""
    key = TestSigner()
    api.client.post("/v1/devices", json=_enrolment(key), headers=api.headers("coop"))
    revoked = api.client.post(f"/v1/devices/{key.key_id}/revoke", headers=api.headers("coop"))
    assert revoked.status_code == 200
    assert revoked.json()["signer"]["status"] == "revoked"
    refused = api.client.post("/v1/events", content=json.dumps(key.next(body("planting"))))
    assert refused.status_code == 422
    assert api.receipt(refused)["reason"] == "signer_not_active"
    missing = api.client.post(f"/v1/devices/{'0' * 32}/revoke", headers=api.headers("admin"))
    assert missing.status_code == 404


class _Accounts:
    """The broker's accounts as the deployment would connect them: a real Mosquitto."""

    def __init__(self, broker: LocalBroker) -> None:
        self.broker = broker

    def set(self, username: str, password: str) -> None:
        self.broker.add_client(username, password)

    def remove(self, username: str) -> None:
        self.broker.remove_client(username)


def _connack(broker: LocalBroker, username: str, password: str) -> int:
    """Connect to the broker with MQTT 5 and return the CONNACK reason code's value."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=username, protocol=mqtt.MQTTv5)
    client.username_pw_set(username, password)
    answered = threading.Event()
    codes: list[int] = []

    def on_connect(_c: object, _u: object, _f: object, reason: object, _p: object) -> None:
        codes.append(int(reason.value))  # type: ignore[attr-defined]
        answered.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert answered.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()
    return codes[0]


def _eventually(broker: LocalBroker, username: str, password: str, *, accepted: bool) -> bool:
    """Whether the broker comes to accept (or refuse) the credentials within 5 s: it
    takes account changes over MQTT, from its admin."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if (_connack(broker, username, password) == 0) == accepted:
            return True
        time.sleep(0.1)
    return False


def test_enrolment_installs_broker_credentials_and_revocation_removes_them(
    sqlite_url: str, tmp_path: Path
) -> None:
    """With the broker connected, the returned password opens a real Mosquitto session for
    the device; after revocation the broker refuses it."""
    with (
        LocalBroker(tmp_path / "broker") as broker,
        open_resource_api(sqlite_url, broker_accounts=_Accounts(broker)) as api,
    ):
        key = TestSigner()
        enrolled = api.client.post(
            "/v1/devices", json=_enrolment(key), headers=api.headers("coop")
        ).json()
        assert enrolled["broker_password_installed"] is True
        username, password = enrolled["broker_username"], enrolled["broker_password"]
        assert _eventually(broker, username, password, accepted=True)
        assert _connack(broker, username, "wrong") != 0
        api.client.post(f"/v1/devices/{key.key_id}/revoke", headers=api.headers("coop"))
        assert _eventually(broker, username, password, accepted=False)
