"""Batch resources: list with filters and pages, one batch, its events, traces both ways."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from resource_support import COOP, PLANT, ResourceApi, open_resource_api


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    """The story up to 红参 packed into units, on SQLite and on PostgreSQL."""
    with open_resource_api(db_url) as api:
        api.world.packed()
        yield api


def _ids(response: object) -> list[str]:
    data = response.json()  # type: ignore[attr-defined]
    return [b["id"] for b in data["items"]]


def test_regulator_lists_every_batch_by_id(api: ResourceApi) -> None:
    """A regulator lists all batches in ID order, owned by both organisations."""
    response = api.get("/v1/batches")
    assert response.status_code == 200
    ids = _ids(response)
    assert ids == sorted(ids)
    assert {"FS-PL-2020-001", "FS-RS-2026-001", "JA-HS-2026-001", "JA-HS-2026-001-P"} <= set(ids)
    owners = {b["owner"] for b in response.json()["items"]}
    assert owners == {COOP, PLANT}


def test_filters_narrow_the_list(api: ResourceApi) -> None:
    """herb, status, owner, custodian and site each narrow the list to matching batches."""
    assert _ids(api.get("/v1/batches", owner=PLANT)) == [
        "JA-HS-2026-001",
        "JA-HS-2026-001-A",
        "JA-HS-2026-001-B",
        "JA-HS-2026-001-P",
    ]
    held = api.get("/v1/batches", custodian=PLANT).json()["items"]
    assert "FS-XS-2026-001" in [b["id"] for b in held]  # shipped to the plant, owned by coop
    assert all(b["custodian"] == PLANT for b in held)
    assert _ids(api.get("/v1/batches", site="site-fusong-wanliang"))[0] == "FS-PL-2020-001"
    assert _ids(api.get("/v1/batches", herb="lurong")) == []
    consumed = api.get("/v1/batches", status="consumed").json()["items"]
    assert consumed
    assert all(b["status"] == "consumed" for b in consumed)


def test_pages_follow_next_after(api: ResourceApi) -> None:
    """Pages of two, followed by next_after, give every batch once, in order."""
    everything = _ids(api.get("/v1/batches", limit=500))
    seen: list[str] = []
    after = None
    while True:
        params = {"limit": 2} | ({"after": after} if after else {})
        page = api.get("/v1/batches", **params).json()
        seen.extend(b["id"] for b in page["items"])
        after = page["next_after"]
        if after is None:
            break
    assert seen == everything
    assert len(everything) > 2


def test_operator_lists_only_its_own_organisation(api: ResourceApi) -> None:
    """An operator lists the batches its organisation owns or holds, and is refused (403)
    when it names another organisation or none."""
    mine = api.get("/v1/batches", "plant", organisation=PLANT).json()["items"]
    assert mine
    assert all(PLANT in (b["owner"], b["custodian"]) for b in mine)
    assert api.get("/v1/batches", "plant", owner=PLANT).status_code == 200
    for params in ({"organisation": COOP}, {"owner": COOP}, {}):
        refused = api.get("/v1/batches", "plant", **params)
        assert refused.status_code == 403
        assert refused.json()["error"] == "forbidden"
    assert api.client.get("/v1/batches").status_code == 401


def test_bad_filters_are_refused_with_a_reason(api: ResourceApi) -> None:
    """A bad status, limit or ID pattern is a 422 JSON error naming the parameter."""
    for params in ({"status": "lost"}, {"limit": 0}, {"owner": "bad id!"}):
        response = api.get("/v1/batches", **params)
        assert response.status_code == 422
        assert response.json()["error"] == "request_validation_error"
        assert next(iter(params)) in response.json()["reason"]


def test_one_batch_is_public(api: ResourceApi) -> None:
    """Anyone reads a batch: herb, quantities, owner, custodian, status; 404 when unknown."""
    response = api.client.get("/v1/batches/JA-HS-2026-001")
    assert response.status_code == 200
    batch = response.json()
    assert (batch["herb"], batch["owner"], batch["kind"]) == ("renshen", PLANT, "processed")
    assert batch["quality"] == "passed"
    missing = api.client.get("/v1/batches/NO-SUCH")
    assert missing.status_code == 404
    assert "NO-SUCH" in missing.json()["reason"]


def test_batch_events_carry_their_signed_bodies(api: ResourceApi) -> None:
    """A batch's events come in log order with their bodies, paged by log index."""
    events = api.client.get("/v1/batches/FS-RS-2026-001/events").json()
    types = [e["type"] for e in events["items"]]
    assert types[0] == "harvest"
    assert events["items"][0]["body"]["quantity"] == {"value": "180.500", "unit": "kg"}
    indices = [e["index"] for e in events["items"]]
    assert indices == sorted(indices)
    first = api.client.get("/v1/batches/FS-RS-2026-001/events?limit=1").json()
    assert [e["index"] for e in first["items"]] == indices[:1]
    assert first["next_after"] == indices[0]
    rest = api.client.get(f"/v1/batches/FS-RS-2026-001/events?after={indices[0]}").json()
    assert [e["index"] for e in rest["items"]] == indices[1:]
    assert api.client.get("/v1/batches/NO-SUCH/events").status_code == 404


def test_traces_walk_back_to_origins_and_forward_to_units(api: ResourceApi) -> None:
    """Backward from the packed batch reaches the planting; forward from the harvest
    reaches the three packed units."""
    back = api.client.get("/v1/batches/JA-HS-2026-001-P/trace?direction=backward").json()
    assert back["direction"] == "backward"
    assert [o["id"] for o in back["origins"]] == ["FS-PL-2020-001"]
    assert {"planting", "harvest", "processing", "pack"} <= {e["type"] for e in back["events"]}
    forward = api.client.get("/v1/batches/FS-RS-2026-001/trace?direction=forward").json()
    assert sorted(u["serial"] for u in forward["units"]) == ["0001", "0002", "0003"]
    assert "JA-HS-2026-001-P" in {b["id"] for b in forward["batches"]}
    assert api.client.get("/v1/batches/FS-RS-2026-001/trace?direction=up").status_code == 422
    assert api.client.get("/v1/batches/NO-SUCH/trace").status_code == 404
