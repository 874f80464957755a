"""Malformed and out-of-range dates and times over HTTP: always a 4xx, never a 500.

`POST /v1/devices` with `valid_from` 0001-01-01T00:00:00+01:00 raised OverflowError in the
signer registry (a 500). Every route that takes a date or time — enrolment's validity,
revocation's `at`, and a signed envelope's `time` and its body's dates — is fed a list of
hostile values; the answer is a 4xx JSON error (or, for an envelope, a signed rejection
receipt or an acceptance: how far an event's dates may lie is the plausibility rules'
business), and nothing invalid is stored. An audit bundle whose signer times are hostile is
refused as malformed. Both backends.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from resource_support import COOP, ResourceApi, body, open_resource_api
from support import TestSigner

from traceability.enrolment import list_devices
from traceability.errors import InvalidInput
from traceability.log.bundle import BundleSource, export_bundle
from traceability.log.signers import get_signer

SITE = "site-fusong-wanliang"

HOSTILE_TIMES: list[Any] = [
    "0001-01-01T00:00:00+01:00",  # no UTC equivalent: before datetime.min
    "0001-01-01T00:00:00.000001+23:59",
    "9999-12-31T23:59:59-01:00",  # after datetime.max in UTC
    "9999-12-31T23:59:59.999999-23:59",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "1969-12-31T23:59:59Z",
    "9000-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-01-01T24:00:01Z",
    "2026-01-01T00:00:00+24:00",
    "2026-01-01T00:00:00",  # naive
    "2026-01-01",
    "２０２６-01-01T00:00:00Z",  # full-width digits
    "2026-01-01T00:00:00\u0000Z",
    "9" * 5000,
    "",
    "now",
    10**20,  # a huge timestamp
    -(10**20),
    253_402_300_800,  # 10000-01-01 as a Unix timestamp
    -62_135_596_801,  # before 0001-01-01
    1e308,
    float("-inf"),
    True,
    [],
    {"year": 2026},
]

HOSTILE_DATES: list[Any] = [
    "0001-01-01",
    "9999-12-31",
    "0000-01-01",
    "2026-02-30",
    "2026-1-1",
    "99999-01-01",
    "２０２６-01-01",
    "2026-01-01T00:00:00+01:00",
    10**20,
    "",
]


def _json(value: Any) -> bytes:
    """`value` as JSON, infinities written as the huge numbers a hostile client would send."""
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return b"-1e999" if value < 0 else b"1e999"
    return json.dumps(value, ensure_ascii=False).encode()


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    with open_resource_api(db_url) as api:
        yield api


def _post(api: ResourceApi, url: str, members: dict[str, Any]) -> Any:
    """POST a JSON object whose members are given raw (so any value, even 1e999, is sent)."""
    content = b"{" + b",".join(_json(k) + b":" + _json(v) for k, v in members.items()) + b"}"
    headers = {**api.headers("coop"), "Content-Type": "application/json"}
    return api.client.post(url, content=content, headers=headers)


def _assert_refused(response: Any, value: Any) -> None:
    assert 400 <= response.status_code < 500, (value, response.status_code, response.text)
    assert response.json()["error"], response.text


def test_enrolment_refuses_every_hostile_validity_time(api: ResourceApi) -> None:
    """`valid_from` and `valid_until`: 4xx for each hostile value; no key is registered."""
    for field in ("valid_from", "valid_until"):
        for value in HOSTILE_TIMES:
            key = TestSigner()
            response = _post(
                api,
                "/v1/devices",
                {
                    "public_key": base64.b64encode(key.public_key).decode(),
                    "organisation": COOP,
                    "site": SITE,
                    field: value,
                },
            )
            _assert_refused(response, (field, value))
            assert all(d.device_id != key.key_id for d in list_devices(api.engine))


def test_revocation_refuses_every_hostile_time(api: ResourceApi) -> None:
    """`at` of `POST /v1/devices/{id}/revoke`: 4xx for each hostile value; the device stays
    active."""
    key = TestSigner()
    enrolled = api.client.post(
        "/v1/devices",
        json={
            "public_key": base64.b64encode(key.public_key).decode(),
            "organisation": COOP,
            "site": SITE,
        },
        headers=api.headers("coop"),
    )
    assert enrolled.status_code == 201, enrolled.text
    for value in HOSTILE_TIMES:
        response = _post(api, f"/v1/devices/{key.key_id}/revoke", {"at": value})
        _assert_refused(response, value)
        assert get_signer(api.engine, key.key_id).revoked_at is None


def test_a_signed_envelope_with_hostile_times_gets_a_receipt_never_a_500(api: ResourceApi) -> None:
    """An envelope's `time`, and a planting's `planted_on`, hostile every way: the answer is
    a signed receipt (a 4xx rejection, or an acceptance the plausibility rules judge), never
    a server error."""
    signer = api.world.signer(COOP)
    cases = [({"time": value}, None) for value in HOSTILE_TIMES] + [
        ({}, {"planted_on": value}) for value in HOSTILE_DATES
    ]
    for n, (overrides, changes) in enumerate(cases):
        event = body("planting", batch=f"FS-PL-HOSTILE-{n}", **(changes or {}))
        payload = {**signer.payload(event), **overrides}
        try:
            envelope = signer.sign(payload, advance=False)
        except (TypeError, ValueError, InvalidInput):  # not canonical JSON: send it unsigned
            envelope = {"payload": payload, "sig": "A" * 86 + "=="}
        response = api.client.post(
            "/v1/events",
            content=json.dumps(envelope, ensure_ascii=False, allow_nan=True).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code in (200, 201, 422), (overrides, changes, response.text)
        receipt = api.receipt(response)
        if receipt["status"] == "accepted":
            signer.sign(payload)  # the chain moves on only with an accepted envelope


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "not a time", 10**20]
)
def test_an_audit_bundle_with_a_hostile_signer_time_is_refused_cleanly(
    api: ResourceApi, tmp_path: Path, value: Any
) -> None:
    """A bundle whose signer record carries a time with no UTC equivalent (a revocation or
    validity time a hostile exporter wrote) is InvalidInput naming the line, not a crash."""
    signer = api.world.signer(COOP)
    good = tmp_path / "good.jsonl"
    export_bundle(api.engine, api.domain.ledger.verifier, good)
    lines = good.read_text(encoding="utf-8").splitlines()
    tampered = []
    for line in lines:
        record = json.loads(line)
        if record.get("signer", {}).get("key_id") == signer.key_id:
            record["signer"]["revoked_at"] = value
            line = json.dumps(record)
        tampered.append(line)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(tampered) + "\n", encoding="utf-8")
    assert BundleSource(good).signers()
    with pytest.raises(InvalidInput, match="malformed signer"):
        BundleSource(bad).signers()
