"""Export of the log as EPCIS 2.0: validity, the mapping of every event kind, and provenance."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import pytest
from epcis_samples import GTIN, HOST, SampleLog
from support import TestSigner

from traceability.domain.policy import DomainPolicy
from traceability.epcis.export import export_epcis
from traceability.epcis.jsonout import dumps, loads
from traceability.epcis.lineage import IndexesBehind
from traceability.epcis.validate import validate_epcis
from traceability.errors import NotFound
from traceability.ledger import Ledger
from traceability.log.merkle import verify_inclusion

Json = dict[str, Any]
VOC = "https://herbtrace.org/voc/"


def _batch(batch: str) -> str:
    return f"https://{HOST}/batch/{batch}"


def _site(site: str) -> str:
    return f"https://{HOST}/site/{site}"


PLANT = f"https://{HOST}/414/6901234000017"
PACKED = f"https://{HOST}/01/{GTIN}/10/HS2026A"


@pytest.fixture(name="exported")
def _exported(sample_log: SampleLog) -> dict[str, Json]:
    """The sample log exported, each event keyed by the herbtrace kind it came from."""
    document = export_epcis(sample_log.ledger.engine, HOST).document
    kinds = [b["type"] for b in sample_log.bodies if b["type"] not in ("site", "organisation")]
    events = document["epcisBody"]["eventList"]
    assert len(events) == len(kinds)
    return {"document": document, **dict(zip(kinds, events, strict=True))}


def test_export_of_every_kind_validates_with_format_checking(exported: dict[str, Json]) -> None:
    """The document of a log with one event of every kind is valid EPCIS, also as written text."""
    document = exported["document"]
    validate_epcis(document)
    validate_epcis(loads(dumps(document)))
    assert document["type"] == "EPCISDocument"
    assert document["schemaVersion"] == "2.0"
    assert document["@context"][1] == {"herbtrace": VOC}


def test_harvest_is_commissioning_with_ilmd(exported: dict[str, Json]) -> None:
    """Harvest → ObjectEvent ADD, commissioning, active; kg quantity; herb and age in ilmd."""
    event = exported["harvest"]
    assert (event["type"], event["action"], event["bizStep"]) == (
        "ObjectEvent",
        "ADD",
        "commissioning",
    )
    assert event["disposition"] == "active"
    assert event["quantityList"] == [
        {"epcClass": _batch("FS-RS-2026-00001"), "quantity": Decimal("182.500"), "uom": "KGM"}
    ]
    assert event["bizLocation"] == {"id": _site("FS-BASE-1")}
    assert event["ilmd"] == {
        "herbtrace:origin": "FS-RS-P-2020-01",
        "herbtrace:herb": "renshen",
        "herbtrace:harvested_on": "2026-09-20",
        "herbtrace:growing_years": 6,
        "herbtrace:part": "根",
    }


def test_processing_is_a_transformation_with_quantities(exported: dict[str, Json]) -> None:
    """炮制 → TransformationEvent, herbtrace paozhi bizStep, kg in and out, step URIs, form."""
    event = exported["processing"]
    assert event["type"] == "TransformationEvent"
    assert event["bizStep"] == f"{VOC}bizstep/paozhi"
    assert event["inputQuantityList"] == [
        {"epcClass": _batch("FS-RS-2026-00002"), "quantity": Decimal("175.000"), "uom": "KGM"}
    ]
    assert event["outputQuantityList"] == [
        {"epcClass": _batch("JA-HS-2026-0007"), "quantity": Decimal("58.250"), "uom": "KGM"}
    ]
    assert event["herbtrace:steps"] == [f"{VOC}step/steaming", f"{VOC}step/drying"]
    assert event["bizLocation"] == {"id": PLANT}  # the plant has a GLN
    assert event["ilmd"] == {"herbtrace:forms": {"JA-HS-2026-0007": "红参"}}
    assert event["herbtrace:parameters"] == {"蒸制温度": "100 °C", "时长": "3 h"}
    fresh = exported["fresh_processing"]
    assert fresh["bizStep"] == f"{VOC}bizstep/fresh_processing"


def test_split_and_merge_are_transformations(exported: dict[str, Json]) -> None:
    """Split: one input class, outputs with kg; merge: inputs in g and kg, one output."""
    split, merge = exported["split"], exported["merge"]
    assert split["bizStep"] == f"{VOC}bizstep/splitting"
    assert split["inputQuantityList"] == [{"epcClass": _batch("JA-HS-2026-0007")}]
    assert [q["quantity"] for q in split["outputQuantityList"]] == [
        Decimal("30.000"),
        Decimal("26.500"),
        Decimal("1.750"),
    ]
    assert merge["bizStep"] == f"{VOC}bizstep/merging"
    assert merge["inputQuantityList"][1] == {
        "epcClass": _batch("JA-HS-2026-0007-C"),
        "quantity": Decimal("1750"),
        "uom": "GRM",
    }
    assert merge["outputQuantityList"][0]["epcClass"] == _batch("JA-HS-2026-0010")


def test_testing_is_inspecting_with_sensor_reports(exported: dict[str, Json]) -> None:
    """Test → ObjectEvent OBSERVE inspecting, conformant; one sensorReport per measured item."""
    event = exported["quality_test"]
    assert (event["action"], event["bizStep"], event["disposition"]) == (
        "OBSERVE",
        "inspecting",
        "conformant",
    )
    [element] = event["sensorElementList"]
    lead = element["sensorReport"][2]
    assert lead == {
        "type": "MassConcentration",
        "chemicalSubstance": f"{VOC}item/lead",
        "value": Decimal("0.31"),
        "uom": "NA",
    }
    assert element["sensorReport"][0]["type"] == "Dimensionless"
    assert element["sensorReport"][0]["uom"] == "P1"
    assert element["sensorReport"][3]["herbtrace:below_detection"] is True
    assert element["sensorReport"][4] == {
        "type": "SpecificVolume",
        "chemicalSubstance": f"{VOC}item/volatile_oil",
        "value": Decimal("0.00120"),  # 1.20 mL/g in m³/kg, exactly
        "uom": "A39",
    }
    assert event["herbtrace:report_no"] == "JLYJ-2026-10-0981"


def test_sensor_readings_are_sensor_reporting(exported: dict[str, Json]) -> None:
    """Readings → sensor_reporting, one sensorElement per reading with time and device."""
    event = exported["sensor_reading"]
    assert event["bizStep"] == "sensor_reporting"
    first, second = event["sensorElementList"]
    assert first["sensorMetadata"] == {
        "time": "2026-09-21T02:00:00Z",
        "deviceID": f"https://{HOST}/sensor/DRY-07",
    }
    assert first["sensorReport"] == [
        {"type": "Temperature", "value": Decimal("-1.5"), "uom": "CEL"},
        {"type": "RelativeHumidity", "value": Decimal("61.2"), "uom": "P1"},
    ]
    assert len(second["sensorReport"]) == 1


def test_packing_is_an_aggregation_of_digital_links(exported: dict[str, Json]) -> None:
    """Pack → AggregationEvent ADD packing: parent = lot's Digital Link, children = units."""
    event = exported["pack"]
    assert (event["type"], event["action"], event["bizStep"]) == (
        "AggregationEvent",
        "ADD",
        "packing",
    )
    assert event["parentID"] == PACKED
    assert event["childEPCs"] == [f"{PACKED}/21/000{n}" for n in (1, 2, 3)]
    assert event["childQuantityList"] == [
        {"epcClass": _batch("JA-HS-2026-0007-A"), "quantity": Decimal("0.750"), "uom": "KGM"}
    ]


