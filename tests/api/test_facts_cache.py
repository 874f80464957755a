"""The resolver's facts cache on real records, on both databases: answers are reused while
the log stays the same and never outlive a new entry — an event, a recall, a registration,
another process's append."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from api_support import api_settings, services_of
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from support import run_herbtrace

from api.facts_cache import FactsCache, log_size_of, records_cache
from api.main import create_app
from traceability.digital_link import DigitalLink
from traceability.domain.service import Domain
from traceability.errors import NotFound
from traceability.facts.models import ProductFacts
from traceability.facts.records import unchanged_since
from traceability.settings import Settings
from traceability.storage.db import is_sqlite, make_engine

sys.path.insert(0, str(Path(__file__).parents[1] / "domain"))  # the domain tests' story
from story import COOP, PLANT, StandInHerbs, World, body

UNIT = "/01/06901234567892/10/HS2026001/21/0001"
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
    """A client of the app on the story's database (its own engine, as another process)."""
    assert world.domain.ledger.size() > 0
    with TestClient(create_app(api_settings(settings.database_url))) as c:
        yield c


def cache_of(client: TestClient) -> FactsCache:
    """The app's facts cache (made by the first lookup)."""
    cache = services_of(client).facts.made
    assert isinstance(cache, FactsCache)
    return cache


