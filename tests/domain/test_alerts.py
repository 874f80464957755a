"""Alerts: stored, listed for regulators newest first, and themselves logged and signed."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from read_support import read
from story import COOP, LAB, PHARMACY, PLANT, World, body

from traceability.domain.alerts import alert_concerns, list_alerts, pending_envelopes
from traceability.domain.history import batch_events
from traceability.errors import InvalidInput
from traceability.log.signers import get_signer
from traceability.storage import tables

FAIL = {"item": "cadmium", "value": "1.4", "unit": "mg/kg"}


def test_an_alert_is_logged_as_an_entry_signed_by_the_rules_signer(world: World) -> None:
    """The quality alert's own entry is an `alert` body with its ID, signed by the system signer."""
    world.red_ginseng()
    world.ok(LAB, body("quality_test", result="fail", items=[FAIL]), "inspector")
    domain = world.domain
    (alert,) = read(domain.engine, list_alerts)
    assert alert.logged_index is not None
    assert alert.source_index is not None
    assert alert.logged_index > alert.source_index
    _leaf, _hash, entry = domain.ledger.entry(alert.logged_index)
    payload = json.loads(entry.payload_bytes)
    assert payload["body"]["type"] == "alert"
    assert payload["body"]["id"] == alert.id
    assert payload["body"]["kind"] == "quality_failed"
    assert payload["time"] == alert.raised_at
    source = json.loads(domain.ledger.entry(alert.source_index)[2].payload_bytes)
    assert source["body"]["type"] == "quality_test"
    signer = get_signer(domain.engine, payload["signer"])
    assert (signer.role, signer.key_id) == ("system", domain.rules_signer.key_id)
    assert [e.type for e in read(domain.engine, batch_events, "JA-HS-2026-001")][-2:] == [
        "quality_test",
        "alert",
    ]


def test_alerts_are_listed_newest_first_by_kind_and_page(world: World) -> None:
    """Listing filters by kind and batch, and pages on with `after`."""
    world.red_ginseng()
    for _ in range(3):
        world.ok(LAB, body("quality_test", result="fail", items=[FAIL]), "inspector")
    domain = world.domain
    domain.raise_alert("device_gap", "info", "logger 07 skipped seq 5–9", subject="logger-07")
    listed = read(domain.engine, list_alerts)
    assert [a.kind for a in listed] == ["device_gap"] + ["quality_failed"] * 3
    assert [a.raised_at for a in listed] == sorted((a.raised_at for a in listed), reverse=True)
    assert read(domain.engine, list_alerts, kind="quality_failed", limit=2) == listed[1:3]
    assert read(domain.engine, list_alerts, kind="quality_failed", after=listed[2].id) == listed[3:]
    assert read(domain.engine, list_alerts, batch="JA-HS-2026-001") == listed[1:]
    with pytest.raises(InvalidInput):
        read(domain.engine, list_alerts, limit=0)


def test_an_organisation_lists_the_alerts_about_its_batches(world: World) -> None:
    """`organisation` keeps the alerts that concern it; paging on from no alert is invalid."""
    world.red_ginseng()
    world.ok(LAB, body("quality_test", result="fail", items=[FAIL]), "inspector")
    engine = world.domain.engine
    (alert,) = read(engine, list_alerts)
    concerned = []
    for org in (COOP, PLANT, LAB, PHARMACY):
        listed = read(engine, list_alerts, organisation=org)
        assert listed in ([], [alert])
        if listed:
            concerned.append(org)
        assert bool(listed) == read(engine, alert_concerns, alert, org)
    assert concerned == [PLANT]  # the plant owns and holds the failed batch
    with pytest.raises(InvalidInput, match="no alert"):
        read(engine, list_alerts, after="AL-none")


def test_only_the_rules_signer_logs_alerts(world: World) -> None:
    """An `alert` envelope from any other signer, even a regulator, is refused."""
    world.refused(LAB, body("alert"), "unauthorised", role="regulator")
    assert read(world.domain.engine, list_alerts) == []


def test_an_alert_raised_outside_the_rules_is_stored_once_and_logged(world: World) -> None:
    """Raising the same finding twice stores and logs it once; a bad alert stores nothing."""
    domain = world.domain
    size = domain.ledger.size()
    first = domain.raise_alert(
        "counterfeit_scan", "critical", "serial 0009 was never packed", evidence={"scans": 3}
    )
    again = domain.raise_alert(
        "counterfeit_scan", "critical", "serial 0009 was never packed", evidence={"scans": 3}
    )
    assert first.id == again.id
    assert first.logged_index == again.logged_index
    assert domain.ledger.size() == size + 1
    with pytest.raises(InvalidInput, match="kind"):
        domain.raise_alert("bad_vibes", "info", "no such kind")
    with pytest.raises(InvalidInput, match="detail"):
        domain.raise_alert("device_gap", "info", "")
    assert len(read(domain.engine, list_alerts)) == 1


def test_two_services_logging_the_same_pending_alerts_do_not_equivocate(world: World) -> None:
    """Alert envelopes signed twice from one state are identical: the second copy is a duplicate."""
    domain = world.domain
    world.red_ginseng()
    lab = world.signer(LAB, "inspector")
    test = lab.next(body("quality_test", result="fail", items=[FAIL]))
    (tested,) = domain.ledger.append([test])  # the rules raise an alert; nobody logs it yet
    assert tested.status == "accepted"
    first = pending_envelopes(domain.engine, domain.rules_signer)  # two services, one state
    second = pending_envelopes(domain.engine, domain.rules_signer)
    assert first == second
    assert len(first) == 1
    assert [r.status for r in domain.ledger.append(first)] == ["accepted"]
    assert [r.status for r in domain.ledger.append(second)] == ["duplicate"]
    assert domain.log_alerts() == []  # nothing left pending
    with domain.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(tables.equivocations)).scalar() == 0
        )
    (alert,) = read(domain.engine, list_alerts)
    assert alert.logged_index is not None
