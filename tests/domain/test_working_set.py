"""One append batch, one working set: decided in log order in memory, the same as one by one."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from story import COOP, LAB, ORG_KINDS, PLANT, SITES, StandInHerbs, body
from support import TestSigner, settings_for

from traceability.domain import state
from traceability.domain.reindex import dump
from traceability.domain.service import Domain
from traceability.domain.working_set import WorkingSet
from traceability.ledger import initialise
from traceability.storage.db import write_transaction

Step = tuple[str, str, dict[str, Any]]
"""(organisation, role, event body)."""

STORY: list[Step] = [
    *[
        (COOP, "admin", body("organisation", id=o, kind=k, credit_code=None))
        for o, k in ORG_KINDS.items()
    ],
    *[(COOP, "admin", body("site", id=s, organisation=o, kind=k)) for s, (o, k) in SITES.items()],
    (COOP, "device", body("planting")),
    (COOP, "device", body("cultivation_input")),
    (COOP, "device", body("harvest")),
    (COOP, "device", body("fresh_processing")),
    (
        COOP,
        "device",
        body("ship", shipment="SHP-XS-001", batches=["FS-XS-2026-001"], to=PLANT, carrier=None),
    ),
    (
        PLANT,
        "device",
        body(
            "receive",
            shipment="SHP-XS-001",
            batches=["FS-XS-2026-001"],
            sender=COOP,
            site="site-jian-plant",
        ),
    ),
    (PLANT, "device", body("processing")),
    (LAB, "inspector", body("quality_test")),
    (PLANT, "device", body("split")),
    (PLANT, "device", body("pack")),
]
"""A whole ginseng story, from registrations to packed units: each step needs the ones before."""


def signed_story(signers: dict[tuple[str, str], TestSigner]) -> list[dict[str, Any]]:
    """The story's envelopes, each signed by its (organisation, role) signer in turn."""
    out = []
    for org, role, event in STORY:
        signer = signers.setdefault((org, role), TestSigner())
        out.append(signer.sign(signer.payload(event)))
    return out


def register(engine: Engine, signers: dict[tuple[str, str], TestSigner]) -> None:
    for (org, role), signer in signers.items():
        signer.register(engine, role=role, org=org)


def test_a_story_recorded_in_one_append_batch_indexes_as_one_recorded_step_by_step(
    domain: Domain, engine: Engine, new_database: Callable[[], AbstractContextManager[str]]
) -> None:
    """Every step of the story sees what the steps before it in the same batch wrote (the
    harvest its planting, the receipt its shipment, the pack its split), and the index tables
    end exactly as when each envelope is its own append batch."""
    signers: dict[tuple[str, str], TestSigner] = {}
    envelopes = signed_story(signers)
    register(engine, signers)
    results = domain.record(envelopes)
    assert [(r.status, r.reason) for r in results] == [("accepted", None)] * len(STORY)
    with new_database() as url:
        settings = settings_for(url)
        initialise(settings)
        with Domain(settings, herbs=StandInHerbs()) as apart:
            register(apart.engine, signers)
            for envelope in envelopes:
                (result,) = apart.record([envelope])
                assert result.status == "accepted", (result.reason, result.detail)
            with engine.connect() as conn, apart.engine.connect() as other:
                assert dump(conn) == dump(other)
            apart.engine.dispose()


def test_a_refusal_inside_a_batch_leaves_no_trace_and_later_envelopes_apply(
    domain: Domain, engine: Engine
) -> None:
    """A second planting of the same batch in the same append batch is refused as a duplicate
    (the first one, not yet written, is seen); the envelopes after it are applied."""
    signers: dict[tuple[str, str], TestSigner] = {}
    registrations = signed_story(signers)[: len(ORG_KINDS) + len(SITES)]
    register(engine, signers)
    assert all(r.status == "accepted" for r in domain.record(registrations))
    coop = signers[(COOP, "device")] = TestSigner()
    coop.register(engine, role="device", org=COOP)
    batch = [
        coop.sign(coop.payload(body("planting"))),
        coop.sign(coop.payload(body("planting", area={"value": "9", "unit": "mu"})), advance=False),
        coop.sign(coop.payload(body("cultivation_input"))),
    ]
    results = domain.record(batch)
    assert [r.status for r in results] == ["accepted", "rejected", "accepted"]
    assert results[1].reason == "duplicate_id"
    with engine.connect() as conn:
        planting = state.get_batch(conn, "FS-PL-2020-001")
    assert planting is not None
    assert planting.quantity != "9"


def test_rows_not_read_ahead_are_read_when_first_asked_and_writes_land_at_flush(
    domain: Domain, engine: Engine
) -> None:
    """Without any read-ahead the working set reads a row on first use, remembers a missing
    one as missing, and writes inserts and updates only when flushed."""
    signers: dict[tuple[str, str], TestSigner] = {}
    envelopes = signed_story(signers)[: len(ORG_KINDS) + len(SITES) + 1]  # through the planting
    register(engine, signers)
    assert all(r.status == "accepted" for r in domain.record(envelopes))
    with write_transaction(engine) as conn:
        working = WorkingSet(conn)
        planting = working.get_batch("FS-PL-2020-001")
        assert planting is not None
        assert planting.kind == "planting"
        assert working.get_batch("NO-SUCH-BATCH") is None
        assert working.site_organisation("site-jian-plant") == PLANT
        working.update_batch("FS-PL-2020-001", remaining="1")
        working.insert_batch(planting.__class__(**{**planting.to_json(), "id": "COPY-1"}))
        assert state.get_batch(conn, "COPY-1") is None  # nothing written yet
        working.flush()
        written = state.get_batch(conn, "FS-PL-2020-001")
        assert written is not None
        assert written.remaining == "1"
        assert state.get_batch(conn, "COPY-1") is not None
        working.update_batch("COPY-1", status="consumed")
        working.flush()  # a row inserted by an earlier flush is updated by the next
        copy = state.get_batch(conn, "COPY-1")
        assert copy is not None
        assert copy.status == "consumed"
        conn.rollback()


@pytest.mark.parametrize("size", [1, 500])
def test_reindex_rebuilds_what_batches_of_any_size_wrote(domain: Domain, size: int) -> None:
    """Recorded in batches of one or of the whole story, a replay rebuilds the same tables."""
    signers: dict[tuple[str, str], TestSigner] = {}
    envelopes = signed_story(signers)
    register(domain.engine, signers)
    for start in range(0, len(envelopes), size):
        assert all(r.status == "accepted" for r in domain.record(envelopes[start : start + size]))
    assert domain.reindex(check=True).changed == []
