"""A revocation never predates the signer's last entry, so an operator cannot break the audit.

Revoking a device with an `at` before its last accepted entry used to be stored as asked,
and the audit then reported that entry as signed outside its signer's validity, for ever (a
revocation cannot be changed). Now such a time is refused (400, naming the earliest time
allowed) on every path, the default (now) always lies after the last entry, and the audit
— the real `herbtrace verify` — still passes. Both backends.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import support
from resource_support import COOP, ResourceApi, body, open_resource_api
from support import TestSigner

from traceability.errors import InvalidInput
from traceability.log.audit import Auditor
from traceability.log.audit_sources import DatabaseSource
from traceability.log.note import NoteVerifier
from traceability.log.sequencing import last_received
from traceability.log.signers import get_signer, revoke_signer

SITE = "site-fusong-wanliang"


def enrol_and_sign(api: ResourceApi) -> tuple[TestSigner, str]:
    """The co-op's operator enrols a device over HTTP, which signs an accepted planting;
    return the device's key and the accepted entry's received time."""
    device = TestSigner()
    enrolled = api.client.post(
        "/v1/devices",
        json={
            "public_key": base64.b64encode(device.public_key).decode(),
            "organisation": COOP,
            "site": SITE,
        },
        headers=api.headers("coop"),
    )
    assert enrolled.status_code == 201, enrolled.text
    accepted = api.client.post("/v1/events", json=device.next(body("planting")))
    assert accepted.status_code == 201, accepted.text
    return device, api.receipt(accepted)["received"]


def audit_passes(api: ResourceApi) -> bool:
    """The audit over the database: signatures, chains, validity windows, tree, checkpoints."""
    vkey = api.client.get("/v1/log/key").text.strip()
    report = Auditor(NoteVerifier.from_vkey(vkey), workers=1).run(DatabaseSource(api.engine))
    return report.ok and report.entries > 0


def verify_command(api: ResourceApi, tmp_path: Path) -> int:
    """Exit status of the real `herbtrace verify` on the app's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
    env["HERBTRACE_DATABASE_URL"] = api.settings.database_url
    env["HERBTRACE_LOG_ORIGIN"] = api.settings.log_origin
    result = support.run_herbtrace(["verify"], tmp_path, environ=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode


def test_revoking_a_device_before_its_last_entry_over_http_is_refused_and_the_audit_holds(
    db_url: str, tmp_path: Path
) -> None:
    """`at` an hour before, and exactly at, the last entry's received time: 400 naming the
    earliest allowed time, the device stays active; a time after it is taken as given; the
    audit and `herbtrace verify` pass."""
    with open_resource_api(db_url) as api:
        device, received = enrol_and_sign(api)
        last = datetime.fromisoformat(received.replace("Z", "+00:00"))
        url = f"/v1/devices/{device.key_id}/revoke"
        for at in (last - timedelta(hours=1), last):
            refused = api.client.post(url, json={"at": at.isoformat()}, headers=api.headers("coop"))
            assert refused.status_code == 400, refused.text
            assert "takes effect after it" in refused.json()["reason"]
            assert get_signer(api.engine, device.key_id).revoked_at is None
        later = last + timedelta(microseconds=1)
        taken = api.client.post(url, json={"at": later.isoformat()}, headers=api.headers("coop"))
        assert taken.status_code == 200, taken.text
        assert get_signer(api.engine, device.key_id).revoked_at == later
        refused_after = api.client.post("/v1/events", json=device.next(body("harvest")))
        assert refused_after.status_code == 422
        assert audit_passes(api)
        assert verify_command(api, tmp_path) == 0


def test_the_registry_refuses_a_backdated_revocation_on_every_path(db_url: str) -> None:
    """`revoke_signer` (which `herbtrace signer revoke`, `herbtrace device revoke` and the
    HTTP route all call) refuses a time before the last entry, and its default lies after."""
    with open_resource_api(db_url) as api:
        device, _received = enrol_and_sign(api)
        last = last_received(api.engine.connect(), device.key_id)
        assert last is not None
        with pytest.raises(InvalidInput, match="takes effect after it"):
            revoke_signer(api.engine, device.key_id, at=datetime(2020, 1, 1, tzinfo=UTC))
        revoked = revoke_signer(api.engine, device.key_id)
        assert revoked.revoked_at is not None
        assert revoked.revoked_at > last
        assert audit_passes(api)


def test_the_revoke_commands_leave_a_log_that_verifies(db_url: str, tmp_path: Path) -> None:
    """`herbtrace signer revoke` and `herbtrace device revoke`, run as real processes right
    after the signers' entries, leave a log that `herbtrace verify` passes."""
    with open_resource_api(db_url) as api:
        first, _ = enrol_and_sign(api)
        second = TestSigner()
        enrolled = api.client.post(
            "/v1/devices",
            json={
                "public_key": base64.b64encode(second.public_key).decode(),
                "organisation": COOP,
                "site": SITE,
            },
            headers=api.headers("coop"),
        )
        assert enrolled.status_code == 201, enrolled.text
        planting = body("planting", batch="FS-PL-2020-002")
        assert api.client.post("/v1/events", json=second.next(planting)).status_code == 201
        settings = api.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
        env |= {
            "HERBTRACE_DATABASE_URL": settings.database_url,
            "HERBTRACE_LOG_ORIGIN": settings.log_origin,
        }
        for args in (["signer", "revoke", first.key_id], ["device", "revoke", second.key_id]):
            done = support.run_herbtrace(args, tmp_path, environ=env)
            assert done.returncode == 0, done.stdout + done.stderr
        assert get_signer(api.engine, first.key_id).revoked_at is not None
        assert get_signer(api.engine, second.key_id).revoked_at is not None
        assert verify_command(api, tmp_path) == 0
