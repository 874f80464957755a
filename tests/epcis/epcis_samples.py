"""One realistic body of every domain event kind, built with the models of schemas/events,
recorded through the domain's rules by the parties who would sign them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import TestSigner

from schemas.events import (
    Alert,
    Harvest,
    Husbandry,
    Merge,
    OrganisationRegistered,
    Pack,
    Planting,
    Processing,
    QualityTest,
    Recall,
    Receive,
    RetailSale,
    SensorReadings,
    Ship,
    SiteRegistered,
    Split,
)
from schemas.events.origin import CultivationInput
from schemas.events.processing import FreshProcessing
from traceability.domain.service import Domain
from traceability.epcis.importer import Outcome, import_document
from traceability.ledger import Ledger, initialise
from traceability.settings import Settings

GTIN = "06901234567892"
"""A GTIN-14 with a valid check digit (6901234 56789 → 2)."""

REGION = {"province": "吉林省", "city": "白山市", "county": "抚松县"}


def _kg(value: str) -> dict[str, str]:
    return {"value": value, "unit": "kg"}


def sample_bodies() -> list[dict[str, Any]]:
    """Return bodies of every kind, in an order the domain accepts, as signed JSON data."""
    models = [
        OrganisationRegistered(
            type="organisation",
            id="FS-COOP",
            name="抚松县参业合作社",
            kind="cooperative",
            region=REGION,
            credit_code="93220621MA0Y4B2X1L",
        ),
        OrganisationRegistered(
            type="organisation", id="JA-PLANT", name="集安市红参加工有限公司", kind="processor"
        ),
        OrganisationRegistered(
            type="organisation", id="JL-LAB", name="吉林省药品检验研究院", kind="testing_lab"
        ),
        SiteRegistered(
            type="site",
            id="FS-BASE-1",
            organisation="FS-COOP",
            name="抚松县露水河林下参基地",
            kind="planting_base",
            region=REGION,
            location={"lat": "42.3601", "lon": "127.4842"},
            gap={"status": "certified", "certificate": "GAP-JL-2024-017"},
        ),
        SiteRegistered(
            type="site",
            id="JA-PLANT-1",
            organisation="JA-PLANT",
            name="集安红参加工厂",
            kind="processing_plant",
            region={"province": "吉林省", "city": "通化市", "county": "集安市"},
            gln="6901234000017",
        ),
        Planting(
            type="planting",
            batch="FS-RS-P-2020-01",
            herb="renshen",
            site="FS-BASE-1",
            planted_on="2020-05-02",
            seed_source="抚松县参业合作社种子园",
            area={"value": "3.5", "unit": "mu"},
            method="forest_understory",
        ),
        CultivationInput(
            type="cultivation_input",
            batch="FS-RS-P-2020-01",
            input="fungicide",
            product="多抗霉素",
            registration_no="PD20097343",
            dose={"value": "0.150", "unit": "kg/mu"},
            applied_on="2024-06-11",
            safety_interval_days=14,
        ),
        Husbandry(
            type="husbandry",
            herd="SY-DEER-01",
            site="FS-BASE-1",
            activity="established",
            on="2021-03-01",
            herb="lurong",
            animals=40,
        ),
        Harvest(
            type="harvest",
            batch="FS-RS-2026-00001",
            origin="FS-RS-P-2020-01",
            herb="renshen",
            site="FS-BASE-1",
            harvested_on="2026-09-20",
            quantity=_kg("182.500"),
            growing_years=6,
            part="根",
        ),
        SensorReadings(
            type="sensor_reading",
            sensor="DRY-07",
            kind="drying_room",
            batches=["FS-RS-2026-00001"],
            site="FS-BASE-1",
            readings=[
                {"at": "2026-09-21T02:00:00Z", "temperature_c": "-1.5", "humidity_pct": "61.2"},
                {"at": "2026-09-21T03:00:00Z", "temperature_c": "42.0"},
            ],
        ),
        FreshProcessing(
            type="fresh_processing",
            inputs=[{"batch": "FS-RS-2026-00001", "quantity": _kg("182.500")}],
            outputs=[{"batch": "FS-RS-2026-00002", "quantity": _kg("175.000"), "form": "鲜参"}],
            steps=["washing", "trimming"],
            site="FS-BASE-1",
            started_on="2026-09-21",
        ),
        Ship(
            type="ship",
            shipment="SH-2026-0042",
            batches=["FS-RS-2026-00002"],
            to="JA-PLANT",
            to_site="JA-PLANT-1",
            carrier="吉林冷链物流",
            shipped_on="2026-09-22",
        ),
        Receive(
            type="receive",
            shipment="SH-2026-0042",
            batches=["FS-RS-2026-00002"],
            sender="FS-COOP",
            site="JA-PLANT-1",
            received_on="2026-09-23",
        ),
        Processing(
            type="processing",
            inputs=[{"batch": "FS-RS-2026-00002", "quantity": _kg("175.000")}],
            outputs=[{"batch": "JA-HS-2026-0007", "quantity": _kg("58.250"), "form": "红参"}],
            steps=["steaming", "drying"],
            site="JA-PLANT-1",
            started_on="2026-09-24",
            finished_on="2026-09-30",
            parameters={"蒸制温度": "100 °C", "时长": "3 h"},
        ),
        Split(
            type="split",
            batch="JA-HS-2026-0007",
            children=[
                {"batch": "JA-HS-2026-0007-A", "quantity": _kg("30.000")},
                {"batch": "JA-HS-2026-0007-B", "quantity": _kg("26.500")},
                {"batch": "JA-HS-2026-0007-C", "quantity": _kg("1.750")},
            ],
        ),
        Merge(
            type="merge",
            inputs=[
                {"batch": "JA-HS-2026-0007-B", "quantity": _kg("26.500")},
                {"batch": "JA-HS-2026-0007-C", "quantity": {"value": "1750", "unit": "g"}},
            ],
            output={"batch": "JA-HS-2026-0010", "quantity": _kg("28.250")},
        ),
        QualityTest(
            type="quality_test",
            batch="JA-HS-2026-0007-A",
            lab="JL-LAB",
            report_no="JLYJ-2026-10-0981",
            method="《中国药典》2020 年版一部",
            tested_on="2026-10-08",
            items=[
                {"item": "moisture", "value": "10.20", "unit": "%"},
                {"item": "ginsenoside_rg1_re", "value": "0.45", "unit": "%"},
                {"item": "lead", "value": "0.31", "unit": "mg/kg"},
                {"item": "quintozene", "value": "0.010", "unit": "mg/kg", "below_detection": True},
                {"item": "volatile_oil", "value": "1.20", "unit": "mL/g"},
            ],
            result="pass",
        ),
        Pack(
            type="pack",
            batch="JA-HS-2026-0007-A",
            packed_batch="JA-HS-2026-0007-A-P",
            product={"gtin": GTIN, "lot": "HS2026A", "name": "长白山红参 250 g"},
            unit_quantity={"value": "0.250", "unit": "kg"},
            serials=["0001", "0002", "0003"],
            packed_on="2026-10-10",
        ),
        RetailSale(
            type="retail_sale",
            batch="JA-HS-2026-0007-A-P",
            serials=["0002"],
            sold_on="2026-11-01",
        ),
        Recall(
            type="recall",
            batch="JA-HS-2026-0010",
            reason="铅含量复检超标",
            level="II",
        ),
        Alert(
            type="alert",
            kind="quality_failed",
            severity="critical",
            batch="JA-HS-2026-0010",
            detail="lead 5.8 mg/kg exceeds the limit of 5 mg/kg",
            evidence={"item": "lead", "value": "5.8"},
        ),
    ]
    return [m.model_dump(mode="json", exclude_unset=True) for m in models]


HOST = "id.herbtrace.local"

SIGNED_BY = {
    "organisation": ("平台", "admin"),
    "site": ("平台", "admin"),
    "planting": ("FS-COOP", "operator"),
    "cultivation_input": ("FS-COOP", "operator"),
    "husbandry": ("FS-COOP", "operator"),
    "harvest": ("FS-COOP", "device"),
    "sensor_reading": ("FS-COOP", "device"),
    "fresh_processing": ("FS-COOP", "operator"),
    "ship": ("FS-COOP", "operator"),
    "receive": ("JA-PLANT", "operator"),
    "processing": ("JA-PLANT", "operator"),
    "split": ("JA-PLANT", "operator"),
    "merge": ("JA-PLANT", "operator"),
    "pack": ("JA-PLANT", "operator"),
    "retail_sale": ("JA-PLANT", "operator"),
    "quality_test": ("JL-LAB", "inspector"),
    "recall": ("市场监管局", "regulator"),
}
"""Who signs each kind of sample event: (organisation, role). Alerts come from the rules signer."""


@dataclass
class SampleLog:
    """A domain log holding the samples: the bodies as logged and their log indices."""

    domain: Domain
    bodies: list[dict[str, Any]]
    indices: list[int]

    @property
    def ledger(self) -> Ledger:
        """The domain's ledger (appends through the rules)."""
        return self.domain.ledger


