"""The resolver on real supply-chain records, on both databases: a packed 红参 unit resolves to
its origin, steps and recall, and the public never sees who signed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from api_support import api_settings
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.main import create_app
from traceability.digital_link import DigitalLink
from traceability.domain.service import Domain
from traceability.facts.entries import EntryPayloads
from traceability.facts.records import record_facts, records_lookup
from traceability.settings import Settings

sys.path.insert(0, str(Path(__file__).parents[1] / "domain"))  # the domain tests' story
from story import PLANT, StandInHerbs, World, body

HOST = "id.example.cn"
UNIT = "/01/06901234567892/10/HS2026001/21/0001"
BATCH = "/01/06901234567892/10/HS2026001"
JSON = {"Accept": "application/json"}


@pytest.fixture(name="world")
def _world(settings: Settings, engine: Engine) -> Iterator[World]:
    """The domain story up to three packed units of 长白山红参 250 g, on the test's database."""
    domain = Domain(settings, engine, herbs=StandInHerbs())
    world = World(domain)
    world.register_all()
    world.packed()
    yield world
    domain.close()


@pytest.fixture(name="client")
def _client(settings: Settings, world: World) -> Iterator[TestClient]:
    """A client of the app on the story's database, answering from the records."""
    assert world.domain.ledger.size() > 0
    with TestClient(create_app(api_settings(settings.database_url, digital_link_host=HOST))) as c:
        yield c


def test_unit_resolves_to_its_origin_and_history(client: TestClient) -> None:
    """The unit's JSON names the product, its planting base (coarsened), harvest and steps."""
    response = client.get(UNIT, headers=JSON)
    assert response.status_code == 200, response.text
    facts = response.json()
    assert facts["uri"] == f"https://{HOST}{UNIT}"
    assert (facts["product_name"], facts["herb"], facts["status"]) == (
        "长白山红参 250 g",
        "renshen",
        "active",
    )
    assert facts["origin"] == {
        "site_name": "万良镇林下参基地",
        "organisation": "抚松县长白山人参种植专业合作社",
        "organisation_en": "Fusong Changbaishan Ginseng Cooperative",
        "region": {"province": "吉林省", "city": "白山市", "county": "抚松县"},
        "location": {"lat": "42.3", "lon": "127.5"},
        "gap_status": "certified",
        "harvested_on": "2026-09-15",
        "growing_years": 6,
    }
    types = [s["type"] for s in facts["steps"]]
    assert types == [
        "planting",
        "harvest",
        "fresh_processing",
        "ship",
        "receive",
        "processing",
        "quality_test",
        "split",
        "pack",
    ]
    processing = facts["steps"][types.index("processing")]
    assert processing["on"] == "2026-09-20"
    assert processing["summary"] == "steaming, drying → 红参"
    indices = [s["log_index"] for s in facts["steps"]]
    assert indices == sorted(indices)


def test_no_signer_names_or_exact_places_reach_the_public(client: TestClient, world: World) -> None:
    """Neither the JSON nor the page carries a signer's name or the base's exact coordinates."""
    names = [f"test {s.key_id[:6]}" for s in world.signers.values()]
    for accept in ("application/json", "text/html"):
        text = client.get(UNIT, headers={"Accept": accept}).text
        assert "万良镇林下参基地" in text
        for secret in (*names, "42.2816", "127.5012"):
            assert secret not in text


def test_batch_link_resolves_to_the_packed_batch(client: TestClient) -> None:
    """The lot's link resolves to the same history as its units, without a serial."""
    batch = client.get(BATCH, headers=JSON).json()
    unit = client.get(UNIT, headers=JSON).json()
    assert batch["serial"] is None
    assert batch["steps"] == unit["steps"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/01/06901234567892/10/OTHERLOT/21/0001", "no unit is recorded under"),
        ("/01/06901234567892/10/HS2026001/21/0009", "no unit is recorded under"),
        ("/01/06901234567892/10/OTHERLOT", "no batch is recorded under"),
        ("/01/00000000000000/10/HS2026001", "no batch is recorded under"),
    ],
)
def test_unrecorded_links_are_404(client: TestClient, path: str, reason: str) -> None:
    """A valid link under which nothing is recorded gets 404 with a reason."""
    response = client.get(path, headers=JSON)
    assert response.status_code == 404
    assert reason in response.json()["reason"]


