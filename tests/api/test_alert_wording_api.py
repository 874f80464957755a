"""GET /v1/alerts words each alert for a Chinese regulator in `zh`, beside its machine fields."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from domain.story import LAB, PLANT
from resource_support import COOP, ResourceApi, open_resource_api

SENSOR = "jian-logger-07"
BATCH = "JA-HS-2026-001"


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    """The 红参 story with a cold-chain excursion, a failed test, a device gap and an equivocation
    (worded from its evidence alone)."""
    with open_resource_api(db_url) as api:
        api.world.red_ginseng()
        domain = api.domain
        domain.raise_alert(
            "cold_chain",
            "warning",
            f"sensor {SENSOR}: batch {BATCH} (renshen) out of its storage range from "
            "2026-10-12T03:00:00Z to 2026-10-12T03:40:00Z (40 min, tolerance 30 min): "
            "23.5 °C above 20 °C",
            batch=BATCH,
            subject=SENSOR,
            evidence={
                "sensor": SENSOR,
                "since": "2026-10-12T03:00:00.000000Z",
                "until": "2026-10-12T03:40:00Z",
                "minutes": 40,
                "tolerance_minutes": 30,
                "reading": "23.5 °C above 20 °C",
            },
        )
        domain.raise_alert(
            "quality_failed",
            "critical",
            f"laboratory {LAB} reported fail for {BATCH} (report R-1): moisture 13.4 % breaks "
            "the limit max 12.0 %",
            batch=BATCH,
            evidence={
                "lab": LAB,
                "report_no": "R-1",
                "lab_result": "fail",
                "moisture": "13.4 % (limit max 12.0 %)",
            },
        )
        domain.raise_alert(
            "device_gap",
            "warning",
            "device d-7: sequence numbers 4-6 are missing before 7",
            subject="d-7",
            evidence={"device": "d-7", "missing_from": 4, "missing_to": 6, "next_seq": 7},
        )
        domain.raise_alert("equivocation", "info", "two seq 3", subject=COOP, evidence={"x": 1})
        yield api


def _alerts(api: ResourceApi) -> dict[str, dict[str, object]]:
    return {a["kind"]: a for a in api.get("/v1/alerts").json()["items"]}


def _name(api: ResourceApi, org: str) -> str:
    return str(api.get(f"/v1/organisations/{org}").json()["name"])


def test_a_cold_chain_alert_names_the_herb_holder_and_beijing_time(api: ResourceApi) -> None:
    """The excursion is told with the herb's Chinese name, Beijing time to the minute, the
    reading and limit with units, and whom to call; the machine fields stay as logged."""
    cold = _alerts(api)["cold_chain"]
    zh = cold["zh"]
    assert isinstance(zh, dict)
    summary = str(zh["summary"])
    assert "人参" in summary
    assert "2026-10-12 11:00 至 2026-10-12 11:40（北京时间）持续 40 分钟" in summary
    assert "温度 23.5 °C，高于上限 20 °C" in summary
    assert "允许偏离 30 分钟" in summary
    assert not re.search(r"\d{2}:\d{2}:\d{2}|T\d{2}:|Z\b|\.0{6}", summary)
    assert _name(api, PLANT) in str(zh["action"])
    assert zh["title"] == "储存温湿度超限"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", str(zh["raised_at"]))
    assert str(cold["detail"]).startswith(f"sensor {SENSOR}")
    assert cold["evidence"] == {
        "sensor": SENSOR,
        "since": "2026-10-12T03:00:00.000000Z",
        "until": "2026-10-12T03:40:00Z",
        "minutes": 40,
        "tolerance_minutes": 30,
        "reading": "23.5 °C above 20 °C",
    }


def test_a_failed_test_names_the_laboratory_item_and_pharmacopoeia_bound(
    api: ResourceApi,
) -> None:
    """The laboratory by its registered name, the item by the catalogue's Chinese name, the
    limit in the pharmacopoeia's words, and what follows for the batch."""
    zh = _alerts(api)["quality_failed"]["zh"]
    assert isinstance(zh, dict)
    summary = str(zh["summary"])
    assert _name(api, LAB) in summary
    assert LAB not in summary
    assert "水分 13.4 %（标准：不得过 12.0 %）" in summary
    assert "报告编号 R-1" in summary
    assert "不得包装、发运或销售" in str(zh["action"])


def test_a_device_gap_and_an_equivocation_are_worded_without_losing_evidence(
    api: ResourceApi,
) -> None:
    """A device gap says which records are missing; a kind without its own sentence
    (equivocation) still lists its evidence rather than showing nothing."""
    alerts = _alerts(api)
    gap = alerts["device_gap"]["zh"]
    assert isinstance(gap, dict)
    assert "设备 d-7 的记录序号 4–6 缺失" in str(gap["summary"])
    novel = alerts["equivocation"]["zh"]
    assert isinstance(novel, dict)
    assert "x：1" in str(novel["summary"])


def test_one_alert_is_worded_as_in_the_list(api: ResourceApi) -> None:
    """GET /v1/alerts/{id} answers the same wording as the list."""
    cold = _alerts(api)["cold_chain"]
    assert api.get(f"/v1/alerts/{cold['id']}").json() == cold
