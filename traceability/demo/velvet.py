"""The sika deer velvet story: a 双阳 herd → quarantine → cutting → 鹿茸片 → tested → sold."""

from __future__ import annotations

from decimal import Decimal

from traceability.demo import parties as p
from traceability.demo.story import Story, demo_gtin, grams, iso, kg, serials

FRESH_VELVET_KG = Decimal("0.55")
"""Fresh 二杠茸 cut per stag, in kilograms (a pair of two-branch antlers)."""

SLICE_YIELD = Decimal("0.30")
"""Boiling, drying and slicing leave about 30% of the fresh velvet's mass as slices."""

VELVET_SLICES_GTIN = demo_gtin("0456", "00021")
"""双阳梅花鹿鹿茸片 20 g, from the deer farm's (demo) company prefix."""


def velvet(n: int) -> Story:
    """Herd established → vaccinated → quarantined → velvet cut → 鹿茸片 → test → pack → sale."""
    s = Story(n)
    herd, cut = f"SY-HERD-{n:05d}", f"SY-LR-2026-{n:05d}"
    slices, packed = f"SY-LRP-2026-{n:05d}", f"SY-LRP-2026-{n:05d}-P"
    stags = 30 + n % 15
    fresh = FRESH_VELVET_KG * stags
    dried = (fresh * SLICE_YIELD).quantize(Decimal("0.001"))
    for on, activity, extra in (
        (s.on(2025, 3, 18), "established", {"herb": "lurong", "note": "三至五岁梅花鹿公鹿"}),
        (s.on(2026, 3, 12), "veterinary", {"note": "口蹄疫、布鲁氏菌病免疫"}),
        (s.on(2026, 5, 26), "quarantine", {"certificate": f"吉动检 2026-{n:06d}"}),
        (s.on(2026, 6, 2), "velvet_cutting", {"note": "二杠茸 锯茸"}),
    ):
        s.add(
            p.SHUANGYANG,
            on,
            {
                "type": "husbandry",
                "herd": herd,
                "site": p.DEER_FARM_SITE,
                "activity": activity,
                "on": iso(on),
                "animals": stags,
                **extra,
            },
        )
    cut_on = s.on(2026, 6, 2)
    s.add(
        p.SHUANGYANG,
        cut_on,
        {
            "type": "harvest",
            "batch": cut,
            "origin": herd,
            "herb": "lurong",
            "site": p.DEER_FARM_SITE,
            "harvested_on": iso(cut_on),
            "quantity": kg(fresh),
            "part": "雄鹿未骨化密生茸毛的幼角（鲜二杠茸）",
        },
        hour=15,
    )
    finished = s.on(2026, 7, 15)
    s.add(
        p.SHUANGYANG,
        finished,
        {
            "type": "processing",
            "inputs": [{"batch": cut, "quantity": kg(fresh)}],
            "outputs": [{"batch": slices, "quantity": kg(dried), "form": "鹿茸片"}],
            "steps": ["boiling", "drying", "slicing"],
            "site": p.VELVET_WORKSHOP,
            "started_on": iso(s.on(2026, 6, 3)),
            "finished_on": iso(finished),
            "parameters": {"煮炸": "沸水 4 次, 每次 15 s", "风干": "阴干 40 d", "切片": "0.5 mm"},
        },
    )
    tested = s.on(2026, 7, 22)
    s.add(
        p.LAB_LIMS,
        tested,
        {
            "type": "quality_test",
            "batch": slices,
            "lab": p.LAB,
            "report_no": f"JLZY-2026-{n:05d}-L",
            "sample_id": f"YP-{n:05d}-L",
            "method": "《中华人民共和国药典》2020年版一部 鹿茸",
            "tested_on": iso(tested),
            "items": [
                {"item": "moisture", "value": "10.2", "unit": "%"},
                {"item": "total_ash", "value": "29.6", "unit": "%"},
                {"item": "lead", "value": "0.6", "unit": "mg/kg"},
            ],
            "result": "pass",
        },
    )
    units = serials("LR", n, 40 + n % 10)
    packed_on = s.on(2026, 7, 25)
    s.add(
        p.SHUANGYANG,
        packed_on,
        {
            "type": "pack",
            "batch": slices,
            "packed_batch": packed,
            "product": {
                "gtin": VELVET_SLICES_GTIN,
                "lot": f"LR26{n:07d}",
                "name": "双阳梅花鹿鹿茸片 20 g",
            },
            "unit_quantity": grams(20),
            "serials": units,
            "packed_on": iso(packed_on),
        },
    )
    shipment, shipped = f"SHP-SY-{n:05d}", s.on(2026, 8, 3)
    s.ship(p.SHUANGYANG, shipment, packed, p.PHARMACY, p.PHARMACY_SITE, shipped)
    s.receive(p.CHANGCHUN, shipment, packed, p.DEER_FARM, p.PHARMACY_SITE, shipped)
    sold_on = s.on(2026, 8, 10)
    s.add(
        p.CHANGCHUN,
        sold_on,
        {
            "type": "retail_sale",
            "batch": packed,
            "serials": units[:2],
            "sold_on": iso(sold_on),
        },
    )
    return s