def test_a_recall_upstream_shows_on_the_unit(client: TestClient, world: World) -> None:
    """Once the 红参 batch is recalled, its packed unit resolves as recalled, with the reason."""
    world.ok(PLANT, body("recall"), "operator")
    facts = client.get(UNIT, headers=JSON).json()
    assert facts["status"] == "recalled"
    assert facts["recall"]["level"] == "II"
    assert facts["recall"]["reason"] == "重金属镉超标复检确认"
    page = client.get(UNIT, headers={"Accept": "text/html"}).text
    assert 'id="product-verdict" data-verdict="recalled" role="alert"' in page
    assert "二级召回" in page
    assert "重金属镉超标复检确认" in page


def test_decoded_payloads_are_kept_and_give_the_same_facts(world: World) -> None:
    """Entries decoded once are served again as they were; facts built from them are equal."""
    engine = world.domain.engine
    kept = EntryPayloads(max_entries=3)
    with engine.connect() as conn:
        first = kept.read(conn, [0, 1, 2])
        again = kept.read(conn, [2, 1, 0])
        assert all(again[i] is first[i] for i in (0, 1, 2))  # not decoded a second time
        fresh = EntryPayloads().read(conn, [0, 1, 2, 3])
        assert fresh == first | {3: fresh[3]}
        assert kept.read(conn, [3])[3] == fresh[3]  # drops 2, the least recently used
        assert kept.read(conn, [0])[0] is first[0]
        assert kept.read(conn, [2])[2] is not first[2]  # decoded anew
    link = DigitalLink("06901234567892", lot="HS2026001", serial="0001")
    shared = EntryPayloads()
    assert record_facts(engine, link, kept=shared) == record_facts(engine, link)
    assert record_facts(engine, link, kept=shared) == record_facts(engine, link)


def test_a_batchs_lineage_facts_serve_its_other_units_until_its_lineage_changes(
    world: World,
) -> None:
    """The lookup keeps a packed batch's lineage facts: another unit of the batch is answered
    from them, the same as read afresh; after a recall upstream they are read again."""
    engine = world.domain.engine
    lookup = records_lookup(engine)
    batch = DigitalLink("06901234567892", lot="HS2026001")
    first, second = (replace(batch, serial=s) for s in ("0001", "0002"))
    one = lookup(first)
    assert one == record_facts(engine, first)
    two = lookup(second)
    assert two == record_facts(engine, second)
    assert two.steps[0] is one.steps[0]  # from the kept lineage facts
    assert lookup(batch) == record_facts(engine, batch)
    world.ok(PLANT, body("recall"), "operator")
    recalled = lookup(second)
    assert recalled == record_facts(engine, second)
    assert recalled.recall is not None
    assert recalled.steps[0] is not one.steps[0]  # read again
    assert lookup(first).steps[0] is recalled.steps[0]


def test_the_lookup_tells_the_log_size_it_read_the_facts_at(world: World) -> None:
    """`sized` returns the log's size with the same facts the lookup returns: a unit's facts
    read after the recall come with the size the recall made."""
    engine = world.domain.engine
    lookup = records_lookup(engine)
    unit = DigitalLink("06901234567892", lot="HS2026001", serial="0001")
    size, facts = lookup.sized(unit)
    assert (size, facts) == (world.domain.ledger.size(), record_facts(engine, unit))
    world.ok(PLANT, body("recall"), "operator")
    size, facts = lookup.sized(unit)
    assert size == world.domain.ledger.size()
    assert facts.recall is not None
