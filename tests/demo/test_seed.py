"""Seeding real databases: every demo event passes the domain rules, and seeds continue."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import pytest
import sqlalchemy as sa
from read_support import read
from sqlalchemy.engine import Engine
from support import TestSigner, run_herbtrace, settings_for

from traceability.demo import SIGNERS, events_from, seed_events
from traceability.demo import parties as p
from traceability.demo.ginseng import RED_GINSENG_GTIN, ginseng
from traceability.demo.places import ORGANISATIONS
from traceability.demo.seed import DEMO_KEY_LABEL
from traceability.demo.story import serials
from traceability.domain.alerts import list_alerts
from traceability.domain.batches import read_batch
from traceability.domain.lineage import trace_unit
from traceability.domain.service import Domain
from traceability.domain.units import batch_units, get_unit
from traceability.errors import ConfigurationError, InvalidInput
from traceability.ledger import Ledger, initialise
from traceability.log.audit import Auditor
from traceability.log.audit_sources import DatabaseSource
from traceability.log.results import AppendResult
from traceability.log.signers import list_signers

DEMO_KEY_IDS = sorted(s.key_id for s in SIGNERS)


def open_domain(url: str) -> Domain:
    """A Domain on a freshly initialised database at `url`."""
    settings = settings_for(url)
    initialise(settings)
    return Domain(settings)


@pytest.fixture(name="domain")
def _domain(sqlite_url: str) -> Iterator[Domain]:
    """The Domain on a fresh SQLite database."""
    domain = open_domain(sqlite_url)
    yield domain
    domain.close()


def demo_entries(engine: Engine) -> list[bytes]:
    """The envelope hashes of the demo signers' entries, in log order."""
    t = sa.table("log_entries", sa.column("idx"), sa.column("signer"), sa.column("envelope_hash"))
    query = sa.select(t.c.envelope_hash).where(t.c.signer.in_(DEMO_KEY_IDS)).order_by(t.c.idx)
    with engine.connect() as conn:
        return [bytes(h) for h in conn.execute(query).scalars()]


def refused(results: list[AppendResult]) -> list[AppendResult]:
    """The results that are not `accepted`."""
    return [r for r in results if r.status != "accepted"]


def expected_alerts(count: int) -> Counter[str]:
    """The alerts the first `count` demo events should raise, read off the events: a failed
    test each, a cold-chain excursion (a reading above 20 °C) each, a recall each."""
    out: Counter[str] = Counter()
    for e in islice(events_from(0), count):
        body = e.body
        if body["type"] == "quality_test" and body["result"] == "fail":
            out["quality_failed"] += 1
        if body["type"] == "sensor_reading" and body["kind"] == "cold_chain":
            out["cold_chain"] += any(float(r["temperature_c"]) > 20 for r in body["readings"])
        if body["type"] == "recall":
            out["recalled_batch"] += 1
    return out


def check_seeded(domain: Domain, count: int) -> None:
    """Seed `count` events through the rules; all are accepted, and the alerts, the retested
    batch and the recalled units are what the stories tell."""
    results = seed_events(domain, count)
    assert len(results) == count
    assert refused(results) == []
    alerts = Counter(a.kind for a in read(domain.engine, list_alerts, limit=1000))
    assert alerts == expected_alerts(count)
    assert domain.ledger.size() == count + sum(alerts.values())
    if count >= 200:
        # failed, then retested
        assert read(domain.engine, read_batch, "JA-HS-2026-00000").quality == "passed"
        assert read(domain.engine, read_batch, "JA-HS-2026-00002-P").status == "recalled"
        assert {u.status for u in read(domain.engine, batch_units, "JA-HS-2026-00002-P")} == {
            "recalled"
        }


def test_a_few_hundred_demo_events_are_all_accepted_on_sqlite(domain: Domain) -> None:
    """400 demo events through the domain rules on SQLite: every one accepted, every expected
    alert raised (failed tests, a cold-chain excursion, a recall of sold units) and no other."""
    check_seeded(domain, 400)
    assert expected_alerts(400).keys() == {"quality_failed", "cold_chain", "recalled_batch"}