def test_custody_events(exported: dict[str, Json]) -> None:
    """Ship: shipping/in_transit to a party and site; receive: receiving at a site from a party."""
    ship, receive = exported["ship"], exported["receive"]
    assert (ship["bizStep"], ship["disposition"]) == ("shipping", "in_transit")
    assert ship["destinationList"] == [
        {"type": "owning_party", "destination": f"https://{HOST}/org/JA-PLANT"},
        {"type": "location", "destination": PLANT},
    ]
    shipment = [{"type": "desadv", "bizTransaction": f"https://{HOST}/shipment/SH-2026-0042"}]
    assert ship["bizTransactionList"] == shipment
    assert (receive["bizStep"], receive["disposition"]) == ("receiving", "in_progress")
    assert receive["bizTransactionList"] == shipment
    assert receive["sourceList"] == [
        {"type": "owning_party", "source": f"https://{HOST}/org/FS-COOP"}
    ]
    assert receive["bizLocation"] == {"id": PLANT}


def test_retail_sale_and_recall(exported: dict[str, Json]) -> None:
    """Sale: retail_selling/retail_sold of unit Digital Links; recall: disposition recalled."""
    sale, recall = exported["retail_sale"], exported["recall"]
    assert (sale["bizStep"], sale["disposition"]) == ("retail_selling", "retail_sold")
    assert sale["epcList"] == [f"{PACKED}/21/0002"]
    assert recall["disposition"] == "recalled"
    assert recall["persistentDisposition"] == {"set": ["recalled"]}
    assert recall["quantityList"] == [{"epcClass": _batch("JA-HS-2026-0010")}]
    assert recall["herbtrace:reason"] == "铅含量复检超标"


