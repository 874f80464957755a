"""The domain policy inside the append: invalid bodies, refusals that leave no trace, catch-up."""

from __future__ import annotations

from typing import Any

from read_support import read
from sqlalchemy.engine import Engine
from story import COOP, LAB, PLANT, World, body
from support import TestSigner

from traceability.domain.batches import read_batch
from traceability.domain.history import batch_events
from traceability.domain.policy import DomainPolicy
from traceability.domain.reindex import dump
from traceability.ledger import Ledger
from traceability.settings import Settings


def test_bodies_of_unknown_type_or_invalid_shape_are_refused_as_invalid_event(
    world: World,
) -> None:
    """The detail names the field at fault; nothing is logged."""
    size = world.domain.ledger.size()
    result = world.refused(COOP, {"type": "teleport", "batch": "X"}, "invalid_event")
    assert "type" in (result.detail or "")
    bad_date = body("planting", planted_on="2020-02-30")
    result = world.refused(COOP, bad_date, "invalid_event")
    assert "planted_on" in (result.detail or "")
    result = world.refused(
        COOP, body("harvest", quantity={"value": 180.5, "unit": "kg"}), "invalid_event"
    )
    assert "quantity.value" in (result.detail or "")
    assert world.domain.ledger.size() == size


def test_a_refused_event_writes_nothing_and_the_signer_continues(world: World) -> None:
    """Refusals leave the indexes and the log unchanged; the signer's next seq is accepted."""
    world.red_ginseng()
    domain = world.domain
    with domain.engine.connect() as conn:
        before = dump(conn)
    size = domain.ledger.size()
    bad_gtin = {"gtin": "06901234567891", "lot": "L"}
    attempts: list[tuple[str, dict[str, Any], str, str]] = [
        (PLANT, body("pack", batch="JA-HS-2026-001", product=bad_gtin), "invalid_gtin", "device"),
        (LAB, body("quality_test", lab=PLANT), "unauthorised", "inspector"),
        (
            PLANT,
            body("ship", batches=["JA-HS-2026-001"], to="org-none"),
            "unknown_organisation",
            "device",
        ),
        (
            PLANT,
            body(
                "split",
                children=[{"batch": "FS-PL-2020-001", "quantity": {"value": "1", "unit": "kg"}}],
            ),
            "duplicate_id",
            "device",
        ),
    ]
    for org, event, reason, role in attempts:
        world.refused(org, event, reason, role)
    with domain.engine.connect() as conn:
        assert dump(conn) == before
    assert domain.ledger.size() == size
    world.ok(PLANT, body("split"))  # the same signer's next envelope is accepted


def test_a_refusal_worth_an_alert_adds_only_the_logged_alert(world: World) -> None:
    """A custody or mass-balance refusal stores and logs an alert, and changes nothing else."""
    world.red_ginseng()
    domain = world.domain
    with domain.engine.connect() as conn:
        before = dump(conn)
    size = domain.ledger.size()
    too_much = [{"batch": "C", "quantity": {"value": "99", "unit": "kg"}}]
    world.refused(PLANT, body("split", children=too_much), "mass_balance")
    world.refused(COOP, body("split"), "custody")
    with domain.engine.connect() as conn:
        after = dump(conn)
    assert {t for t in after if after[t] != before[t]} == {"alerts", "batch_events", "domain_meta"}
    assert sorted(row[1] for row in after["alerts"]) == ["custody", "mass_balance"]
    assert domain.ledger.size() == size + 2  # the two alert entries


def test_the_policy_catches_up_with_entries_appended_without_it(
    settings: Settings, engine: Engine, world: World
) -> None:
    """A planting appended through a plain ledger is indexed before the next governed append."""
    signer = world.signer(COOP)
    with Ledger(settings, engine) as plain:
        (result,) = plain.append([signer.next(body("planting"))])
        assert result.status == "accepted"
        (junk,) = plain.append([signer.next({"type": "teleport"})])
        assert junk.status == "accepted"  # the plain ledger checks no rules
    world.ok(COOP, body("harvest"))
    assert read(world.domain.engine, read_batch, "FS-PL-2020-001").created_index == result.index
    assert (
        next(e.log_index for e in read(world.domain.engine, batch_events, "FS-PL-2020-001"))
        == result.index
    )


def test_catch_up_applies_entries_appended_without_the_policy_and_only_those(
    settings: Settings, engine: Engine, world: World
) -> None:
    """catch_up indexes what a plain ledger appended (skipping what the rules refuse), says how
    many entries it read, and reads none when the indexes are current."""
    world.grow()
    signer = world.signer(COOP)
    with Ledger(settings, engine) as plain:
        results = plain.append(
            [signer.next(body("fresh_processing")), signer.next({"type": "teleport"})]
        )
    assert [r.status for r in results] == ["accepted", "accepted"]
    policy = DomainPolicy(settings, engine)
    assert policy.catch_up() == 2
    assert read(world.domain.engine, read_batch, "FS-XS-2026-001").created_index == results[0].index
    assert policy.catch_up() == 0
    with engine.connect() as conn:
        before = dump(conn)
    world.domain.reindex()
    with engine.connect() as conn:
        assert dump(conn) == before  # the same state a replay of the whole log gives


def test_the_policy_is_built_from_settings_and_engine_alone(
    settings: Settings, engine: Engine
) -> None:
    """A ledger with DomainPolicy(settings, engine) applies the real catalogue's limits."""
    admin, lab = TestSigner(), TestSigner()
    admin.register(engine, role="admin", org="org-admin")
    lab.register(engine, role="inspector", org=LAB)
    test = body(
        "quality_test",
        batch="FS-RS-2026-001",
        items=[{"item": "moisture", "value": "13.0", "unit": "%"}],
    )
    with Ledger(settings, engine, policy=DomainPolicy(settings, engine)) as ledger:
        results = ledger.append(
            [
                admin.next(body("organisation", id=LAB, kind="testing_lab", credit_code=None)),
                lab.next(test),
            ]
        )
    assert [r.status for r in results] == ["accepted", "rejected"]
    assert results[1].reason == "unknown_batch"


def test_a_refusal_in_a_batch_loses_none_of_the_valid_envelopes(world: World) -> None:
    """In one submission, a refused envelope sits between two accepted ones, in order."""
    coop = world.signer(COOP)
    planting = coop.next(body("planting"))
    bad = coop.next(body("harvest", growing_years=9))
    harvest = coop.next(body("harvest", batch="FS-RS-2026-002"))
    results = world.domain.record([planting, bad, harvest])
    assert [r.status for r in results] == ["accepted", "rejected", "accepted"]
    assert results[1].reason == "growing_age"
    assert read(world.domain.engine, read_batch, "FS-RS-2026-002").growing_years == 6
