"""The traced unit of `herbtrace bench trace`: a ginseng story of 50 real signed events.

Planting to retail sale through the Domain service (signatures, rules, indexes), with
cultivation inputs and warehouse readings along the way, so the unit's backward trace
crosses 6 batches and 50 log entries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.canonical import canonical_bytes
from traceability.domain.lineage import trace_unit
from traceability.domain.service import Domain
from traceability.envelope import GENESIS_PREV, envelope_hash, sign_envelope
from traceability.keys import key_id_for, raw_public_key
from traceability.log.signers import register_signer

GTIN = "06901234567892"
UNIT_SERIAL = "0002"
ROOT = "BT-PL-001"
COOP, PLANT, LAB, SHOP = "bt-coop", "bt-plant", "bt-lab", "bt-pharmacy"
SITES = {"bt-base": COOP, "bt-works": PLANT, "bt-store": SHOP}


@dataclass
class Party:
    """A bench signer with its own chain (a key derived from its label)."""

    label: str
    organisation: str
    role: str
    seq: int = 0
    prev: str = GENESIS_PREV
    key: Ed25519PrivateKey = field(init=False)

    def __post_init__(self) -> None:
        seed = hashlib.sha256(f"herbtrace bench trace: {self.label}".encode()).digest()
        self.key = Ed25519PrivateKey.from_private_bytes(seed)

    def register(self, domain: Domain) -> None:
        """Register the signer."""
        register_signer(
            domain.engine,
            public_key=raw_public_key(self.key),
            name=f"bench {self.label}",
            organisation=self.organisation,
            role=self.role,
        )

    def sign(self, body: dict[str, Any], day: int = 1) -> dict[str, Any]:
        """Sign the next envelope of this signer's chain."""
        self.seq += 1
        payload = {
            "v": 1,
            "signer": key_id_for(raw_public_key(self.key)),
            "seq": self.seq,
            "prev": self.prev,
            "time": f"2026-10-{day:02d}T08:00:00Z",
            "body": body,
        }
        self.prev = envelope_hash(canonical_bytes(payload)).hex()
        return sign_envelope(self.key, payload)


def _kg(batch: str, value: str) -> dict[str, Any]:
    return {"batch": batch, "quantity": {"value": value, "unit": "kg"}}


def _readings(party: Party, batch: str, count: int, sensor: str) -> list[dict[str, Any]]:
    return [
        party.sign(
            {
                "type": "sensor_reading",
                "sensor": sensor,
                "kind": "warehouse",
                "batches": [batch],
                "readings": [
                    {
                        "at": f"2026-10-01T{i:02d}:00:00Z",
                        "temperature_c": "15",
                        "humidity_pct": "50",
                    }
                ],
            }
        )
        for i in range(count)
    ]


