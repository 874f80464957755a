"""The demo's parties: organisation and site IDs, and the signers (public demo keys) of each.

Every party is fictitious. Their registration bodies, with real places, are in `places`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.keys import key_id_for, raw_public_key


@dataclass(frozen=True)
class DemoSigner:
    """A demo party's key, derived from its label so every run uses the same keys.

    The private key's 32-byte seed is SHA-256("herbtrace demo key: " || label, UTF-8): demo
    keys are public knowledge, so never register them on a production log. `organisation`
    is the ID of the organisation the signer acts for.
    """

    label: str
    name: str
    organisation: str
    role: str

    @cached_property
    def key(self) -> Ed25519PrivateKey:
        seed = hashlib.sha256(f"herbtrace demo key: {self.label}".encode()).digest()
        return Ed25519PrivateKey.from_private_bytes(seed)

    @cached_property
    def public_key(self) -> bytes:
        return raw_public_key(self.key)

    @cached_property
    def key_id(self) -> str:
        return key_id_for(self.public_key)


PLATFORM = "org-jilin-herb-platform"
"""The traceability platform's operator, whose registrar signs registrations."""
MPA = "org-jilin-mpa"
FUSONG_COOP = "org-fusong-coop"
JIAN_PROCESSOR = "org-jian-processor"
LAB = "org-jilin-lab"
CARRIER = "org-shunda-coldchain"
PHARMACY = "org-changchun-pharmacy"
DEER_FARM = "org-shuangyang-deer"
WUWEIZI_GROWER = "org-huadian-wuweizi"
HUANGQI_GROWER = "org-jiaohe-huangqi"
YINPIAN_FACTORY = "org-tonghua-yinpian"

CARRIER_NAME = "吉林顺达冷链物流有限公司"

FUSONG_BASE = "site-fusong-wanliang"
JIAN_PLANT = "site-jian-plant"
LAB_SITE = "site-jilin-lab"
PHARMACY_SITE = "site-changchun-chaoyang"
DEER_FARM_SITE = "site-shuangyang-farm"
VELVET_WORKSHOP = "site-shuangyang-workshop"
WUWEIZI_BASE = "site-huadian-badaohezi"
HUANGQI_BASE = "site-jiaohe-tiangang"
HUANGQI_DRYER = "site-jiaohe-dryer"
YINPIAN_PLANT = "site-tonghua-yinpian"

ADMIN = DemoSigner("platform-admin", "追溯平台登记员", PLATFORM, "admin")
REGULATOR = DemoSigner("jilin-mpa", "省药监局稽查处", MPA, "regulator")
FUSONG = DemoSigner("fusong", "抚松基地手持终端 01", FUSONG_COOP, "device")
JIAN = DemoSigner("jian", "集安蒸参车间终端", JIAN_PROCESSOR, "device")
JIAN_DRYER = DemoSigner("jian-dryer", "集安烘干房温湿度传感器", JIAN_PROCESSOR, "device")
LAB_LIMS = DemoSigner("lab", "质检中心 LIMS", LAB, "inspector")
LOGGER = DemoSigner("coldchain-logger", "集安发货冷链温度记录仪 07", JIAN_PROCESSOR, "device")
"""The shipper's logger travels in the truck: readings in transit come from the sender or the
recipient, so the carrier (named in `ship.carrier`) signs nothing itself."""
CHANGCHUN = DemoSigner("changchun", "长春门店扫码枪", PHARMACY, "device")
SHUANGYANG = DemoSigner("shuangyang", "双阳鹿场手持终端", DEER_FARM, "device")
HUADIAN = DemoSigner("huadian", "桦甸五味子基地手持终端", WUWEIZI_GROWER, "device")
JIAOHE = DemoSigner("jiaohe", "蛟河黄芪基地手持终端", HUANGQI_GROWER, "device")
TONGHUA = DemoSigner("tonghua", "通化饮片厂收货终端", YINPIAN_FACTORY, "device")

SIGNERS: tuple[DemoSigner, ...] = (
    ADMIN,
    REGULATOR,
    FUSONG,
    JIAN,
    JIAN_DRYER,
    LAB_LIMS,
    LOGGER,
    CHANGCHUN,
    SHUANGYANG,
    HUADIAN,
    JIAOHE,
    TONGHUA,
)
"""Every demo signer, each registered under its organisation's ID."""


def published_demo_keys() -> dict[bytes, str]:
    """Every demo signer's public key, mapped to a label naming it.

    Their private keys are derived from labels published here, so `herbtrace verify` flags
    them in any log.
    """
    return {s.public_key: f"demo key {s.label!r} ({s.role} of {s.organisation})" for s in SIGNERS}