def test_a_repeated_lookup_is_answered_from_the_cache(client: TestClient) -> None:
    """The second lookup of an unchanged log is a hit, with the same bytes as the first."""
    first = client.get(UNIT, headers=JSON)
    second = client.get(UNIT, headers=JSON)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    cache = cache_of(client)
    assert (cache.misses, cache.hits) == (1, 1)
    page = client.get(UNIT, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "长白山红参 250 g" in page.text
    assert cache.hits == 2  # the page is made from the same facts


def test_a_recall_shows_on_the_next_lookup(client: TestClient, world: World) -> None:
    """A recall recorded after the facts were cached shows at once: the log grew."""
    assert client.get(UNIT, headers=JSON).json()["status"] == "active"
    world.ok(PLANT, body("recall"), "operator")
    facts = client.get(UNIT, headers=JSON).json()
    assert facts["status"] == "recalled"
    assert facts["recall"]["reason"] == "重金属镉超标复检确认"
    assert cache_of(client).misses == 2


def test_a_new_event_on_the_unit_shows_on_the_next_lookup(client: TestClient, world: World) -> None:
    """A reading recorded on the packed batch after caching appears among the unit's steps."""
    before = client.get(UNIT, headers=JSON).json()["steps"]
    reading = body(
        "sensor_reading",
        kind="warehouse",
        readings=[{"at": "2026-10-09T08:00:00Z", "temperature_c": "15"}],
    )
    index = world.ok(PLANT, reading)
    after = client.get(UNIT, headers=JSON).json()["steps"]
    assert len(after) == len(before) + 1
    assert after[-1]["log_index"] == index
    assert after[-1]["type"] == "sensor_reading"


def test_a_registration_again_renames_at_once(client: TestClient, world: World) -> None:
    """An organisation registered again under a new English name shows it on the next lookup."""
    origin = client.get(UNIT, headers=JSON).json()["origin"]
    assert origin["organisation_en"] == "Fusong Changbaishan Ginseng Cooperative"
    renamed = body("organisation", name_en="Fusong Ginseng Growers", credit_code=None)
    world.ok(COOP, renamed, "admin")
    origin = client.get(UNIT, headers=JSON).json()["origin"]
    assert origin["organisation_en"] == "Fusong Ginseng Growers"


def test_an_unrelated_append_recomputes_the_same_facts(client: TestClient, world: World) -> None:
    """Any new entry makes the next lookup read the records again; here they say the same."""
    first = client.get(UNIT, headers=JSON).content
    other = body("organisation", id="org-other", name="其他合作社", kind="cooperative")
    world.ok(COOP, other | {"credit_code": None, "name_en": None}, "admin")
    again = client.get(UNIT, headers=JSON).content
    assert again == first
    assert cache_of(client).misses == 2


def test_an_append_elsewhere_keeps_the_facts(client: TestClient, world: World) -> None:
    """An entry on a batch outside the unit's lineage (another planting) leaves the kept facts
    standing: the next lookup checks and renews them instead of reading the records again,
    and an entry on the lineage after that is read again."""
    first = client.get(UNIT, headers=JSON).content
    world.ok(COOP, body("planting", batch="FS-PL-2021-007", planted_on="2021-04-20"))
    assert client.get(UNIT, headers=JSON).content == first
    cache = cache_of(client)
    assert (cache.misses, cache.renewed, cache.hits) == (1, 1, 0)
    assert client.get(UNIT, headers=JSON).content == first
    assert cache.hits == 1  # renewed under the new size
    world.ok(PLANT, body("recall"), "operator")
    assert client.get(UNIT, headers=JSON).json()["status"] == "recalled"
    assert (cache.misses, cache.renewed) == (2, 1)


def test_unchanged_since_looks_at_the_lineage_and_the_registrations(
    world: World, engine: Engine
) -> None:
    """unchanged_since is true only when no entry since is on a lineage batch and no
    organisation or site was registered again."""
    lineage = ["JA-HS-2026-001-P", "JA-HS-2026-001", "FS-XS-2026-001", "FS-RS-2026-001"]
    since = world.domain.ledger.size()
    assert unchanged_since(engine, since, lineage)
    world.ok(COOP, body("planting", batch="FS-PL-2021-007", planted_on="2021-04-20"))
    assert unchanged_since(engine, since, lineage)
    assert not unchanged_since(engine, since, ["FS-PL-2021-007"])
    assert not unchanged_since(engine, since, [])
    site_again = world.ok(
        COOP,
        body("site", id="site-jilin-lab", organisation="org-jilin-lab", kind="laboratory"),
        "admin",
    )
    assert not unchanged_since(engine, site_again, lineage)
    assert unchanged_since(engine, site_again + 1, lineage)
    recall = world.ok(PLANT, body("recall"), "operator")
    assert not unchanged_since(engine, recall, lineage)


def test_another_process_appending_invalidates(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    """Entries appended by another process (`herbtrace seed`) make the next lookup a miss."""
    client.get(UNIT, headers=JSON)
    size = log_size_of(services_of(client).engine)
    done = run_herbtrace(
        ["seed", "--events", "3"],
        tmp_path,
        HERBTRACE_DATABASE_URL=settings.database_url,
        HERBTRACE_LOG_ORIGIN=settings.log_origin,
    )
    assert done.returncode == 0, done.stderr
    assert log_size_of(services_of(client).engine) > size
    assert client.get(UNIT, headers=JSON).status_code == 200
    cache = cache_of(client)
    assert cache.hits == 0  # seen as grown: checked (it registers parties) and read again
    assert cache.misses == 2


def test_unknown_links_are_not_kept(client: TestClient) -> None:
    """A link naming nothing is 404 each time and takes no room in the cache."""
    for _ in range(2):
        response = client.get("/01/06901234567892/10/HS2026001/21/0009", headers=JSON)
        assert response.status_code == 404
    assert len(cache_of(client)) == 0


@pytest.mark.usefixtures("world")
def test_an_injected_lookup_is_asked_every_time(settings: Settings) -> None:
    """`create_app(facts_lookup=…)` (the tests' seam) is never cached: each request asks it."""
    asked: list[DigitalLink] = []

    def lookup(link: DigitalLink) -> ProductFacts:
        asked.append(link)
        return ProductFacts(gtin=link.gtin, lot=link.lot or "", serial=link.serial)

    app = create_app(api_settings(settings.database_url), facts_lookup=lookup)
    with TestClient(app) as client:
        for _ in range(3):
            assert client.get(UNIT, headers=JSON).json()["serial"] == "0001"
    assert len(asked) == 3


def _facts(link: DigitalLink) -> ProductFacts:
    """Stand-in facts naming the link (a unit test of the cache behind its lookup seam)."""
    if link.serial == "404":
        raise NotFound("nothing here")
    return ProductFacts(gtin=link.gtin, lot=link.lot or "", serial=link.serial)


def test_the_cache_drops_the_least_recently_used() -> None:
    """Beyond max_entries the least recently used link is dropped and looked up again."""
    calls: list[str | None] = []

    def lookup(link: DigitalLink) -> ProductFacts:
        calls.append(link.serial)
        return _facts(link)

    cache = FactsCache(lookup, lambda: 7, host="id.example.cn", max_entries=2)

    def resolve(serial: str) -> None:
        link = DigitalLink("06901234567892", lot="L1", serial=serial)
        resolved = asyncio.run(cache.resolve(link))
        assert resolved.size == 7
        assert resolved.public().uri == f"https://id.example.cn/01/06901234567892/10/L1/21/{serial}"

    for serial in ("1", "2", "1", "3", "1", "2"):
        resolve(serial)
    assert calls == ["1", "2", "3", "2"]  # "2" was the least recently used when "3" came
    assert len(cache) == 2
    with pytest.raises(NotFound):
        resolve("404")
    assert len(cache) == 2
    with pytest.raises(ValueError, match="at least 1"):
        FactsCache(lookup, None, host="h", max_entries=0)


def test_a_grown_log_replaces_the_kept_facts() -> None:
    """Facts kept at one log size are looked up again at the next, and the newer are kept."""
    size = [5]
    calls: list[int] = []

    def lookup(link: DigitalLink) -> ProductFacts:
        calls.append(size[0])
        return _facts(link)

    cache = FactsCache(lookup, lambda: size[0], host="h.example", inline_size=True)
    link = DigitalLink("06901234567892", lot="L1", serial="1")
    assert asyncio.run(cache.resolve(link)).size == 5
    size[0] = 6
    assert asyncio.run(cache.resolve(link)).size == 6
    assert asyncio.run(cache.resolve(link)).size == 6
    assert calls == [5, 6]


def test_kept_facts_are_checked_before_they_are_renewed() -> None:
    """At a grown log the cache asks `unchanged` with the size the facts were read at and
    their lineage; if true they are kept under the new size, if false read again."""
    size, verdict = [5], [True]
    asked: list[tuple[int, tuple[str, ...]]] = []
    calls: list[int] = []

    def lookup(link: DigitalLink) -> ProductFacts:
        calls.append(size[0])
        return _facts(link).model_copy(update={"lineage": ["B-2", "B-1"]})

    def unchanged(since: int, lineage: Sequence[str]) -> bool:
        asked.append((since, tuple(lineage)))
        return verdict[0]

    cache = FactsCache(lookup, lambda: size[0], host="h.example", unchanged=unchanged)
    link = DigitalLink("06901234567892", lot="L1", serial="1")
    assert asyncio.run(cache.resolve(link)).size == 5
    size[0] = 9
    assert asyncio.run(cache.resolve(link)).size == 9
    assert (calls, asked) == ([5], [(5, ("B-2", "B-1"))])
    size[0], verdict[0] = 12, False
    assert asyncio.run(cache.resolve(link)).size == 12
    assert (calls, asked[-1]) == ([5, 12], (9, ("B-2", "B-1")))
    assert (cache.hits, cache.renewed, cache.misses) == (0, 1, 2)


def test_a_link_with_nothing_kept_is_read_with_its_size_in_one_call() -> None:
    """With `sized`, a link nothing is kept for is read by one call that returns the log
    size with the facts (the size is not read apart), and kept under that size: the next
    lookup at that size is a hit, and at a larger size the kept facts are checked."""
    size = [5]
    apart: list[int] = []
    sized_calls: list[str | None] = []

    def log_size() -> int:
        apart.append(size[0])
        return size[0]

    def sized(link: DigitalLink) -> tuple[int, ProductFacts]:
        sized_calls.append(link.serial)
        return size[0], _facts(link)

    def lookup(link: DigitalLink) -> ProductFacts:
        raise AssertionError(f"{link} has nothing kept: it is read by `sized`")

    cache = FactsCache(lookup, log_size, host="h.example", sized=sized)
    link = DigitalLink("06901234567892", lot="L1", serial="1")
    assert asyncio.run(cache.resolve(link)).size == 5
    assert (sized_calls, apart) == (["1"], [])
    assert asyncio.run(cache.resolve(link)).size == 5
    assert (sized_calls, apart, cache.hits, cache.misses) == (["1"], [5], 1, 1)
    with pytest.raises(NotFound):
        asyncio.run(cache.resolve(DigitalLink("06901234567892", lot="L1", serial="404")))
    assert len(cache) == 1


def test_on_postgresql_no_lookup_waits_on_the_database_in_the_event_loop(
    settings: Settings, world: World
) -> None:
    """Every connection a lookup uses — a link read cold, a hit, kept facts checked after an
    append elsewhere — is taken in a worker thread on PostgreSQL (each statement is a round
    trip); on SQLite the loop's thread runs only the small statements of a kept link (its
    log size, and the check of kept facts after an append)."""
    engine = make_engine(settings.database_url)
    loop_thread: list[int] = []
    taken: list[int] = []
    event.listen(engine, "checkout", lambda *_: taken.append(threading.get_ident()))
    cache = records_cache(engine, settings)
    link = DigitalLink("06901234567892", lot="HS2026001", serial="0001")

    async def resolve(times: int) -> None:
        loop_thread.append(threading.get_ident())
        for _ in range(times):
            await cache.resolve(link)

    try:
        asyncio.run(resolve(2))  # cold, then a hit
        world.ok(COOP, body("planting", batch="FS-PL-2021-007", planted_on="2021-04-20"))
        asyncio.run(resolve(1))  # checked and renewed
    finally:
        engine.dispose()
    assert (cache.misses, cache.hits, cache.renewed) == (1, 1, 1)
    on_loop = sum(1 for t in taken if t in loop_thread)
    assert on_loop == (3 if is_sqlite(engine) else 0), taken
    assert len(taken) > on_loop
