"""Import of EPCIS documents through the domain's rules: bad, unmappable and refused input is
reported, and nothing valid is lost."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from epcis_samples import HOST, append_samples, fresh_domain, import_into, importer
from read_support import read
from sqlalchemy.engine import Engine
from support import TestSigner

from traceability.domain.alerts import list_alerts
from traceability.domain.service import Domain
from traceability.epcis.export import export_epcis
from traceability.epcis.importer import plan
from traceability.epcis.jsonout import dumps, loads
from traceability.errors import ConfigurationError, InvalidInput
from traceability.settings import Settings

Json = dict[str, Any]
VECTORS = Path(__file__).parent.parent / "vectors" / "epcis" / "examples"


@pytest.fixture(name="target")
def _target(settings: Settings, engine: Engine) -> Iterator[Domain]:
    """An empty domain log (SQLite and PostgreSQL) to import into, the rules on."""
    domain = Domain(settings, engine)
    yield domain
    domain.close()


@pytest.fixture(name="sqlite_target")
def _sqlite_target(tmp_path: Path) -> Iterator[Domain]:
    """An empty SQLite domain log to import into (for tests that need one backend)."""
    with fresh_domain(tmp_path / "target.db") as domain:
        yield domain


@pytest.fixture(name="document")
def _document(tmp_path: Path) -> Json:
    """An exported document with one event of every kind (from its own SQLite domain log), read
    back as JSON."""
    with fresh_domain(tmp_path / "source.db") as source:
        append_samples(source)
        document: Json = loads(dumps(export_epcis(source.engine, HOST).document))
    return document


def _events(document: Json) -> list[Json]:
    events: list[Json] = document["epcisBody"]["eventList"]
    return events


def _by_step(document: Json, step: str) -> Json:
    return next(e for e in _events(document) if str(e.get("bizStep", "")).endswith(step))


def test_a_document_that_is_not_epcis_is_refused_whole(target: Domain, document: Json) -> None:
    """A schema fault refuses the document before anything is signed or appended."""
    signer = importer(target)
    broken = copy.deepcopy(document)
    _by_step(broken, "commissioning")["bizStep"] = "harvesting"
    with pytest.raises(InvalidInput, match="bizStep"):
        import_into(target, signer, broken)
    with pytest.raises(InvalidInput, match="not a valid EPCIS"):
        import_into(target, signer, {"type": "EPCISDocument"})
    assert target.ledger.size() == 0


def test_unmappable_events_are_skipped_with_reasons(sqlite_target: Domain, document: Json) -> None:
    """Events with foreign identifiers, unknown units or bad values are reported; the rest go in."""
    official = json.loads(
        (VECTORS / "Example_9.6.1-ObjectEvent.jsonld").read_text(encoding="utf-8")
    )
    foreign = official["epcisBody"]["eventList"][0]  # shipping of urn:epc sgtins
    transaction = {
        **foreign,
        "type": "TransactionEvent",
        "bizTransactionList": [
            {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1152"}
        ],
    }
    transaction.pop("action", None)
    transaction["action"] = "ADD"
    harvest = _by_step(document, "commissioning")
    in_pounds = copy.deepcopy(harvest)
    in_pounds["quantityList"][0]["uom"] = "LBR"
    bad_herb = copy.deepcopy(harvest)
    bad_herb["ilmd"]["herbtrace:herb"] = "ginseng"
    elsewhere = copy.deepcopy(_by_step(document, "shipping"))
    elsewhere["quantityList"][0]["epcClass"] = "https://other.example/batch/FS-RS-2026-00002"
    unknown_step = copy.deepcopy(harvest)
    unknown_step["bizStep"] = "https://other.example/steps/drying"
    extra = [foreign, transaction, in_pounds, bad_herb, elsewhere, unknown_step]
    document["epcisBody"]["eventList"] = extra + _events(document)
    before = sqlite_target.ledger.size()
    outcomes = import_into(sqlite_target, importer(sqlite_target), document)
    reasons = [o.reason or "" for o in outcomes if o.status == "skipped"]
    assert len(reasons) == len(extra)
    assert "bizStep shipping has no herbtrace counterpart" not in reasons[0]
    assert "urn:epc:id:sgtin" in reasons[0]  # a shipping event, but of identifiers not ours
    assert "herbtrace has no counterpart of a TransactionEvent" in reasons[1]
    assert "unit LBR has no herbtrace equivalent" in reasons[2]
    assert reasons[3].startswith("harvest: herb: Input should be")
    assert "https://other.example/batch/FS-RS-2026-00002" in reasons[4]
    assert "bizStep https://other.example/steps/drying has no herbtrace counterpart" in reasons[5]
    appended = [o for o in outcomes if o.status == "appended"]
    assert len(appended) == len(_events(document)) - len(extra) + 5  # + sites and organisations
    assert sqlite_target.ledger.size() == before + len(appended)


DEPENDENTS = {
    "split": "unknown_batch",
    "merge": "unknown_batch",
    "quality_test": "unknown_batch",
    "pack": "unknown_batch",
    "retail_sale": "unknown_batch",
    "recall": "unknown_batch",
}
"""What the rules say of the events after 炮制 when 炮制 itself is not logged: no 红参 batch."""


def test_reasons_name_the_event(sqlite_target: Domain, document: Json) -> None:
    """Each skipped item is named by its eventID, so the sender can find and fix it; the rules
    then refuse what needed it (processing a batch whose receipt is missing: in transit)."""
    receipt = _by_step(document, "receiving")
    del receipt["sourceList"]
    outcomes = import_into(sqlite_target, importer(sqlite_target), document)
    [skipped] = [o for o in outcomes if o.status == "skipped"]
    assert skipped.source == receipt["eventID"]
    assert skipped.reason == "ObjectEvent has no sourceList"
    refused = {o.kind: o.code for o in outcomes if o.status == "rejected"}
    assert refused == {"processing": "in_transit", **DEPENDENTS}
    [paozhi] = [o for o in outcomes if o.kind == "processing"]
    assert paozhi.source == _by_step(document, "paozhi")["eventID"]
    assert "FS-RS-2026-00002 is in transit (shipment SH-2026-0042)" in (paozhi.reason or "")


def test_foreign_event_takes_its_date_from_event_time(document: Json) -> None:
    """An event without herbtrace's date field gets the local date of eventTime (+08:00)."""
    receive = _by_step(document, "receiving")
    for key in [k for k in receive if k.startswith("herbtrace:")]:
        del receive[key]
    receive["eventTime"] = "2026-09-22T17:30:00Z"  # 01:30 on the 23rd in China
    planned, skipped = plan(document, HOST)
    assert skipped == []
    [body] = [p.body for p in planned if p.body["type"] == "receive"]
    assert body == {
        "type": "receive",
        "shipment": "SH-2026-0042",
        "batches": ["FS-RS-2026-00002"],
        "sender": "FS-COOP",
        "site": "JA-PLANT-1",
        "received_on": "2026-09-23",
    }


