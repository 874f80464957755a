"""The regulator office signs recalls one at a time across processes: its key never equivocates."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from story import COOP, StandInHerbs, World, body

from traceability.domain.recall_office import RecallOffice, SignedRecall
from traceability.domain.service import Domain
from traceability.settings import Settings
from traceability.storage.db import make_engine

RECALLS = 6
"""Recalls each office signs at once (one per batch)."""


def test_two_offices_recalling_at_once_sign_one_chain(
    settings: Settings, domain: Domain, world: World
) -> None:
    """Two offices on their own engines and domains (as two API processes) recall batches at
    the same moment: every recall is accepted, the office's seqs run 1, 2, 3 … with no gap
    or repeat, and no equivocation is recorded."""
    batches = [f"FS-RS-2026-{100 + i}" for i in range(2 * RECALLS)]
    world.ok(COOP, body("planting"))
    for batch in batches:
        world.ok(COOP, body("harvest", batch=batch, quantity={"value": "1.000", "unit": "kg"}))
    other_engine = make_engine(settings.database_url)
    other = Domain(settings, other_engine, herbs=StandInHerbs())
    try:
        offices = [(RecallOffice(settings, domain.engine), domain)]
        offices.append((RecallOffice(settings, other_engine), other))
        start = threading.Barrier(2)

        def recall_all(slot: int) -> list[SignedRecall]:
            office, recorder = offices[slot]
            start.wait()
            return [
                office.recall(recorder, batch=batch, level="II", reason="镉超标", user_id=1)
                for batch in batches[slot::2]
            ]

        with ThreadPoolExecutor(2) as pool:
            signed = [s for done in pool.map(recall_all, range(2)) for s in done]
    finally:
        other.close()
        other_engine.dispose()
    assert [s.result.status for s in signed] == ["accepted"] * len(batches), [
        (s.result.reason, s.result.detail) for s in signed
    ]
    key_id = offices[0][0].key_id
    with domain.engine.connect() as conn:
        seqs = conn.execute(
            sa.text("SELECT seq FROM log_entries WHERE signer = :s ORDER BY idx"), {"s": key_id}
        ).scalars()
        assert list(seqs) == list(range(1, len(batches) + 1))
        assert conn.execute(sa.text("SELECT count(*) FROM equivocations")).scalar_one() == 0