def append_samples(domain: Domain) -> SampleLog:
    """Record every sample body through the rules, each signed by its party one minute apart;
    the alert is raised through `Domain.raise_alert` (a finding from outside the rules)."""
    signers: dict[tuple[str, str], TestSigner] = {}
    indices = []
    for n, body in enumerate(sample_bodies()):
        if body["type"] == "alert":
            raised = domain.raise_alert(
                body["kind"],
                body["severity"],
                body["detail"],
                batch=body["batch"],
                evidence=body["evidence"],
            )
            assert raised.logged_index is not None
            indices.append(raised.logged_index)
            continue
        party = SIGNED_BY[body["type"]]
        if party not in signers:
            signers[party] = TestSigner()
            signers[party].register(domain.engine, role=party[1], org=party[0])
        signer = signers[party]
        time = f"2026-09-20T{8 + n // 60:02d}:{n % 60:02d}:00Z"
        [result] = domain.record([signer.sign(signer.payload(body, time=time))])
        assert result.status == "accepted", (body["type"], result.reason, result.detail)
        assert result.index is not None
        indices.append(result.index)
    assert indices == list(range(len(indices)))  # nothing else was logged: no rule raised alerts
    bodies = [domain.ledger.entry(i)[2].payload()["body"] for i in indices]
    return SampleLog(domain, bodies, indices)


@contextmanager
def fresh_domain(path: Path | None, url: str | None = None) -> Iterator[Domain]:
    """A Domain (the rules on) on a new SQLite file at `path` (or on the database `url`)."""
    settings = Settings(database_url=url or f"sqlite:///{path}", log_origin="import.herbtrace/log")
    initialise(settings)
    domain = Domain(settings)
    try:
        yield domain
    finally:
        domain.close()


def importer(domain: Domain, org: str = "国家中药材流通追溯平台") -> TestSigner:
    """A registered import signer of `org`."""
    signer = TestSigner()
    signer.register(domain.engine, role="importer", org=org)
    return signer


def import_into(domain: Domain, signer: TestSigner, document: dict[str, Any]) -> list[Outcome]:
    """Import `document` through the domain's rules, as `herbtrace import epcis` does."""
    return import_document(domain.ledger, signer.key, document, HOST, append=domain.record)