def test_registrations_are_master_data(exported: dict[str, Json]) -> None:
    """Sites are BusinessLocation master data under the URI events use; organisations too."""
    header = exported["document"]["epcisHeader"]["epcisMasterData"]["vocabularyList"]
    locations, organisations = header
    assert locations["type"] == "urn:epcglobal:epcis:vtype:BusinessLocation"
    assert [e["id"] for e in locations["vocabularyElementList"]] == [_site("FS-BASE-1"), PLANT]
    assert organisations["type"] == f"{VOC}vtype/Organisation"
    names = {
        a["attribute"]
        for e in organisations["vocabularyElementList"]
        for a in e["attributes"]
        if a["id"] == "herbtrace:name"
    }
    assert names == {"抚松县参业合作社", "集安市红参加工有限公司", "吉林省药品检验研究院"}


def test_each_event_leads_back_to_its_log_proof(
    sample_log: SampleLog, exported: dict[str, Json]
) -> None:
    """eventTime, eventID, index and leaf hash match the entry, whose inclusion proof verifies."""
    ledger = sample_log.ledger
    event = exported["harvest"]
    index = event["herbtrace:log_index"]
    leaf, leaf_hash, entry = ledger.entry(index)
    assert event["herbtrace:leaf_hash"] == leaf_hash.hex()
    assert event["eventTime"] == entry.payload()["time"]
    assert event["recordTime"] == entry.received
    digest = hashlib.sha256(entry.payload_bytes).hexdigest()
    assert event["eventID"] == f"ni:///sha-256;{digest}?ver=herbtrace-envelope-1"
    ledger.checkpointer.issue(ledger.engine)
    checkpoint = ledger.latest_checkpoint()
    proof = ledger.inclusion_proof(index, checkpoint.tree_size)
    verify_inclusion(index, checkpoint.tree_size, leaf_hash, proof, checkpoint.root)
    assert leaf.startswith(b"herbtrace/v1/entry\n")


THROUGH_THE_SPLIT = [
    "planting",
    "cultivation_input",
    "commissioning",
    "sensor_reporting",
    "fresh_processing",
    "shipping",
    "receiving",
    "paozhi",
    "splitting",
]
"""The sample's steps from the planting to the split of JA-HS-2026-0007, in log order."""


