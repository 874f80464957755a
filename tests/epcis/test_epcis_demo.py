"""EPCIS against the demo seed: batch exports hold exactly the lineage's events, and a whole
export imports into a second log through its rules, which raise their own alerts again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from epcis_samples import HOST, fresh_domain, import_into, importer
from read_support import read
from sqlalchemy.engine import Engine

from traceability.demo import seed_events
from traceability.domain.batches import read_batch
from traceability.domain.service import Domain
from traceability.epcis.export import export_epcis, stable_view
from traceability.epcis.jsonout import dumps, loads
from traceability.settings import Settings

Json = dict[str, Any]
DEMO_EVENTS = 162
"""The registrations and three story cycles: every story variant (retest, cold-chain
excursion, recall) and every event type."""

BATCHES = [
    "FS-PL-2020-00000",  # a planting: an origin, everything is downstream
    "JA-HS-2026-00000-P",  # packed 红参: everything is upstream (and its sales)
    "JA-HS-2026-00002",  # the recalled 红参, split and packed: both ways
    "HD-WWZ-2026-00001-1",  # one input of a merge
    "HD-WWZ-2026-00001",  # the merge's output
]


@pytest.fixture(name="demo")
def _demo(settings: Settings, engine: Engine) -> Iterator[Domain]:
    """A domain log (SQLite and PostgreSQL) seeded with the first demo events."""
    domain = Domain(settings, engine)
    results = seed_events(domain, DEMO_EVENTS)
    assert {r.status for r in results} == {"accepted"}
    yield domain
    domain.close()


def _bodies(domain: Domain) -> list[Json]:
    return [domain.ledger.entry(i)[2].payload()["body"] for i in range(domain.ledger.size())]


def _edges(bodies: list[Json]) -> list[tuple[str, str]]:
    """(parent, child) of every transformation, read off the bodies."""
    out: list[tuple[str, str]] = []
    for b in bodies:
        kind = b["type"]
        if kind == "harvest":
            out.append((b["origin"], b["batch"]))
        elif kind in ("fresh_processing", "processing"):
            out += [(i["batch"], o["batch"]) for i in b["inputs"] for o in b["outputs"]]
        elif kind == "split":
            out += [(b["batch"], c["batch"]) for c in b["children"]]
        elif kind == "merge":
            out += [(i["batch"], b["output"]["batch"]) for i in b["inputs"]]
        elif kind == "pack":
            out.append((b["batch"], b["packed_batch"]))
    return out


def _reach(start: str, step: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in step.get(todo.pop(), set()) - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def expected_entries(bodies: list[Json], batch: str) -> list[int]:
    """The log indices a batch export must hold, computed naively from the bodies alone: the
    events naming a batch of the lineage (a recall names everything downstream of its batch)."""
    parents: dict[str, set[str]] = {}
    children: dict[str, set[str]] = {}
    for parent, child in _edges(bodies):
        parents.setdefault(child, set()).add(parent)
        children.setdefault(parent, set()).add(child)
    lineage = _reach(batch, parents) | _reach(batch, children)
    wanted = []
    for index, b in enumerate(bodies):
        kind = b["type"]
        named: set[str] = set()
        if kind in ("organisation", "site"):
            continue
        if kind == "recall":
            named = _reach(b["batch"], children)
        elif kind in ("sensor_reading", "ship", "receive"):
            named = set(b["batches"])
        elif kind == "husbandry":
            named = {b["herd"]}
        elif kind == "harvest":
            named = {b["origin"], b["batch"]}
        elif kind in ("fresh_processing", "processing", "split", "merge", "pack"):
            named = {x for edge in _edges([b]) for x in edge}
        elif b.get("batch") is not None:
            named = {b["batch"]}
        if named & lineage:
            wanted.append(index)
    return wanted


def test_batch_exports_hold_exactly_the_lineage(demo: Domain) -> None:
    """For origins, packed goods, a recalled batch and both sides of a merge, the export holds
    the events a naive walk over the logged bodies finds, and every registration."""
    bodies = _bodies(demo)
    registrations = sum(b["type"] in ("organisation", "site") for b in bodies)
    sizes = {}
    for batch in BATCHES:
        result = export_epcis(demo.engine, HOST, batch=batch)
        events = result.document["epcisBody"]["eventList"]
        indices = [e["herbtrace:log_index"] for e in events]
        assert indices == expected_entries(bodies, batch), batch
        assert result.registrations == registrations
        assert result.skipped == []
        sizes[batch] = len(indices)
    recalled = export_epcis(demo.engine, HOST, batch="JA-HS-2026-00002").document
    events = recalled["epcisBody"]["eventList"]
    assert sum(e["bizStep"].endswith("/recalling") for e in events) == 1
    alerts = [e["herbtrace:kind"] for e in events if e["bizStep"].endswith("/alerting")]
    assert sorted(alerts) == ["quality_failed", "recalled_batch"]  # a failed test; sold units
    # both merge inputs were harvested from one planting: the planting's events (its second
    # harvest included) are upstream of either, so input and output export the same entries
    assert sizes["HD-WWZ-2026-00001"] == sizes["HD-WWZ-2026-00001-1"]


def test_a_batch_export_imports_whole_into_an_empty_log(demo: Domain, tmp_path: Path) -> None:
    """A packed batch's export holds everything its events need: all of it is accepted by the
    rules of an empty log, and the imported log gives the same batch export back."""
    first = export_epcis(demo.engine, HOST, batch="JA-HS-2026-00002-P").document
    with fresh_domain(tmp_path / "second.db") as second:
        outcomes = import_into(second, importer(second), loads(dumps(first)))
        assert {o.status for o in outcomes} == {"appended"}
        assert read(second.engine, read_batch, "JA-HS-2026-00002-P").status == "recalled"
        again = export_epcis(second.engine, HOST, batch="JA-HS-2026-00002-P").document
        own = second.rules_signer.key_id
    assert stable_view(_without(again, own)) == stable_view(first)


def _without(document: Json, key_id: str) -> Json:
    """The document without the events signed by `key_id`."""
    events = [e for e in document["epcisBody"]["eventList"] if e["herbtrace:signer"] != key_id]
    return {**document, "epcisBody": {"eventList": events}}


def _alert_events(document: Json, key_id: str | None = None) -> Counter[tuple[str, str, str]]:
    return Counter(
        (e["herbtrace:kind"], e["herbtrace:severity"], e["herbtrace:detail"])
        for e in document["epcisBody"]["eventList"]
        if e["bizStep"].endswith("/alerting") and key_id in (None, e["herbtrace:signer"])
    )


def test_whole_demo_round_trip(demo: Domain, tmp_path: Path) -> None:
    """Export → import → export of the demo: the same events, plus this log's own alerts —
    raised again by its rules from the imported events, one for each the source's rules
    raised, signed by its own rules signer."""
    first = loads(dumps(export_epcis(demo.engine, HOST).document))
    with fresh_domain(tmp_path / "second.db") as second:
        outcomes = import_into(second, importer(second), first)
        assert {o.status for o in outcomes} == {"appended"}
        again = export_epcis(second.engine, HOST).document
        own = second.rules_signer.key_id
    assert stable_view(_without(again, own)) == stable_view(first)
    mine = _alert_events(again, own)
    assert (
        sum(mine.values()) == 4
    )  # two failed tests, a cold-chain excursion, a recall of sold units
    assert mine == _alert_events(first)
