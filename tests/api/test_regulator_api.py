"""The regulator's endpoints: who may call them, lineage JSON and SVG, checkpoints, the bundle."""

from __future__ import annotations

import base64
import gzip
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from api_support import WHO, Callers, api_settings
from fastapi.testclient import TestClient
from read_support import read

from api.main import create_app
from traceability.bench.scratch_db import scratch_postgres
from traceability.demo import seed_events
from traceability.domain.batches import read_batch
from traceability.domain.history import batch_events
from traceability.domain.lineage import trace_backward, trace_forward
from traceability.domain.service import Domain
from traceability.domain.units import batch_units
from traceability.ledger import initialise
from traceability.log.audit import Auditor
from traceability.log.bundle import BundleSource
from traceability.log.checkpoint import open_checkpoint
from traceability.log.note import NoteVerifier
from traceability.settings import Settings
from traceability.storage.db import make_engine

EVENTS = 200  # four story cycles: failed tests, a cold-chain excursion and a recall
RECALLED = "JA-HS-2026-00002"  # recalled by the demo, its packed units with it
MERGED = "HD-WWZ-2026-00001"  # two harvests merged into it
NS = {"svg": "http://www.w3.org/2000/svg"}
POSTGRES_ADMIN_URL = os.environ.get(  # as tests/conftest.py, for a module-scoped database
    "HERBTRACE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class Desk:
    """An app on a seeded demo log, the kinds of caller, and the domain to compare with."""

    client: TestClient
    callers: Callers
    domain: Domain
    settings: Settings

    def get(self, path: str, who: str = "regulator") -> Any:
        """GET `path` as `who` and return the response."""
        return self.client.get(path, headers=self.callers.headers(who))


@pytest.fixture(
    name="desk",
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def _desk(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Desk]:
    """The demo's first EVENTS events through the rules, served by the app, on each backend."""
    with ExitStack() as scratch:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('regulator') / 'herbtrace.db'}"
        else:
            postgres = scratch_postgres(POSTGRES_ADMIN_URL, prefix="herbtrace_test")
            url = scratch.enter_context(postgres)
        settings = api_settings(url)
        engine = make_engine(url)
        try:
            initialise(settings, engine)
            callers = Callers.create(engine)
            with Domain(settings, engine) as domain:
                results = seed_events(domain, EVENTS)
                assert all(r.status == "accepted" for r in results)
                domain.ledger.checkpointer.issue(engine)
                with TestClient(create_app(settings)) as client:
                    yield Desk(client, callers, domain, settings)
        finally:
            engine.dispose()


REGULATOR_ONLY = {
    **dict.fromkeys(WHO, 403),
    "anonymous": 401,
    "regulator": 200,
    "admin": 200,
}
PATHS = [
    f"/v1/batches/{RECALLED}/lineage",
    f"/v1/batches/{RECALLED}/lineage.svg",
    "/v1/log/bundle",
    "/v1/log/bundle?compression=gzip",
]


@pytest.mark.parametrize("path", PATHS)
def test_only_regulators_and_admins_read_lineages_and_the_whole_log(desk: Desk, path: str) -> None:
    """Lineages and the audit bundle answer regulators and admins; others get 401 or 403."""
    for who, status in REGULATOR_ONLY.items():
        response = desk.client.get(path, headers=desk.callers.headers(who))
        assert response.status_code == status, (who, response.text)
        if status != 200:
            assert response.json()["error"] in ("unauthenticated", "forbidden")


def test_page_and_checkpoints_are_public(desk: Desk) -> None:
    """Anyone gets the page (with the log key pinned) and the list of signed checkpoints."""
    page = desk.client.get("/regulator")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    vkey = desk.client.get("/v1/log/key").text
    assert f'<meta name="herbtrace-log-key" content="{vkey}">' in page.text
    assert desk.client.get("/v1/log/checkpoints").status_code == 200


def trace_ids(desk: Desk, batch: str) -> tuple[set[str], set[str]]:
    """The batches upstream and downstream of `batch` (itself excluded), from the domain."""
    up = {b.id for b in read(desk.domain.engine, trace_backward, batch).batches} - {batch}
    down = {b.id for b in read(desk.domain.engine, trace_forward, batch).batches} - {batch}
    return up, down


@pytest.mark.parametrize("batch", [RECALLED, MERGED, f"{RECALLED}-P", "FS-PL-2020-00001"])
def test_lineage_json_is_both_traces_with_events_and_unit_tallies(desk: Desk, batch: str) -> None:
    """The lineage holds every batch of both traces, each edge's event type, units by status."""
    body = desk.get(f"/v1/batches/{batch}/lineage").json()
    up, down = trace_ids(desk, batch)
    assert set(body["upstream"]) == up
    assert set(body["downstream"]) == down
    assert {n["id"] for n in body["nodes"]} == up | down | {batch}
    by_id = {n["id"]: n for n in body["nodes"]}
    for node_id, node in by_id.items():
        assert node["status"] == read(desk.domain.engine, read_batch, node_id).status
    assert by_id[batch]["herb_name"] in ("人参", "五味子")
    for edge in body["links"]:
        events = {
            e.log_index: e.type for e in read(desk.domain.engine, batch_events, edge["child"])
        }
        assert edge["event"] == events[edge["event_index"]]
    for tally in body["units"]:
        units = read(desk.domain.engine, batch_units, tally["batch"])
        assert tally["total"] == len(units) > 0
        assert tally["recalled"] == sum(u.status == "recalled" for u in units)
        assert sum(tally["by_status"].values()) == tally["total"]


def svg_of(desk: Desk, batch: str) -> ET.Element:
    """Fetch a lineage SVG as a regulator; it must parse as XML."""
    response = desk.get(f"/v1/batches/{batch}/lineage.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    return ET.fromstring(response.content)  # noqa: S314 - our own output


@pytest.mark.parametrize("batch", [RECALLED, MERGED, f"{RECALLED}-P"])
def test_lineage_svg_is_well_formed_and_draws_every_batch_of_the_trace(
    desk: Desk, batch: str
) -> None:
    """The SVG parses as XML and has one box per traced batch, with its status and quality."""
    svg = svg_of(desk, batch)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    up, down = trace_ids(desk, batch)
    drawn = {
        g.get("data-batch"): g
        for g in svg.iterfind(".//svg:g", NS)
        if g.get("class", "").startswith("batch")
    }
    assert set(drawn) == up | down | {batch}
    for batch_id, group in drawn.items():
        view = read(desk.domain.engine, read_batch, batch_id)
        assert (group.get("data-status"), group.get("data-quality")) == (view.status, view.quality)
    edges = [g for g in svg.iterfind(".//svg:g", NS) if g.get("class") == "edge"]
    assert {g.get("data-event") for g in edges} >= {"harvest"}


def test_recalled_chain_is_drawn_from_planting_to_recalled_units(desk: Desk) -> None:
    """The recalled batch's picture runs planting → … → packed units, recalled ones marked red."""
    svg = svg_of(desk, RECALLED)
    groups = list(svg.iterfind(".//svg:g", NS))
    kinds = {g.get("data-kind") for g in groups if g.get("class", "").startswith("batch")}
    assert kinds == {"planting", "harvest", "processed", "split", "packed"}
    recalled = {g.get("data-batch") for g in groups if g.get("data-status") == "recalled"}
    assert recalled == {RECALLED, *trace_ids(desk, RECALLED)[1]}
    [units] = [g for g in groups if g.get("class") == "units"]
    assert units.get("data-batch") == f"{RECALLED}-P"
    assert int(units.get("data-recalled", "0")) == int(units.get("data-count", "-1")) > 0
    events = {g.get("data-event") for g in groups if g.get("class") == "edge"}
    assert {"harvest", "fresh_processing", "processing", "split", "pack"} <= events


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/batches/NO-SUCH-BATCH/lineage", 404),
        ("/v1/batches/NO-SUCH-BATCH/lineage.svg", 404),
        ("/v1/batches/bad%20id!/lineage", 422),
        ("/v1/batches/bad%20id!/lineage.svg", 422),
        (f"/v1/batches/{'X' * 65}/lineage.svg", 422),
        ("/v1/log/bundle?compression=zip", 422),
        ("/v1/log/checkpoints?limit=0", 422),
        ("/v1/log/checkpoints?limit=501", 422),
        ("/v1/log/checkpoints?after=0", 422),
        ("/v1/log/checkpoints?after=x", 422),
    ],
)
def test_bad_input_gets_a_4xx_with_a_reason(desk: Desk, path: str, status: int) -> None:
    """Unknown batches get 404, malformed parameters 422, each with a reason."""
    response = desk.get(path)
    assert response.status_code == status
    body = response.json()
    assert body["reason"]
    if status == 404:
        assert "NO-SUCH-BATCH" in body["reason"]


