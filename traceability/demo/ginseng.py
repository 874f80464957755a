"""The six-year 长白山人参 story: 抚松 base → 集安 红参 → tested, boxed → a 长春 pharmacy.

Story n's variations: n ≡ 0 (mod 3) fails its first test on moisture, is dried again and
passes a retest; n ≡ 1 has a cold-chain excursion on the way to the pharmacy; n ≡ 2 fails
a market-surveillance test at the pharmacy and the regulator recalls the 红参 batch.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from traceability.demo import parties as p
from traceability.demo.story import (
    Story,
    demo_gtin,
    grams,
    iso,
    kg,
    local_moment,
    serials,
    utc_text,
)

FRESH_YIELD = Decimal("0.97")
"""Washing and grading keep about 97% of the fresh roots."""

RED_YIELD = Decimal("0.31")
"""Steaming and drying fresh roots leaves about 31% of their mass as 红参 (3.2 : 1)."""

BOXED_KG = Decimal(30)
"""Of each 红参 batch, 30 kg is split off for 250 g gift boxes; the rest goes in bulk."""

RED_GINSENG_GTIN = demo_gtin("0123", "00011")
"""长白山六年生红参 250 g, from the 集安 processor's (demo) company prefix."""


def quality_test(
    batch: str, report: str, on: date, moisture: str, rb1: str, *, passed: bool
) -> dict[str, Any]:
    """A 红参 test by the provincial lab under the 2020 pharmacopoeia.

    Its limits: moisture ≤ 12.0%, total ash ≤ 5.0%, Rg1 + Re ≥ 0.30%, Rb1 ≥ 0.20%.
    """
    return {
        "type": "quality_test",
        "batch": batch,
        "lab": p.LAB,
        "report_no": report,
        "sample_id": f"YP-{report.removeprefix('JLZY-')}",
        "method": "《中华人民共和国药典》2020年版一部 红参",
        "tested_on": iso(on),
        "items": [
            {"item": "moisture", "value": moisture, "unit": "%"},
            {"item": "total_ash", "value": "3.6", "unit": "%"},
            {"item": "ginsenoside_rg1_re", "value": "0.41", "unit": "%"},
            {"item": "ginsenoside_rb1", "value": rb1, "unit": "%"},
        ],
        "result": "pass" if passed else "fail",
    }