def test_a_sold_box_traces_back_to_its_planting(domain: Domain) -> None:
    """A box of 红参 sold in 长春 traces back through every step of its story to the one
    planting at 抚松 it came from, six years earlier."""
    assert refused(seed_events(domain, 130)) == []
    box = serials("RS", 1, 1)[0]
    assert read(domain.engine, get_unit, RED_GINSENG_GTIN, box).status == "sold"
    trace = read(domain.engine, trace_unit, RED_GINSENG_GTIN, box)
    assert [(o.id, o.origin_site) for o in trace.origins] == [("FS-PL-2020-00001", p.FUSONG_BASE)]
    steps = {e.type for e in trace.events}
    assert steps >= {"planting", "cultivation_input", "harvest", "fresh_processing", "ship",
                     "receive", "processing", "quality_test", "split", "pack"}  # fmt: skip
    packed = read(domain.engine, read_batch, "JA-HS-2026-00001-P")
    planted = ginseng(1).events[0].body["planted_on"]
    assert (packed.herb, packed.growing_years, packed.planted_on) == ("renshen", 6, planted)


@pytest.mark.postgres
def test_demo_events_are_all_accepted_on_postgres(postgres_url: str) -> None:
    """250 demo events through the domain rules on PostgreSQL: every one accepted."""
    domain = open_domain(postgres_url)
    try:
        check_seeded(domain, 250)
    finally:
        domain.close()


def test_two_seeds_continue_the_chains_as_one(domain: Domain, tmp_path: Path) -> None:
    """Seeding 130 then 170 events (stopping mid-story) appends exactly the envelopes one
    seed of 300 appends to a plain ledger: same bytes, same order, each chain continued; the
    log then passes a full audit."""
    first, second = seed_events(domain, 130), seed_events(domain, 170)
    assert refused(first + second) == []
    settings = settings_for(f"sqlite:///{tmp_path}/plain.db")
    initialise(settings)
    with Ledger(settings) as plain:
        assert refused(seed_events(plain, 300)) == []
        assert demo_entries(domain.engine) == demo_entries(plain.engine)
    assert len(demo_entries(domain.engine)) == 300
    assert Auditor(domain.ledger.verifier, 1).run(DatabaseSource(domain.engine)).ok


def test_a_log_with_other_demo_history_is_refused_whole(sqlite_ledger: Ledger) -> None:
    """When a demo key has signed something that is not the demo's story (another version,
    say), seeding refuses with a ConfigurationError naming the signer and appends nothing."""
    stray = TestSigner(key=p.FUSONG.key)
    seed_events(sqlite_ledger, 0)  # registers the demo signers only
    assert refused(sqlite_ledger.append([stray.next()])) == []
    with pytest.raises(ConfigurationError, match=r"fusong \(\w+\) has 1 \(the stories give it 0\)"):
        seed_events(sqlite_ledger, 25)
    assert sqlite_ledger.size() == 1


def test_a_negative_count_is_refused(sqlite_ledger: Ledger) -> None:
    """A negative number of events is invalid input, and nothing is appended."""
    with pytest.raises(InvalidInput, match="cannot be negative"):
        seed_events(sqlite_ledger, -1)
    assert sqlite_ledger.size() == 0


def test_the_first_events_register_every_organisation(domain: Domain) -> None:
    """The first events register every demo organisation, which the rules then index with
    its kind; every demo signer is registered under its organisation, marked a demo key."""
    seed_events(domain, len(ORGANISATIONS))
    t = sa.table("organisations", sa.column("id"), sa.column("kind"))
    with domain.engine.connect() as conn:
        kinds = dict(conn.execute(sa.select(t.c.id, t.c.kind)).all())
    assert kinds == {o["id"]: o["kind"] for o in ORGANISATIONS}
    registered = {str(s.key_id): s for s in list_signers(domain.engine)}
    for s in SIGNERS:
        assert registered[s.key_id].organisation == s.organisation
        assert registered[s.key_id].name.endswith(DEMO_KEY_LABEL)


def test_herbtrace_seed_twice_then_verify(tmp_path: Path) -> None:
    """`herbtrace seed --events 90`, run twice as real processes, appends 180 demo events
    (plus the rules' alerts), and `herbtrace verify` then passes over the whole log."""
    url = f"sqlite:///{tmp_path}/cli.db"
    for _ in range(2):
        seeded = run_herbtrace(["seed", "--events", "90"], tmp_path, HERBTRACE_DATABASE_URL=url)
        assert seeded.returncode == 0, seeded.stderr
        assert "appended 90 of 90 events" in seeded.stdout
    size = int(re.findall(r"log size (\d+)", seeded.stdout)[0])
    assert size == 180 + sum(expected_alerts(180).values())
    verified = run_herbtrace(["verify"], tmp_path, HERBTRACE_DATABASE_URL=url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"checked {size} entries" in verified.stdout