def test_event_times_with_offsets_become_utc(document: Json) -> None:
    """An eventTime given with an offset is signed as the same instant in UTC."""
    _by_step(document, "recalling")["eventTime"] = "2026-10-20T09:15:30.250+08:00"
    planned, _ = plan(document, HOST)
    [recall] = [p for p in planned if p.body["type"] == "recall"]
    assert recall.time == "2026-10-20T01:15:30.25Z"


def test_only_a_registered_importer_may_import(target: Domain, document: Json) -> None:
    """An unregistered key, or a key of another role, is refused before anything is appended."""
    with pytest.raises(ConfigurationError, match="not a registered signer"):
        import_into(target, TestSigner(), document)
    device = TestSigner()
    device.register(target.engine, role="device")
    with pytest.raises(ConfigurationError, match="role device, not importer"):
        import_into(target, device, document)
    assert target.ledger.size() == 0


def test_refused_events_are_reported_and_leave_no_gap(target: Domain, document: Json) -> None:
    """An event the rules refuse is reported with its reason code, the events depending on it
    are refused in turn, everything else still goes in, and the import signer's chain has no
    gap; a refusal that looks like fraud raises an alert signed by the rules signer."""
    paozhi = _by_step(document, "paozhi")
    paozhi["outputQuantityList"][0]["quantity"] = Decimal("580.000")  # from 175 kg fresh
    signer = importer(target)
    outcomes = import_into(target, signer, document)
    refused = {o.kind: o.code for o in outcomes if o.status == "rejected"}
    assert refused == {"processing": "mass_balance", **DEPENDENTS}
    [mass] = [o for o in outcomes if o.code == "mass_balance"]
    assert mass.source == paozhi["eventID"]
    assert "580" in (mass.reason or "")
    payloads = [target.ledger.entry(i)[2].payload() for i in range(target.ledger.size())]
    mine = [p for p in payloads if p["signer"] == signer.key_id]
    assert [p["seq"] for p in mine] == list(range(1, len(mine) + 1))
    assert len(mine) == len(outcomes) - len(refused)
    assert mine[-1]["body"]["type"] == "alert"  # the imported alert, after the refused recall
    [alert] = read(target.engine, list_alerts, kind="mass_balance")
    assert alert.logged_index is not None
    assert payloads[alert.logged_index]["signer"] == target.rules_signer.key_id
    assert alert.evidence["signer"] == signer.key_id