def readings(day: date, start_hour: int, temps: list[str], humidity: str) -> list[dict[str, str]]:
    """Half-hourly sensor samples from `start_hour` China time on `day`."""
    return [
        {
            "at": utc_text(local_moment(day, start_hour + i // 2, 30 * (i % 2))),
            "temperature_c": t,
            "humidity_pct": humidity,
        }
        for i, t in enumerate(temps)
    ]


def ginseng(n: int) -> Story:
    """Planting 2020 → inputs → six-year harvest 2026 → 鲜参 → 红参 → test → boxes → sales."""
    s = Story(n)
    planting, harvest = f"FS-PL-2020-{n:05d}", f"FS-RS-2026-{n:05d}"
    fresh, red = f"FS-XS-2026-{n:05d}", f"JA-HS-2026-{n:05d}"
    boxed, bulk, packed = f"{red}-A", f"{red}-B", f"{red}-P"
    area = Decimal("1.2") + Decimal(n % 6) / 10
    dug = area * 680 + Decimal(n % 7) * Decimal("3.5")
    washed = (dug * FRESH_YIELD).quantize(Decimal("0.001"))
    steamed = (washed * RED_YIELD).quantize(Decimal("0.001"))
    planted = s.on(2020, 4, 25)
    s.add(
        p.FUSONG,
        planted,
        {
            "type": "planting",
            "batch": planting,
            "herb": "renshen",
            "site": p.FUSONG_BASE,
            "planted_on": iso(planted),
            "seed_source": "抚松县人参良种繁育基地",
            "seed_lot": f"RS-SEED-2019-{n % 12 + 1:02d}",
            "area": {"value": str(area), "unit": "mu"},
            "method": "field",
        },
    )
    for on, kind, product, dose, unit in (
        (s.on(2021, 5, 6), "fertiliser", "腐熟农家肥", "1200", "kg/mu"),
        (s.on(2025, 6, 18), "fungicide", "80% 代森锰锌可湿性粉剂（防治人参黑斑病）", "150", "g/mu"),
    ):
        s.add(
            p.FUSONG,
            on,
            {
                "type": "cultivation_input",
                "batch": planting,
                "input": kind,
                "product": product,
                "dose": {"value": dose, "unit": unit},
                "applied_on": iso(on),
            },
        )
    dug_on = s.on(2026, 9, 8)
    s.add(
        p.FUSONG,
        dug_on,
        {
            "type": "harvest",
            "batch": harvest,
            "origin": planting,
            "herb": "renshen",
            "site": p.FUSONG_BASE,
            "harvested_on": iso(dug_on),
            "quantity": kg(dug),
            "growing_years": 6,
            "part": "根和根茎",
        },
    )
    s.add(
        p.FUSONG,
        s.on(2026, 9, 9),
        {
            "type": "fresh_processing",
            "inputs": [{"batch": harvest, "quantity": kg(dug)}],
            "outputs": [{"batch": fresh, "quantity": kg(washed), "form": "鲜人参"}],
            "steps": ["washing", "grading"],
            "site": p.FUSONG_BASE,
            "started_on": iso(s.on(2026, 9, 9)),
        },
    )
    to_jian = f"SHP-FS-{n:05d}"
    s.ship(p.FUSONG, to_jian, fresh, p.JIAN_PROCESSOR, p.JIAN_PLANT, s.on(2026, 9, 10))
    s.receive(p.JIAN, to_jian, fresh, p.FUSONG_COOP, p.JIAN_PLANT, s.on(2026, 9, 10))
    s.add(
        p.JIAN,
        s.on(2026, 9, 17),
        {
            "type": "processing",
            "inputs": [{"batch": fresh, "quantity": kg(washed)}],
            "outputs": [{"batch": red, "quantity": kg(steamed), "form": "红参"}],
            "steps": ["steaming", "drying"],
            "site": p.JIAN_PLANT,
            "started_on": iso(s.on(2026, 9, 11)),
            "finished_on": iso(s.on(2026, 9, 17)),
            "parameters": {"蒸制": "98 °C, 2.5 h", "烘干": "55–60 °C, 6 d"},
        },
    )
    retested = n % 3 == 0
    tested = s.on(2026, 9, 22)
    report = f"JLZY-2026-{n:05d}-1"
    s.add(
        p.LAB_LIMS,
        tested,
        quality_test(
            red, report, tested, "13.4" if retested else "11.2", "0.31", passed=not retested
        ),
    )
    if retested:  # dried again in the drying room, then a retest passes
        dried = s.on(2026, 9, 24)
        s.add_at(
            p.JIAN_DRYER,
            local_moment(dried, 18),
            {
                "type": "sensor_reading",
                "sensor": "jian-dryer-02",
                "kind": "drying_room",
                "batches": [red],
                "site": p.JIAN_PLANT,
                "readings": readings(dried, 8, ["55.5", "57.0", "57.5", "56.0"], "38"),
            },
        )
        retest = s.on(2026, 9, 26)
        s.add(
            p.LAB_LIMS,
            retest,
            quality_test(red, f"JLZY-2026-{n:05d}-2", retest, "10.6", "0.31", passed=True),
        )
    s.add(
        p.JIAN,
        s.on(2026, 9, 28),
        {
            "type": "split",
            "batch": red,
            "children": [
                {"batch": boxed, "quantity": kg(BOXED_KG)},
                {"batch": bulk, "quantity": kg(steamed - BOXED_KG)},
            ],
        },
    )
    units = serials("RS", n, 100 + n % 20)
    s.add(
        p.JIAN,
        s.on(2026, 9, 29),
        {
            "type": "pack",
            "batch": boxed,
            "packed_batch": packed,
            "product": {
                "gtin": RED_GINSENG_GTIN,
                "lot": f"HS26{n:07d}",
                "name": "长白山六年生红参 250 g",
            },
            "unit_quantity": grams(250),
            "serials": units,
            "packed_on": iso(s.on(2026, 9, 29)),
        },
    )
    _to_pharmacy(s, packed, excursion=n % 3 == 1)
    to_factory, sent = f"SHP-JA-{n:05d}-2", s.on(2026, 10, 9)
    s.ship(p.JIAN, to_factory, bulk, p.YINPIAN_FACTORY, p.YINPIAN_PLANT, sent)
    s.receive(p.TONGHUA, to_factory, bulk, p.JIAN_PROCESSOR, p.YINPIAN_PLANT, sent, hour=15)
    for day, sold in ((12, units[0:2]), (15, units[2:3]), (19, units[3:6])):
        on = s.on(2026, 10, day)
        s.add(
            p.CHANGCHUN,
            on,
            {
                "type": "retail_sale",
                "batch": packed,
                "serials": sold,
                "sold_on": iso(on),
            },
        )
    if n % 3 == 2:  # market surveillance finds too little ginsenoside Rb1: a recall
        checked, report = s.on(2026, 10, 21), f"JLZY-2026-{n:05d}-C"
        s.add(
            p.LAB_LIMS, checked, quality_test(packed, report, checked, "10.9", "0.14", passed=False)
        )
        s.add(
            p.REGULATOR,
            s.on(2026, 10, 23),
            {
                "type": "recall",
                "batch": red,
                "level": "III",
                "reason": f"监督抽检人参皂苷Rb1含量不符合规定（报告 {report}）",
            },
        )
    return s


def _to_pharmacy(s: Story, packed: str, *, excursion: bool) -> None:
    """Ship the boxes to 长春, the shipper's logger in the truck (15–18 °C; 阴凉 means ≤ 20 °C)."""
    shipment, shipped = f"SHP-JA-{s.n:05d}-1", s.on(2026, 10, 8)
    s.ship(p.JIAN, shipment, packed, p.PHARMACY, p.PHARMACY_SITE, shipped)
    temps = ["16.5", "17.0", "17.5", "18.0", "17.5", "17.0", "16.5", "16.0", "15.5", "15.5"]
    if excursion:  # the truck stood in the sun at a depot for an hour
        temps[6:8] = ["23.5", "24.8"]
    s.add_at(
        p.LOGGER,
        local_moment(shipped, 13),
        {
            "type": "sensor_reading",
            "sensor": "jian-logger-07",
            "kind": "cold_chain",
            "batches": [packed],
            "readings": readings(shipped, 8, temps, "52"),
        },
    )
    s.receive(p.CHANGCHUN, shipment, packed, p.JIAN_PROCESSOR, p.PHARMACY_SITE, shipped, hour=14)