def _steps(document: Json) -> list[str]:
    return [e["bizStep"].rsplit("/", 1)[-1] for e in document["epcisBody"]["eventList"]]


def test_batch_export_keeps_the_lineage_only(sample_log: SampleLog) -> None:
    """--batch gives the events on the batch's ancestors and descendants, not its siblings'."""
    result = export_epcis(sample_log.ledger.engine, HOST, batch="JA-HS-2026-0007-A-P")
    validate_epcis(result.document)
    assert _steps(result.document) == [
        *THROUGH_THE_SPLIT,  # it names the siblings -B and -C too, but their merge stays out
        "inspecting",
        "packing",
        "retail_selling",
    ]
    assert result.registrations == 5  # every organisation and site comes along
    assert result.skipped == []


def test_batch_export_of_a_middle_batch_goes_both_ways(sample_log: SampleLog) -> None:
    """From the split batch: everything upstream, and every child's events downstream (the
    merge, the recall and the alert on its product); nothing about the herd beside it."""
    document = export_epcis(sample_log.ledger.engine, HOST, batch="JA-HS-2026-0007").document
    assert _steps(document)[7:] == [
        "paozhi",
        "splitting",
        "merging",
        "inspecting",
        "packing",
        "retail_selling",
        "recalling",
        "alerting",
    ]
    assert "husbandry" not in _steps(document)
    merged = export_epcis(sample_log.ledger.engine, HOST, batch="JA-HS-2026-0010").document
    assert _steps(merged) == [
        *THROUGH_THE_SPLIT,
        "merging",  # not the sibling -A's test, packing and sale
        "recalling",
        "alerting",
    ]


def test_batch_export_of_an_unknown_batch_is_refused(sample_log: SampleLog) -> None:
    """A batch the domain never recorded is NotFound, named in the message."""
    with pytest.raises(NotFound, match="batch NO-SUCH-BATCH is not recorded"):
        export_epcis(sample_log.ledger.engine, HOST, batch="NO-SUCH-BATCH")


def test_batch_export_needs_current_indexes(sample_log: SampleLog) -> None:
    """Entries appended past the rules make a batch export refuse until the indexes catch up;
    then the new entry is in the batch's lineage."""
    domain = sample_log.domain
    lab = TestSigner()
    lab.register(domain.engine, role="inspector", org="JL-LAB")
    retest = {**next(b for b in sample_log.bodies if b["type"] == "quality_test")}
    retest["report_no"] = "JLYJ-2026-11-0007"
    with Ledger(domain.settings, domain.engine) as plain:  # no domain policy
        [result] = plain.append([lab.next(retest)])
    assert result.status == "accepted"
    with pytest.raises(IndexesBehind, match="herbtrace reindex"):
        export_epcis(domain.engine, HOST, batch="JA-HS-2026-0007-A-P")
    assert DomainPolicy(domain.settings, domain.engine).catch_up() == 1
    assert DomainPolicy(domain.settings, domain.engine).catch_up() == 0
    document = export_epcis(domain.engine, HOST, batch="JA-HS-2026-0007-A-P").document
    assert _steps(document).count("inspecting") == 2
    assert document["epcisBody"]["eventList"][-1]["herbtrace:log_index"] == result.index


def test_entries_that_are_no_domain_event_are_left_out_with_the_reason(
    sample_log: SampleLog,
) -> None:
    """An entry whose body no domain model accepts is reported, and the rest still exports."""
    signer = TestSigner()
    signer.register(sample_log.ledger.engine)
    odd = {"type": "harvest", "batch": "X-1", "quantity": {"value": "1", "unit": "kg"}}
    with Ledger(sample_log.domain.settings, sample_log.domain.engine) as plain:
        [result] = plain.append([signer.next(odd)])
    exported = export_epcis(sample_log.ledger.engine, HOST)
    assert exported.skipped == [(result.index, "harvest body: harvest.origin: Field required")]
    assert exported.events == len(sample_log.bodies) - 5
