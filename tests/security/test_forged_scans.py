"""A hostile anonymous client tries to brand a genuine, sold unit as counterfeit with forged
scans: places it makes up 1,890 km apart, 21 networks it claims in forwarded headers, many
addresses of one network. The consumer page may warn, but regulators get no
`counterfeit_scan` alert and the log holds none. A second signed retail sale of the same
serial, evidence no anonymous client can forge, does raise the unit's alert; so do scans
the server itself saw from more distinct networks than the threshold. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from api_support import client_from
from domain.story import PHARMACY
from resource_support import PLANT, ResourceApi, body, open_resource_api

from traceability.canonical import canonical_bytes
from traceability.domain.units import subject_of

GTIN, LOT, SOLD = "06901234567892", "HS2026001", "0002"
SUBJECT = subject_of(GTIN, SOLD)
BEIJING = {"lat": "39.9042", "lon": "116.4074"}
GUANGZHOU = {"lat": "23.1291", "lon": "113.2644"}
WARN_COUNT = 20  # the default HERBTRACE_SCAN_WARN_COUNT


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    """The story's 红参 packed, shipped to the pharmacy and unit 0002 sold there."""
    with open_resource_api(db_url) as api:
        assert api.domain.settings.scan_warn_count == WARN_COUNT
        api.world.packed()
        api.world.ok(PLANT, body("ship", carrier=None))
        api.world.ok(PHARMACY, body("receive"))
        api.world.ok(PHARMACY, body("retail_sale"))
        yield api


def _scan(
    api: ResourceApi,
    peer: str = "203.0.113.7",
    place: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    client = client_from(api.client, (peer, 40000))
    scan = {"gtin": GTIN, "lot": LOT, "serial": SOLD} | ({"place": place} if place else {})
    response = client.post("/v1/scans", json=scan, headers=headers or {})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _counterfeit_alerts(api: ResourceApi) -> list[dict[str, Any]]:
    """The counterfeit alerts regulators are shown."""
    items: list[dict[str, Any]] = api.get("/v1/alerts", kind="counterfeit_scan").json()["items"]
    return items


def _logged_alert_bodies(api: ResourceApi) -> list[dict[str, Any]]:
    """Every `counterfeit_scan` alert body in the log itself."""
    ledger = api.domain.ledger
    found = []
    for index in range(ledger.size()):
        event = json.loads(ledger.entry(index)[2].payload_bytes)["body"]
        if event["type"] == "alert" and event["kind"] == "counterfeit_scan":
            found.append(event)
    return found


def test_two_anonymous_scans_claiming_places_1890_km_apart_warn_the_page_but_alert_no_one(
    api: ResourceApi,
) -> None:
    """Beijing, then Guangzhou, from two networks: the page warns `far_apart`; regulators
    get nothing and the log holds no counterfeit alert."""
    _scan(api, "203.0.113.7", BEIJING)
    far = _scan(api, "198.51.100.9", GUANGZHOU)
    assert [w["signal"] for w in far["warnings"]] == ["far_apart"]
    assert far["far_km"] >= 1890
    assert far["alerted"] is False
    assert _counterfeit_alerts(api) == []
    assert _logged_alert_bodies(api) == []


def test_twenty_one_networks_claimed_in_headers_by_one_peer_count_once_and_alert_no_one(
    api: ResourceApi,
) -> None:
    """21 scans from one peer, each claiming another network in X-Forwarded-For, X-Real-IP
    and Forwarded: one scanner, no warning, no alert."""
    for n in range(WARN_COUNT + 1):
        spoofed = f"100.{64 + n}.{n}.1"
        answer = _scan(
            api,
            headers={
                "X-Forwarded-For": spoofed,
                "X-Real-IP": spoofed,
                "Forwarded": f"for={spoofed}",
            },
        )
    assert (answer["number"], answer["scanners"], answer["warnings"]) == (WARN_COUNT + 1, 1, [])
    assert answer["alerted"] is False
    assert _counterfeit_alerts(api) == []
    assert _logged_alert_bodies(api) == []


@pytest.mark.parametrize(
    "address", ["203.0.113.{n}", "2001:db8:7:{n:x}::1"], ids=["ipv4 /24", "ipv6 /48"]
)
def test_many_addresses_of_one_network_count_as_one_scanner(api: ResourceApi, address: str) -> None:
    """21 peers of one IPv4 /24 or one IPv6 /48 are one scanner: no alert."""
    for n in range(1, WARN_COUNT + 2):
        answer = _scan(api, address.format(n=n))
    assert answer["scanners"] == 1
    assert answer["alerted"] is False
    assert _counterfeit_alerts(api) == []


def test_scans_the_server_saw_from_more_distinct_networks_than_the_threshold_alert_once(
    api: ResourceApi,
) -> None:
    """The control: 21 peers in 21 distinct networks cross the threshold, and regulators get
    one alert on the unit, logged."""
    answers = [_scan(api, f"198.51.{n}.20") for n in range(WARN_COUNT + 1)]
    assert answers[-2]["alerted"] is False
    assert answers[-1]["alerted"] is True
    [alert] = _counterfeit_alerts(api)
    assert alert["subject"] == SUBJECT
    assert len(_logged_alert_bodies(api)) == 1


def test_a_second_signed_retail_sale_of_the_same_serial_alerts_regulators(
    api: ResourceApi,
) -> None:
    """The pharmacy's signed second sale of unit 0002 is refused and raises the unit's
    `counterfeit_scan` alert, logged; the consumer page then says regulators were told."""
    signer = api.world.signer(PHARMACY)
    envelope = signer.sign(signer.payload(body("retail_sale", sold_on="2026-10-21")), False)
    response = api.client.post("/v1/events", content=canonical_bytes(envelope))
    assert response.status_code == 422
    assert api.receipt(response)["reason"] == "unit_sold_twice"
    [alert] = _counterfeit_alerts(api)
    assert alert["subject"] == SUBJECT
    assert alert["logged_index"] is not None
    assert [b["subject"] for b in _logged_alert_bodies(api)] == [SUBJECT]
    assert _scan(api)["alerted"] is True
