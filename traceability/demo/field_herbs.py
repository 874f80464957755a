"""Two field-herb stories: 五味子 from 桦甸 and 黄芪 from 蛟河, dried at origin for a 饮片厂."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from traceability.demo import parties as p
from traceability.demo.story import Story, iso, kg

WUWEIZI_DRY_YIELD = Decimal("0.28")
"""Cleaning and drying fresh 五味子 berries leaves about 28% of their mass."""

HUANGQI_DRY_YIELD = Decimal("0.36")
"""Washing, slicing fresh and drying 黄芪 roots leaves about 36% of their mass."""


def wuweizi(n: int) -> Story:
    """Vines planted 2022 → two picking passes 2026 merged → dried → tested → 通化 饮片厂."""
    s = Story(n)
    vines, merged, dried = f"HD-PL-2022-{n:05d}", f"HD-WWZ-2026-{n:05d}", f"HD-WWZG-2026-{n:05d}"
    area = 8 + n % 5
    planted = s.on(2022, 4, 20)
    s.add(
        p.HUADIAN,
        planted,
        {
            "type": "planting",
            "batch": vines,
            "herb": "wuweizi",
            "site": p.WUWEIZI_BASE,
            "planted_on": iso(planted),
            "seed_source": "桦甸市五味子良种苗圃（二年生苗）",
            "area": {"value": str(area), "unit": "mu"},
            "method": "field",
        },
    )
    fed = s.on(2026, 5, 10)
    s.add(
        p.HUADIAN,
        fed,
        {
            "type": "cultivation_input",
            "batch": vines,
            "input": "fertiliser",
            "product": "生物有机肥",
            "dose": {"value": "200", "unit": "kg/mu"},
            "applied_on": iso(fed),
        },
    )
    picks: list[dict[str, Any]] = []
    fresh = Decimal(0)
    for k, (on, per_mu) in enumerate(((s.on(2026, 9, 6), 160), (s.on(2026, 9, 18), 125)), 1):
        picked = Decimal(area * per_mu) + Decimal(n % 9) / 4
        fresh += picked
        picks.append({"batch": f"{merged}-{k}", "quantity": kg(picked)})
        s.add(
            p.HUADIAN,
            on,
            {
                "type": "harvest",
                "batch": f"{merged}-{k}",
                "origin": vines,
                "herb": "wuweizi",
                "site": p.WUWEIZI_BASE,
                "harvested_on": iso(on),
                "quantity": kg(picked),
                "growing_years": 4,
                "part": "成熟果实",
            },
        )
    s.add(
        p.HUADIAN,
        s.on(2026, 9, 19),
        {
            "type": "merge",
            "inputs": picks,
            "output": {"batch": merged, "quantity": kg(fresh)},
        },
    )
    finished = s.on(2026, 10, 2)
    s.add(
        p.HUADIAN,
        finished,
        {
            "type": "fresh_processing",
            "inputs": [{"batch": merged, "quantity": kg(fresh)}],
            "outputs": [
                {"batch": dried, "quantity": kg(fresh * WUWEIZI_DRY_YIELD), "form": "五味子"}
            ],
            "steps": ["cleaning", "drying"],
            "site": p.WUWEIZI_BASE,
            "started_on": iso(s.on(2026, 9, 20)),
            "finished_on": iso(finished),
            "parameters": {"烘干": "45–55 °C"},
        },
    )
    tested = s.on(2026, 10, 9)
    s.add(
        p.LAB_LIMS,
        tested,
        {
            "type": "quality_test",
            "batch": dried,
            "lab": p.LAB,
            "report_no": f"JLZY-2026-{n:05d}-W",
            "method": "《中华人民共和国药典》2020年版一部 五味子",
            "tested_on": iso(tested),
            "items": [
                {"item": "moisture", "value": "12.4", "unit": "%"},
                {"item": "total_ash", "value": "4.1", "unit": "%"},
                {"item": "schisandrin", "value": "0.56", "unit": "%"},
                {"item": "schisandra_lignans", "value": "1.18", "unit": "%"},
            ],
            "result": "pass",
        },
    )
    shipment, shipped = f"SHP-HD-{n:05d}", s.on(2026, 10, 12)
    s.ship(p.HUADIAN, shipment, dried, p.YINPIAN_FACTORY, p.YINPIAN_PLANT, shipped)
    s.receive(p.TONGHUA, shipment, dried, p.WUWEIZI_GROWER, p.YINPIAN_PLANT, s.on(2026, 10, 13))
    return s


def huangqi(n: int) -> Story:
    """Planted 2024 → two-year roots dug 2026 → sliced fresh and dried → tested → 饮片厂."""
    s = Story(n)
    field, roots, pieces = f"JH-PL-2024-{n:05d}", f"JH-HQ-2026-{n:05d}", f"JH-HQP-2026-{n:05d}"
    area = 5 + n % 4
    dug = Decimal(area * 420) + Decimal(n % 11) / 2
    planted = s.on(2024, 4, 26)
    s.add(
        p.JIAOHE,
        planted,
        {
            "type": "planting",
            "batch": field,
            "herb": "huangqi",
            "site": p.HUANGQI_BASE,
            "planted_on": iso(planted),
            "seed_source": "天岗镇育苗田（一年生苗）",
            "area": {"value": str(area), "unit": "mu"},
            "method": "field",
        },
    )
    fed = s.on(2025, 5, 15)
    s.add(
        p.JIAOHE,
        fed,
        {
            "type": "cultivation_input",
            "batch": field,
            "input": "fertiliser",
            "product": "硫酸钾型复合肥（15-15-15）",
            "dose": {"value": "40", "unit": "kg/mu"},
            "applied_on": iso(fed),
        },
    )
    dug_on = s.on(2026, 10, 10)
    s.add(
        p.JIAOHE,
        dug_on,
        {
            "type": "harvest",
            "batch": roots,
            "origin": field,
            "herb": "huangqi",
            "site": p.HUANGQI_BASE,
            "harvested_on": iso(dug_on),
            "quantity": kg(dug),
            "growing_years": 2,
            "part": "根",
        },
    )
    finished = s.on(2026, 10, 16)
    s.add(
        p.JIAOHE,
        finished,
        {
            "type": "fresh_processing",
            "inputs": [{"batch": roots, "quantity": kg(dug)}],
            "outputs": [
                {
                    "batch": pieces,
                    "quantity": kg(dug * HUANGQI_DRY_YIELD),
                    "form": "黄芪片（趁鲜切制）",
                }
            ],
            "steps": ["washing", "slicing", "drying"],
            "site": p.HUANGQI_DRYER,
            "started_on": iso(s.on(2026, 10, 11)),
            "finished_on": iso(finished),
        },
    )
    tested = s.on(2026, 10, 20)
    s.add(
        p.LAB_LIMS,
        tested,
        {
            "type": "quality_test",
            "batch": pieces,
            "lab": p.LAB,
            "report_no": f"JLZY-2026-{n:05d}-Q",
            "method": "《中华人民共和国药典》2020年版一部 黄芪",
            "tested_on": iso(tested),
            "items": [
                {"item": "moisture", "value": "8.6", "unit": "%"},
                {"item": "total_ash", "value": "3.9", "unit": "%"},
                {"item": "astragaloside_iv", "value": "0.105", "unit": "%"},
                {"item": "calycosin_glucoside", "value": "0.034", "unit": "%"},
            ],
            "result": "pass",
        },
    )
    shipment, shipped = f"SHP-JH-{n:05d}", s.on(2026, 10, 22)
    s.ship(p.JIAOHE, shipment, pieces, p.YINPIAN_FACTORY, p.YINPIAN_PLANT, shipped)
    s.receive(p.TONGHUA, shipment, pieces, p.HUANGQI_GROWER, p.YINPIAN_PLANT, s.on(2026, 10, 23))
    return s
