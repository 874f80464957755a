"""GET /v1/alerts: every alert for regulators, an organisation's own for its operators."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from resource_support import COOP, PLANT, ResourceApi, open_resource_api


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    """The 红参 story and three alerts: one on the plant's batch, two about the cooperative."""
    with open_resource_api(db_url) as api:
        api.world.red_ginseng()
        domain = api.domain
        domain.raise_alert("cold_chain", "warning", "9.5 °C for 40 min", batch="JA-HS-2026-001")
        domain.raise_alert("device_gap", "info", "seq 4–6 missing", subject=COOP)
        domain.raise_alert("counterfeit_scan", "critical", "unknown serial", batch="FS-RS-2026-001")
        yield api


def _kinds(response: object) -> list[str]:
    return [a["kind"] for a in response.json()["items"]]  # type: ignore[attr-defined]


def test_regulator_sees_every_alert_newest_first(api: ResourceApi) -> None:
    """A regulator lists the three alerts, newest first, each already logged."""
    response = api.get("/v1/alerts")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [a["kind"] for a in items] == ["counterfeit_scan", "device_gap", "cold_chain"]
    assert all(a["logged_index"] is not None for a in items)
    stamps = [(a["raised_at"], a["id"]) for a in items]
    assert stamps == sorted(stamps, reverse=True)


def test_filters_and_pages(api: ResourceApi) -> None:
    """kind, severity and batch filter; pages of one follow next_after to the oldest."""
    assert _kinds(api.get("/v1/alerts", severity="critical")) == ["counterfeit_scan"]
    assert _kinds(api.get("/v1/alerts", kind="cold_chain")) == ["cold_chain"]
    assert _kinds(api.get("/v1/alerts", batch="JA-HS-2026-001")) == ["cold_chain"]
    seen, after = [], None
    while True:
        page = api.get("/v1/alerts", limit=1, **({"after": after} if after else {})).json()
        seen += [a["kind"] for a in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == ["counterfeit_scan", "device_gap", "cold_chain"]
    bad = api.get("/v1/alerts", after="AX-nothing")
    assert bad.status_code == 400
    assert "AX-nothing" in bad.json()["reason"]


def test_operators_see_only_alerts_about_their_organisation(api: ResourceApi) -> None:
    """The cooperative's operator sees the gap (its subject) and the scan (its batch); the
    plant's sees the cold-chain alert on its batch; naming another organisation is 403."""
    coop = api.get("/v1/alerts", "coop", organisation=COOP)
    assert coop.status_code == 200
    assert _kinds(coop) == ["counterfeit_scan", "device_gap"]
    assert _kinds(api.get("/v1/alerts", "plant", organisation=PLANT)) == ["cold_chain"]
    assert api.get("/v1/alerts", "plant", organisation=COOP).status_code == 403
    assert api.get("/v1/alerts", "plant").status_code == 403
    assert api.client.get("/v1/alerts").status_code == 401


def test_one_alert_for_its_organisation_only(api: ResourceApi) -> None:
    """One alert: regulators read it; an operator reads it only for an organisation it is
    about; an unknown alert is 404 with a reason."""
    (cold,) = api.get("/v1/alerts", kind="cold_chain").json()["items"]
    url = f"/v1/alerts/{cold['id']}"
    assert api.get(url).json() == cold
    assert api.get(url, "plant", organisation=PLANT).json()["id"] == cold["id"]
    assert api.get(url, "coop", organisation=COOP).status_code == 403
    missing = api.get("/v1/alerts/AX-none")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
