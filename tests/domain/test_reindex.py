"""Reindex: replaying the log rebuilds exactly the indexes the live policy built."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from read_support import read
from sqlalchemy.engine import Engine
from story import COOP, FARM, LAB, PHARMACY, PLANT, World, body
from support import run_herbtrace

from schemas.events import EVENT_TYPES
from traceability.domain.alerts import get_alert, list_alerts
from traceability.domain.batches import read_batch
from traceability.domain.reindex import dump
from traceability.domain.service import Domain
from traceability.ledger import Ledger
from traceability.settings import Settings

HOT = [{"at": f"2026-10-10T0{h}:00:00Z", "temperature_c": "25"} for h in range(3)]


def every_kind(world: World) -> set[str]:
    """Record a story with every event type (and alerts of several kinds); return the types."""
    world.red_ginseng()
    world.ok(COOP, body("cultivation_input"))
    fail = body(
        "quality_test", result="fail", items=[{"item": "cadmium", "value": "2", "unit": "mg/kg"}]
    )
    world.ok(LAB, fail, "inspector")
    world.ok(LAB, body("quality_test"), "inspector")
    world.ok(PLANT, body("split"))
    halves = [
        {"batch": "B1", "quantity": {"value": "12.8", "unit": "kg"}},
        {"batch": "B2", "quantity": {"value": "10", "unit": "kg"}},
    ]
    world.ok(PLANT, body("split", batch="JA-HS-2026-001-B", children=halves))
    merged = {"batch": "M1", "quantity": {"value": "22", "unit": "kg"}}
    world.ok(PLANT, body("merge", inputs=halves, output=merged))
    world.ok(PLANT, body("pack"))
    world.ok(PLANT, body("sensor_reading", readings=HOT))
    world.ok(PLANT, body("ship", carrier=None))
    world.ok(PHARMACY, body("receive"))
    world.ok(PHARMACY, body("retail_sale"))
    herd = body("husbandry", activity="established", herb="lurong", certificate=None)
    world.ok(FARM, herd)
    world.ok(FARM, body("husbandry"))
    world.refused(
        PLANT,
        body(
            "split",
            batch="M1",
            children=[{"batch": "Z", "quantity": {"value": "23", "unit": "kg"}}],
        ),
        "mass_balance",
    )
    world.ok(COOP, body("recall"), role="regulator")
    world.domain.raise_alert("device_gap", "info", "logger 07 missed seq 4–6", subject="logger-07")
    kinds = {a.kind for a in read(world.domain.engine, list_alerts)}
    assert kinds == {"quality_failed", "cold_chain", "mass_balance", "recalled_batch", "device_gap"}
    with world.domain.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT DISTINCT type FROM batch_events")).scalars()
        return set(rows) | {"organisation", "site"}


def test_reindex_rebuilds_the_same_state_from_a_log_of_every_event_kind(world: World) -> None:
    """Every event type is in the log; the rebuilt indexes equal the live ones, row for row."""
    recorded = every_kind(world)
    assert recorded == set(EVENT_TYPES)
    domain = world.domain
    with domain.engine.connect() as conn:
        before = dump(conn)
    report = domain.reindex(check=True)
    assert report.changed == []
    assert report.entries == domain.ledger.size()
    assert sum(report.skipped.values()) == 0
    with domain.engine.connect() as conn:
        assert dump(conn) == before
    assert all(len(rows) for name, rows in before.items() if name != "domain_meta")


def test_reindex_repairs_damaged_indexes_and_skips_entries_that_break_rules(
    settings: Settings, engine: Engine, world: World
) -> None:
    """A tampered index row is restored; an entry appended without the rules is skipped."""
    world.red_ginseng()
    signer = world.signer(COOP)
    with Ledger(settings, engine) as plain:
        (junk,) = plain.append([signer.next(body("split", batch="NO-SUCH"))])
    assert junk.status == "accepted"
    with engine.connect() as conn:
        before = dump(conn)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE batches SET custodian = 'org-thief' WHERE id = 'JA-HS-2026-001'")
        )
        conn.execute(sa.text("DELETE FROM lineage"))
    report = world.domain.reindex(check=True)
    assert sorted(report.changed or []) == ["batches", "domain_meta", "lineage"]
    assert dict(report.skipped) == {"unknown_batch": 1}
    with engine.connect() as conn:
        after = dump(conn)
    assert {t for t in after if after[t] != before[t]} <= {"domain_meta"}
    assert read(world.domain.engine, read_batch, "JA-HS-2026-001").custodian == PLANT


def test_reindex_keeps_alerts_raised_outside_the_rules_that_are_not_logged_yet(
    world: World,
) -> None:
    """An external alert still pending (not in the log) survives a rebuild."""
    from traceability.domain.alerts import raise_external

    alert_id = raise_external(
        world.domain.engine,
        kind="device_gap",
        severity="info",
        detail="gap",
        batch=None,
        subject=None,
        evidence={},
        envelopes=[],
    )
    world.domain.reindex()  # logs pending alerts after rebuilding
    assert read(world.domain.engine, get_alert, alert_id).logged_index is not None


def test_the_reindex_command_rebuilds_a_database_and_checks_it(tmp_path: Path) -> None:
    """`herbtrace reindex --check` replays a real log (real catalogue) and finds no difference."""
    url = f"sqlite:///{tmp_path / 'h.db'}"
    settings = Settings(database_url=url, log_origin="test.herbtrace/log")
    from traceability.ledger import initialise

    initialise(settings)
    with Domain(settings) as domain:
        world = World(domain)
        world.register_all()
        world.packed()
        size = domain.ledger.size()
    env = {"HERBTRACE_DATABASE_URL": url, "HERBTRACE_LOG_ORIGIN": "test.herbtrace/log"}
    done = run_herbtrace(["reindex", "--check"], tmp_path, **env)
    assert done.returncode == 0, done.stderr
    assert f"replayed {size} entries" in done.stdout
    assert "equal the ones before" in done.stdout
    broken = run_herbtrace(
        ["reindex"], tmp_path, HERBTRACE_DATABASE_URL=f"sqlite:///{tmp_path / 'none' / 'x.db'}"
    )
    assert broken.returncode == 1
    assert "error" in broken.stderr
