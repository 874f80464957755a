"""A hostile (or broken) device floods POST /v1/events with large refused envelopes.

Judged by effect on both databases: the database grows by at most the device's refusal
budget plus small summary rows, later refusals are kept as time, reason and hash only, the
flood meets 429s, and another device's valid event still lands.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from resource_support import COOP, ResourceApi, body, open_resource_api

from traceability.rejections import list_rejections

FLOOD = 320
BUDGET_BYTES = 1_048_576  # the default HERBTRACE_REFUSAL_BYTES_PER_SIGNER
KEPT = 100  # the default HERBTRACE_REFUSALS_KEPT_PER_SIGNER


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    """The app with the default refusal budget and a slow refill (1 write a second), so the
    flood's 200-request burst and then its 429s do not depend on the machine's speed."""
    with open_resource_api(
        db_url, account_rate=1.0, account_burst=200, device_rate=1.0, device_burst=200
    ) as api:
        yield api


def database_bytes(engine: sa.Engine) -> int:
    """The SQLite file's size (its WAL copied in first), or PostgreSQL's size of the refusals
    table with its TOAST and indexes."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return Path(str(engine.url.database)).stat().st_size
    with engine.connect() as conn:
        size = conn.execute(sa.text("SELECT pg_total_relation_size('rejected_messages')"))
        return int(size.scalar_one())


def test_a_flood_of_refused_envelopes_is_bounded_and_limited(api: ResourceApi) -> None:
    """320 refused 57 kB envelopes of one device over one account: the database grows by
    about the 1 MiB budget (not the 11 MB sent), later refusals keep only their hash and
    reason, the flood gets 429s, and another device's valid planting still lands."""
    flooder = api.world.signer(COOP)
    headers = api.headers("coop")
    serials = [f"SN{n:014d}" for n in range(3_000)]
    before = database_bytes(api.engine)
    seen: Counter[int] = Counter()
    sent = 0
    for _ in range(FLOOD):
        envelope = flooder.sign(
            flooder.payload(body("pack", batch="NOPE", serials=serials)), advance=False
        )
        content = json.dumps(envelope).encode()
        sent += len(content)
        seen[api.client.post("/v1/events", content=content, headers=headers).status_code] += 1
    grown = database_bytes(api.engine) - before

    assert seen[429] >= 100, seen
    assert seen[422] + seen[429] == FLOOD, seen
    assert sent > 15_000_000
    assert grown < 3 * BUDGET_BYTES, (grown, seen)

    kept = list_rejections(api.engine, device_id=flooder.key_id)
    assert len(kept) == seen[422]
    full = [r for r in kept if r.payload]
    assert 1 <= len(full) <= KEPT
    assert sum(len(r.payload) for r in full) <= BUDGET_BYTES
    assert kept[: len(full)] == full  # the first ones are kept in full, then summaries
    for summary in kept[len(full) :]:
        assert (summary.reason, summary.detail, summary.payload) == ("unknown_batch", "", b"")
        assert summary.envelope_hash is not None
        assert len(summary.envelope_hash) == 32
        assert summary.payload_size > 50_000

    other = api.world.signer(COOP, role="operator")
    landed = api.client.post("/v1/events", content=json.dumps(other.next(body("planting"))))
    assert landed.status_code == 201, landed.text
    assert api.client.get("/v1/batches/FS-PL-2020-001").json()["owner"] == COOP
