"""Import of EPCIS documents: bad and unmappable input is reported, and nothing valid is lost."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from epcis_samples import HOST, SampleLog, append_samples, fresh_ledger
from sqlalchemy.engine import Connection
from support import TestSigner

from traceability.envelope import ParsedEnvelope
from traceability.epcis.export import export_epcis
from traceability.epcis.importer import import_document, plan
from traceability.epcis.jsonout import dumps, loads
from traceability.errors import ConfigurationError, InvalidInput, Refused
from traceability.ledger import Ledger
from traceability.signers import SignerInfo

Json = dict[str, Any]
VECTORS = Path(__file__).parent.parent / "vectors" / "epcis" / "examples"


@pytest.fixture(name="document")
def _document(tmp_path: Path) -> Json:
    """An exported document with one event of every kind (from its own log), read back as JSON."""
    with fresh_ledger(tmp_path / "source.db") as source:
        append_samples(source)
        document: Json = loads(dumps(export_epcis(source.engine, HOST).document))
    return document


def _events(document: Json) -> list[Json]:
    events: list[Json] = document["epcisBody"]["eventList"]
    return events


def _by_step(document: Json, step: str) -> Json:
    return next(e for e in _events(document) if str(e.get("bizStep", "")).endswith(step))


def _importer(ledger: Ledger) -> TestSigner:
    signer = TestSigner()
    signer.register(ledger.engine, role="importer")
    return signer


def test_a_document_that_is_not_epcis_is_refused_whole(ledger: Ledger, document: Json) -> None:
    """A schema fault refuses the document before anything is signed or appended."""
    key = _importer(ledger).key
    broken = copy.deepcopy(document)
    _by_step(broken, "commissioning")["bizStep"] = "harvesting"
    with pytest.raises(InvalidInput, match="bizStep"):
        import_document(ledger, key, broken, HOST)
    with pytest.raises(InvalidInput, match="not a valid EPCIS"):
        import_document(ledger, key, {"type": "EPCISDocument"}, HOST)
    assert ledger.size() == 0


def test_unmappable_events_are_skipped_with_reasons(sqlite_ledger: Ledger, document: Json) -> None:
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
    before = sqlite_ledger.size()
    outcomes = import_document(sqlite_ledger, _importer(sqlite_ledger).key, document, HOST)
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
    assert len(appended) == len(_events(document)) - len(extra) + 4  # + sites and organisations
    assert sqlite_ledger.size() == before + len(appended)


def test_reasons_name_the_event(sqlite_ledger: Ledger, document: Json) -> None:
    """Each skipped item is named by its eventID, so the sender can find and fix it."""
    target = _by_step(document, "receiving")
    del target["sourceList"]
    outcomes = import_document(sqlite_ledger, _importer(sqlite_ledger).key, document, HOST)
    [skipped] = [o for o in outcomes if o.status == "skipped"]
    assert skipped.source == target["eventID"]
    assert skipped.reason == "ObjectEvent has no sourceList"


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


def test_only_a_registered_importer_may_import(ledger: Ledger, document: Json) -> None:
    """An unregistered key, or a key of another role, is refused before anything is appended."""
    with pytest.raises(ConfigurationError, match="not a registered signer"):
        import_document(ledger, TestSigner().key, document, HOST)
    device = TestSigner()
    device.register(ledger.engine, role="device")
    with pytest.raises(ConfigurationError, match="role device, not importer"):
        import_document(ledger, device.key, document, HOST)
    assert ledger.size() == 0


class RefuseRecalls:
    """An entry policy that refuses recall events (a stand-in for the domain's rules)."""

    def apply(
        self, conn: Connection, index: int, env: ParsedEnvelope, signer: SignerInfo, received: str
    ) -> None:
        del conn, index, signer, received
        if b'"type":"recall"' in env.payload_bytes:
            raise Refused("recalls are refused here")


def test_a_refused_event_leaves_no_gap_in_the_chain(sample_log: SampleLog, tmp_path: Path) -> None:
    """When the log's policy refuses one event, the later ones still go in, chained without gaps."""
    from epcis_samples import fresh_ledger

    document = loads(dumps(export_epcis(sample_log.ledger.engine, HOST).document))
    with fresh_ledger(tmp_path / "strict.db") as plain:
        settings, engine = plain.settings, plain.engine
        strict = Ledger(settings, engine, policy=RefuseRecalls())
        try:
            outcomes = import_document(strict, _importer(strict).key, document, HOST)
            payloads = [strict.entry(i)[2].payload() for i in range(strict.size())]
        finally:
            strict.close()
    [refused] = [o for o in outcomes if o.status == "rejected"]
    assert (refused.kind, refused.reason) == ("recall", "recalls are refused here")
    assert [p["seq"] for p in payloads] == list(range(1, len(payloads) + 1))
    assert payloads[-1]["body"]["type"] == "alert"  # the event after the refused one
