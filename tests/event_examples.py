"""One valid example body of every domain event type, telling one ginseng and one velvet story."""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, dict[str, Any]] = {
    "organisation": {
        "type": "organisation",
        "id": "org-fusong-coop",
        "name": "抚松县长白山人参种植专业合作社",
        "name_en": "Fusong Changbaishan Ginseng Cooperative",
        "kind": "cooperative",
        "region": {"province": "吉林省", "city": "白山市", "county": "抚松县", "code": "220621"},
        "credit_code": "93220621MA0Y12345X",
    },
    "site": {
        "type": "site",
        "id": "site-fusong-wanliang",
        "organisation": "org-fusong-coop",
        "name": "万良镇林下参基地",
        "kind": "planting_base",
        "region": {"province": "吉林省", "city": "白山市", "county": "抚松县", "town": "万良镇"},
        "location": {"lat": "42.2816", "lon": "127.5012"},
        "gap": {"status": "certified", "certificate": "GAP-JL-2024-018"},
    },
    "planting": {
        "type": "planting",
        "batch": "FS-PL-2020-001",
        "herb": "renshen",
        "site": "site-fusong-wanliang",
        "planted_on": "2020-04-25",
        "seed_source": "抚松县良种繁育基地",
        "seed_lot": "RS-SEED-2019-07",
        "area": {"value": "12.5", "unit": "mu"},
        "method": "forest_understory",
    },
    "husbandry": {
        "type": "husbandry",
        "herd": "SY-HERD-03",
        "site": "site-shuangyang-farm",
        "activity": "quarantine",
        "on": "2026-05-18",
        "certificate": "吉动检 2026-000318",
        "animals": 42,
    },
    "cultivation_input": {
        "type": "cultivation_input",
        "batch": "FS-PL-2020-001",
        "input": "fertiliser",
        "product": "腐熟农家肥",
        "dose": {"value": "150", "unit": "kg/mu"},
        "applied_on": "2025-05-02",
    },
    "harvest": {
        "type": "harvest",
        "batch": "FS-RS-2026-001",
        "origin": "FS-PL-2020-001",
        "herb": "renshen",
        "site": "site-fusong-wanliang",
        "harvested_on": "2026-09-15",
        "quantity": {"value": "180.500", "unit": "kg"},
        "growing_years": 6,
        "part": "根和根茎",
    },
    "fresh_processing": {
        "type": "fresh_processing",
        "inputs": [{"batch": "FS-RS-2026-001", "quantity": {"value": "180.500", "unit": "kg"}}],
        "outputs": [
            {
                "batch": "FS-XS-2026-001",
                "quantity": {"value": "176.000", "unit": "kg"},
                "form": "鲜人参",
            }
        ],
        "steps": ["washing", "grading"],
        "site": "site-fusong-wanliang",
        "started_on": "2026-09-16",
    },
    "processing": {
        "type": "processing",
        "inputs": [{"batch": "FS-XS-2026-001", "quantity": {"value": "176.000", "unit": "kg"}}],
        "outputs": [
            {
                "batch": "JA-HS-2026-001",
                "quantity": {"value": "52.800", "unit": "kg"},
                "form": "红参",
            }
        ],
        "steps": ["steaming", "drying"],
        "site": "site-jian-plant",
        "started_on": "2026-09-20",
        "finished_on": "2026-09-24",
        "parameters": {"蒸制": "100 °C, 3 h"},
    },
    "split": {
        "type": "split",
        "batch": "JA-HS-2026-001",
        "children": [
            {"batch": "JA-HS-2026-001-A", "quantity": {"value": "30.000", "unit": "kg"}},
            {"batch": "JA-HS-2026-001-B", "quantity": {"value": "22.800", "unit": "kg"}},
        ],
    },
    "merge": {
        "type": "merge",
        "inputs": [
            {"batch": "JA-HS-2026-001-B", "quantity": {"value": "22.800", "unit": "kg"}},
            {"batch": "JA-HS-2026-002-B", "quantity": {"value": "20.000", "unit": "kg"}},
        ],
        "output": {"batch": "JA-HS-2026-M01", "quantity": {"value": "42.800", "unit": "kg"}},
    },
    "pack": {
        "type": "pack",
        "batch": "JA-HS-2026-001-A",
        "packed_batch": "JA-HS-2026-001-P",
        "product": {"gtin": "06901234567892", "lot": "HS2026001", "name": "长白山红参 250 g"},
        "unit_quantity": {"value": "0.250", "unit": "kg"},
        "serials": ["0001", "0002", "0003"],
        "packed_on": "2026-10-08",
    },
    "quality_test": {
        "type": "quality_test",
        "batch": "JA-HS-2026-001",
        "lab": "org-jilin-lab",
        "report_no": "JLZY-2026-10-0231",
        "method": "《中华人民共和国药典》2020 年版一部 红参",
        "tested_on": "2026-10-02",
        "items": [
            {"item": "moisture", "value": "11.2", "unit": "%"},
            {"item": "ginsenoside_rg1_re", "value": "0.41", "unit": "%"},
            {"item": "lead", "value": "0.8", "unit": "mg/kg"},
        ],
        "result": "pass",
    },
    "sensor_reading": {
        "type": "sensor_reading",
        "sensor": "coldchain-logger-07",
        "kind": "cold_chain",
        "batches": ["JA-HS-2026-001-P"],
        "readings": [
            {"at": "2026-10-10T02:00:00Z", "temperature_c": "4.5", "humidity_pct": "55"},
            {"at": "2026-10-10T02:05:00Z", "temperature_c": "-1.0"},
        ],
    },
    "ship": {
        "type": "ship",
        "shipment": "SHP-2026-1010-01",
        "batches": ["JA-HS-2026-001-P"],
        "to": "org-changchun-pharmacy",
        "carrier": "吉林顺达冷链物流",
        "shipped_on": "2026-10-10",
    },
    "receive": {
        "type": "receive",
        "shipment": "SHP-2026-1010-01",
        "batches": ["JA-HS-2026-001-P"],
        "sender": "org-jian-processor",
        "site": "site-changchun-pharmacy",
        "received_on": "2026-10-11",
    },
    "retail_sale": {
        "type": "retail_sale",
        "batch": "JA-HS-2026-001-P",
        "serials": ["0002"],
        "sold_on": "2026-10-20",
    },
    "recall": {
        "type": "recall",
        "batch": "JA-HS-2026-001",
        "reason": "重金属镉超标复检确认",
        "level": "II",
    },
    "alert": {
        "type": "alert",
        "kind": "quality_failed",
        "severity": "critical",
        "batch": "JA-HS-2026-001",
        "detail": "镉 1.4 mg/kg exceeds the limit 1 mg/kg",
        "evidence": {"item": "cadmium", "value": "1.4", "limit": "1"},
        "envelopes": ["9f" * 32],
    },
}
"""Valid bodies keyed by type; tests copy and break them."""
