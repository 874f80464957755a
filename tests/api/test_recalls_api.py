"""POST /v1/recalls: a regulator recalls a batch; the office key signs it into the log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from resource_support import COOP, PLANT, ResourceApi, open_resource_api

from traceability.envelope import parse_envelope, verify_envelope
from traceability.keys import load_public_key
from traceability.log.signers import get_signer


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    """The story up to 红参 packed into three units, on SQLite and on PostgreSQL."""
    with open_resource_api(db_url) as api:
        api.world.packed()
        yield api


RECALL = {"batch": "JA-HS-2026-001", "level": "II", "reason": "镉超标复检确认"}


def test_regulator_recall_reaches_everything_downstream(api: ResourceApi) -> None:
    """The recall is logged, signed by the regulator office key (a `regulator` signer),
    names the regulator by user ID, and marks the batch, its children and units recalled."""
    response = api.client.post("/v1/recalls", json=RECALL, headers=api.headers("regulator"))
    assert response.status_code == 201, response.text
    recall = response.json()
    assert recall["reason"] == "镉超标复检确认 [regulator #3]"
    assert recall["regulator"] == "reg"
    assert set(recall["batches"]) == {
        "JA-HS-2026-001",
        "JA-HS-2026-001-A",
        "JA-HS-2026-001-B",
        "JA-HS-2026-001-P",
    }
    assert recall["units"] == 3
    entry = api.domain.ledger.entry(recall["index"])[2]
    assert entry.payload()["body"]["type"] == "recall"
    parsed = parse_envelope(recall["envelope"])
    office = get_signer(api.engine, recall["signer"])
    assert (office.role, office.organisation) == ("regulator", "regulator-office")
    verify_envelope(parsed, load_public_key(office.public_key))
    for batch in recall["batches"]:
        assert api.client.get(f"/v1/batches/{batch}").json()["status"] == "recalled"
    listed = api.get("/v1/recalls").json()["items"]
    assert [(r["index"], r["batch"]) for r in listed] == [(recall["index"], "JA-HS-2026-001")]
    assert api.get("/v1/recalls", "plant", organisation=PLANT).json()["items"] == listed


def test_a_second_recall_is_refused_and_signs_nothing(api: ResourceApi) -> None:
    """Recalling a recalled batch is 409 with the reason, and the log does not grow."""
    headers = api.headers("regulator")
    assert api.client.post("/v1/recalls", json=RECALL, headers=headers).status_code == 201
    size = api.domain.ledger.size()
    again = api.client.post("/v1/recalls", json=RECALL, headers=headers)
    assert again.status_code == 409
    assert "recalled" in again.json()["reason"]
    assert api.domain.ledger.size() == size


def test_only_regulators_recall(api: ResourceApi) -> None:
    """Operators (even the owner's), admins and anonymous callers may not use this route."""
    for who, status in (("plant", 403), ("admin", 403), ("operator_a", 403), ("anonymous", 401)):
        response = api.client.post("/v1/recalls", json=RECALL, headers=api.headers(who))
        assert response.status_code == status
    assert api.client.get("/v1/batches/JA-HS-2026-001").json()["status"] != "recalled"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"batch": "NO-SUCH"}, 404),
        ({"level": "IV"}, 422),
        ({"reason": ""}, 422),
        ({"reason": "x" * 161}, 422),
        ({"extra": 1}, 422),
    ],
    ids=["unknown-batch", "bad-level", "no-reason", "long-reason", "extra-field"],
)
def test_bad_recalls_are_refused_and_nothing_is_logged(
    api: ResourceApi, change: dict[str, object], status: int
) -> None:
    """Bad recall requests get a JSON error with a reason and leave the log as it was."""
    size = api.domain.ledger.size()
    response = api.client.post(
        "/v1/recalls", json=RECALL | change, headers=api.headers("regulator")
    )
    assert response.status_code == status
    assert response.json()["reason"]
    assert api.domain.ledger.size() == size
    assert api.get("/v1/recalls").json()["items"] == []


def test_recall_list_for_an_unreached_organisation_is_empty(api: ResourceApi) -> None:
    """The cooperative's operator lists recalls reaching its batches: none for the 红参."""
    api.client.post("/v1/recalls", json=RECALL, headers=api.headers("regulator"))
    assert api.get("/v1/recalls", "coop", organisation=COOP).json()["items"] == []
    assert api.get("/v1/recalls", "coop", organisation=PLANT).status_code == 403