def _story(coop: Party, plant: Party, lab: Party, shop: Party) -> list[dict[str, Any]]:
    """The batch events, in order: 50 of them on the sold unit's backward trace."""
    planting = {
        "type": "planting",
        "batch": ROOT,
        "herb": "renshen",
        "site": "bt-base",
        "planted_on": "2020-04-25",
        "seed_source": "抚松",
        "area": {"value": "10", "unit": "mu"},
    }
    envs = [coop.sign(planting)]
    for year in range(1, 6):
        fertiliser = {
            "type": "cultivation_input",
            "batch": ROOT,
            "input": "fertiliser",
            "product": "农家肥",
            "dose": {"value": "150", "unit": "kg/mu"},
            "applied_on": f"202{year}-05-02",
        }
        envs.append(coop.sign(fertiliser))
    harvest = {
        "type": "harvest",
        "batch": "BT-H",
        "origin": ROOT,
        "herb": "renshen",
        "site": "bt-base",
        "harvested_on": "2026-09-15",
        "quantity": {"value": "200", "unit": "kg"},
        "growing_years": 6,
    }
    envs.append(coop.sign(harvest))
    envs += _readings(coop, "BT-H", 5, "bt-sensor-1")
    fresh = {
        "type": "fresh_processing",
        "inputs": [_kg("BT-H", "200")],
        "outputs": [_kg("BT-X", "190")],
        "steps": ["washing"],
        "site": "bt-base",
        "started_on": "2026-09-16",
    }
    envs.append(coop.sign(fresh))
    envs += _transfer(coop, plant, "BT-S1", "BT-X", "bt-works")
    envs += _readings(plant, "BT-X", 5, "bt-sensor-2")
    steam = {
        "type": "processing",
        "inputs": [_kg("BT-X", "190")],
        "outputs": [_kg("BT-HS", "60")],
        "steps": ["steaming", "drying"],
        "site": "bt-works",
        "started_on": "2026-09-20",
    }
    envs.append(plant.sign(steam))
    test = {
        "type": "quality_test",
        "batch": "BT-HS",
        "lab": LAB,
        "report_no": "R1",
        "method": "药典",
        "tested_on": "2026-09-25",
        "result": "pass",
        "items": [{"item": "moisture", "value": "10.0", "unit": "%"}],
    }
    envs.append(lab.sign(test))
    envs += _readings(plant, "BT-HS", 10, "bt-sensor-3")
    split = {"type": "split", "batch": "BT-HS", "children": [_kg("BT-A", "30"), _kg("BT-B", "30")]}
    envs.append(plant.sign(split))
    envs += _readings(plant, "BT-A", 5, "bt-sensor-4")
    pack = {
        "type": "pack",
        "batch": "BT-A",
        "packed_batch": "BT-P",
        "product": {"gtin": GTIN, "lot": "BT2026"},
        "unit_quantity": {"value": "0.250", "unit": "kg"},
        "serials": [f"{i:04d}" for i in range(1, 101)],
        "packed_on": "2026-10-01",
    }
    envs.append(plant.sign(pack))
    envs += _transfer(plant, shop, "BT-S2", "BT-P", "bt-store")
    envs += _readings(shop, "BT-P", 8, "bt-sensor-5")
    sale = {
        "type": "retail_sale",
        "batch": "BT-P",
        "serials": [UNIT_SERIAL],
        "sold_on": "2026-10-05",
    }
    envs.append(shop.sign(sale))
    return envs


def _transfer(
    sender: Party, to: Party, shipment: str, batch: str, site: str
) -> list[dict[str, Any]]:
    ship = {
        "type": "ship",
        "shipment": shipment,
        "batches": [batch],
        "to": to.organisation,
        "shipped_on": "2026-09-17",
    }
    receive = {
        "type": "receive",
        "shipment": shipment,
        "batches": [batch],
        "sender": sender.organisation,
        "site": site,
        "received_on": "2026-09-18",
    }
    return [sender.sign(ship), to.sign(receive)]


def record_story(domain: Domain) -> int:
    """Record the story; return the number of log entries on the unit's backward trace."""
    admin = Party("admin", "bt-admin", "admin")
    coop, plant = Party("coop", COOP, "device"), Party("plant", PLANT, "device")
    lab, shop = Party("lab", LAB, "inspector"), Party("shop", SHOP, "device")
    for p in (admin, coop, plant, lab, shop):
        p.register(domain)
    region = {"province": "吉林省", "city": "白山市", "county": "抚松县"}
    kinds = {COOP: "cooperative", PLANT: "processor", LAB: "testing_lab", SHOP: "retailer"}
    envs = [
        admin.sign({"type": "organisation", "id": org, "name": org, "kind": kind})
        for org, kind in kinds.items()
    ]
    for site, org in SITES.items():
        registration = {
            "type": "site",
            "id": site,
            "organisation": org,
            "name": site,
            "kind": "warehouse",
            "region": region,
        }
        envs.append(admin.sign(registration))
    envs += _story(coop, plant, lab, shop)
    refused = [r for r in domain.record(envs) if r.status != "accepted"]
    if refused:
        raise RuntimeError(f"bench story refused: {refused[0].reason}: {refused[0].detail}")
    with domain.engine.connect() as conn:
        return len(trace_unit(conn, GTIN, UNIT_SERIAL).events)
