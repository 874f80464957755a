"""A batch's lineage says what a recall reaches: who holds the goods and how much, who sold
units and how many, the same before the recall as after it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from domain.story import PHARMACY, PLANT, body
from resource_support import ResourceApi, open_resource_api

BATCH, PACKED = "JA-HS-2026-001", "JA-HS-2026-001-P"


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    """红参 packed into three units, shipped to the pharmacy, one unit (0002) sold there."""
    with open_resource_api(db_url) as api:
        world = api.world
        world.packed()
        world.ok(PLANT, body("ship", carrier=None))
        world.ok(PHARMACY, body("receive"))
        world.ok(PHARMACY, body("retail_sale"))
        yield api


def _reach(api: ResourceApi) -> dict[str, Any]:
    reach: dict[str, Any] = api.get(f"/v1/batches/{BATCH}/lineage").json()["reach"]
    return reach


def test_the_reach_names_holders_and_sellers_and_keeps_its_counts_through_the_recall(
    api: ResourceApi,
) -> None:
    """Before: 4 batches, 3 units, 1 sold by the pharmacy, 2 unsold there, the rest of the
    split material at the plant. After the recall: the same holders, sellers and counts,
    and every unit recalled (a sold unit stays counted as sold)."""
    pharmacy = api.get(f"/v1/organisations/{PHARMACY}").json()["name"]
    before = _reach(api)
    assert {k: before[k] for k in ("batches", "units", "sold", "unsold", "recalled")} == {
        "batches": 4,
        "units": 3,
        "sold": 1,
        "unsold": 2,
        "recalled": 0,
    }
    assert [(s["organisation"], s["name"], s["batch"], s["units"]) for s in before["sellers"]] == [
        (PHARMACY, pharmacy, PACKED, 1)
    ]
    held = {(h["organisation"], h["batch"]): (h["quantity"], h["unit"]) for h in before["holders"]}
    assert held[(PHARMACY, PACKED)] == ("2", "piece")
    assert all(org == PLANT for org, batch in held if batch != PACKED)

    recall = {"batch": BATCH, "level": "II", "reason": "镉超标复检确认"}
    posted = api.client.post("/v1/recalls", json=recall, headers=api.headers("regulator"))
    assert posted.status_code == 201, posted.text
    after = _reach(api)
    assert after == {**before, "recalled": 3}
    lineage = api.get(f"/v1/batches/{BATCH}/lineage").json()
    [tally] = lineage["units"]
    assert (tally["sold"], tally["recalled"], tally["by_status"]) == (1, 3, {"recalled": 3})


def test_lineage_nodes_and_links_carry_their_chinese_words(api: ResourceApi) -> None:
    """Every batch kind, status and event is given in Chinese; a split is 分批."""
    lineage = api.get(f"/v1/batches/{BATCH}/lineage").json()
    kinds = {n["kind"]: n["kind_zh"] for n in lineage["nodes"]}
    assert kinds["split"] == "分批"
    assert kinds["packed"] == "包装"
    assert all(n["status_zh"] in {"在库", "已用完", "已召回"} for n in lineage["nodes"])
    events = {link["event"]: link["event_zh"] for link in lineage["links"]}
    assert events["split"] == "分批"
    assert all(link["event_zh"] != link["event"] for link in lineage["links"])
