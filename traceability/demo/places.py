"""Registration bodies of the demo's organisations and sites, at real places in 吉林省.

Names are fictitious; regions carry their GB/T 2260 codes and sites plausible WGS 84
coordinates. Site GLNs use GS1 prefix 952, reserved by GS1 for demonstrations and examples,
so no demo number can name a real location.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from traceability.demo import parties as p
from traceability.digital_link import gtin_check_digit

DEMO_GS1_PREFIX = "952"
"""The GS1 prefix for demonstrations and examples (GS1 General Specifications §1.4.4)."""


class Place(NamedTuple):
    """A region: city, county and its GB/T 2260 code, and optionally a town."""

    city: str
    county: str
    code: str
    town: str | None = None

    def region(self) -> dict[str, str]:
        """The event body's `region` object."""
        out = {"province": "吉林省", "city": self.city, "county": self.county, "code": self.code}
        if self.town is not None:
            out["town"] = self.town
        return out


NANGUAN = Place("长春市", "南关区", "220102")
CHAOYANG = Place("长春市", "朝阳区", "220104")
LUYUAN = Place("长春市", "绿园区", "220106")
SHUANGYANG = Place("长春市", "双阳区", "220112", "鹿乡镇")
WANLIANG = Place("白山市", "抚松县", "220621", "万良镇")
JIAN = Place("通化市", "集安市", "220582")
DONGCHANG = Place("通化市", "东昌区", "220502")
BADAOHEZI = Place("吉林市", "桦甸市", "220282", "八道河子镇")
TIANGANG = Place("吉林市", "蛟河市", "220281", "天岗镇")


def gln(location_reference: str) -> str:
    """A demo GLN: 952, the location reference zero-padded to 9 digits, GS1 check digit."""
    digits = DEMO_GS1_PREFIX + location_reference.zfill(9)
    return digits + str(gtin_check_digit(digits))


_ORGANISATIONS = (
    (p.MPA, "吉林省药品监督管理局", "Jilin Medical Products Administration", "regulator", NANGUAN),
    (p.FUSONG_COOP, "抚松县万良镇长白山人参种植专业合作社",
     "Fusong Wanliang Changbaishan Ginseng Cooperative", "cooperative", WANLIANG),
    (p.JIAN_PROCESSOR, "集安市鸭绿江红参加工有限公司", "Ji'an Yalu River Red Ginseng Co.",
     "processor", JIAN),
    (p.LAB, "吉林省中药材质量检测中心", "Jilin Chinese Medicinal Materials Testing Centre",
     "testing_lab", NANGUAN),
    (p.CARRIER, p.CARRIER_NAME, "Jilin Shunda Cold Chain Logistics", "distributor", LUYUAN),
    (p.PHARMACY, "长春市同济堂大药房（朝阳店）", "Changchun Tongjitang Pharmacy, Chaoyang",
     "retailer", CHAOYANG),
    (p.DEER_FARM, "长春市双阳区鹿乡梅花鹿养殖场", "Shuangyang Luxiang Sika Deer Farm",
     "deer_farm", SHUANGYANG),
    (p.WUWEIZI_GROWER, "桦甸市北五味子种植专业合作社", "Huadian Schisandra Cooperative",
     "cooperative", BADAOHEZI),
    (p.HUANGQI_GROWER, "赵德林", "Zhao Delin", "grower", TIANGANG),
    (p.YINPIAN_FACTORY, "通化市东昌中药饮片有限公司", "Tonghua Dongchang Decoction Pieces Co.",
     "processor", DONGCHANG),
)  # fmt: skip

NATURAL_PERSONS = frozenset({p.HUANGQI_GROWER})
"""Organisations that are one person: the 黄芪 grower of 天岗镇 is an individual grower
(个体种植户), registered under his own (fictitious) name, which public answers never show."""

ORGANISATIONS: tuple[dict[str, Any], ...] = tuple(
    {"type": "organisation", "id": i, "name": zh, "name_en": en, "kind": kind,
     "region": place.region()} | ({"natural_person": True} if i in NATURAL_PERSONS else {})
    for i, zh, en, kind, place in _ORGANISATIONS
)  # fmt: skip
"""Every demo organisation's registration body (the platform operator is not one)."""

_CERTIFIED = {"status": "certified", "certificate": "GAP-JL-DEMO-2024-018"}

_SITES = (  # id, organisation, name, kind, place, (lat, lon), GLN location reference, GAP
    (p.FUSONG_BASE, p.FUSONG_COOP, "万良镇人参种植基地", "planting_base", WANLIANG,
     ("42.2816", "127.5012"), "621001", _CERTIFIED),
    (p.JIAN_PLANT, p.JIAN_PROCESSOR, "集安红参加工厂", "processing_plant", JIAN,
     ("41.1262", "126.1941"), "582001", None),
    (p.LAB_SITE, p.LAB, "中药材质量检测实验室", "laboratory", NANGUAN,
     ("43.8171", "125.3235"), "102001", None),
    (p.PHARMACY_SITE, p.PHARMACY, "同济堂大药房朝阳店", "pharmacy", CHAOYANG,
     ("43.8332", "125.2879"), "104001", None),
    (p.DEER_FARM_SITE, p.DEER_FARM, "鹿乡镇梅花鹿养殖场", "deer_farm", SHUANGYANG,
     ("43.5507", "125.7826"), "112001",
     {"status": "certified", "certificate": "GAP-JL-DEMO-2023-007"}),
    (p.VELVET_WORKSHOP, p.DEER_FARM, "鹿茸加工车间", "processing_plant", SHUANGYANG,
     ("43.5513", "125.7841"), "112002", None),
    (p.WUWEIZI_BASE, p.WUWEIZI_GROWER, "八道河子镇五味子基地", "planting_base", BADAOHEZI,
     ("42.8790", "126.9230"), "282001", {"status": "in_progress"}),
    (p.HUANGQI_BASE, p.HUANGQI_GROWER, "天岗镇黄芪种植基地", "planting_base", TIANGANG,
     ("43.6330", "127.2150"), "281001", {"status": "none"}),
    (p.HUANGQI_DRYER, p.HUANGQI_GROWER, "天岗镇产地加工烘干房", "drying_room", TIANGANG,
     ("43.6352", "127.2188"), "281002", None),
    (p.YINPIAN_PLANT, p.YINPIAN_FACTORY, "东昌中药饮片厂", "processing_plant", DONGCHANG,
     ("41.7283", "125.9504"), "502001", None),
)  # fmt: skip


def _site(row: tuple[Any, ...]) -> dict[str, Any]:
    site_id, org, name, kind, place, (lat, lon), reference, gap = row
    body = {
        "type": "site",
        "id": site_id,
        "organisation": org,
        "name": name,
        "kind": kind,
        "region": place.region(),
        "location": {"lat": lat, "lon": lon},
        "gln": gln(reference),
    }
    return body if gap is None else {**body, "gap": gap}


SITES: tuple[dict[str, Any], ...] = tuple(_site(row) for row in _SITES)
"""Every demo site's registration body."""