def test_checkpoints_page_newest_first_and_each_verifies(desk: Desk) -> None:
    """Checkpoints come newest first, page by `next_after`, and each note opens with the log key."""
    verifier = NoteVerifier.from_vkey(desk.client.get("/v1/log/key").text)
    seen: list[int] = []
    after = None
    while True:
        query = "limit=1" + (f"&after={after}" if after is not None else "")
        page = desk.client.get(f"/v1/log/checkpoints?{query}").json()
        for item in page["items"]:
            checkpoint = open_checkpoint(item["note"], verifier)
            assert checkpoint.size == item["tree_size"]
            assert checkpoint.root == base64.b64decode(item["root"])
            seen.append(item["tree_size"])
        after = page["next_after"]
        if after is None:
            break
    assert len(seen) >= 2
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == len(seen)
    latest = desk.client.get("/v1/log/checkpoint").text
    assert desk.client.get("/v1/log/checkpoints?limit=1").json()["items"][0]["note"] == latest


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_bundle_download_audits_clean_offline(desk: Desk, compression: str, tmp_path: Path) -> None:
    """The downloaded bundle (plain or gzip) passes the offline audit with the pinned key."""
    response = desk.get(f"/v1/log/bundle?compression={compression}")
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    suffix = ".jsonl.gz" if compression == "gzip" else ".jsonl"
    assert disposition.startswith("attachment; filename=")
    assert disposition.endswith(suffix + '"')
    data = response.content
    path = tmp_path / f"bundle{suffix}"
    path.write_bytes(data)
    if compression == "gzip":
        assert gzip.decompress(data).startswith(b'{"format": "herbtrace-bundle/v1"')
    verifier = NoteVerifier.from_vkey(desk.client.get("/v1/log/key").text)
    report = Auditor(verifier).run(BundleSource(path))
    assert report.ok, report.findings
    assert report.entries == desk.domain.ledger.size()
    assert report.checkpoints >= 2
