"""Demo data: the signed stories `herbtrace seed` and `herbtrace demo` append."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.canonical import canonical_bytes
from traceability.envelope import GENESIS_PREV, envelope_hash, sign_envelope
from traceability.keys import key_id_for, raw_public_key
from traceability.ledger import Ledger
from traceability.log.results import AppendResult
from traceability.log.sequencing import signer_heads
from traceability.signers import register_signer


@dataclass(frozen=True)
class DemoSigner:
    """A demo party's key, derived from its label so every run uses the same keys.

    Demo keys are public knowledge: never register them on a production log.
    """

    label: str
    name: str
    organisation: str
    role: str

    @property
    def key(self) -> Ed25519PrivateKey:
        seed = hashlib.sha256(f"herbtrace demo key: {self.label}".encode()).digest()
        return Ed25519PrivateKey.from_private_bytes(seed)

    @property
    def key_id(self) -> str:
        return key_id_for(raw_public_key(self.key))


FUSONG = DemoSigner("fusong", "抚松基地手持终端 01", "抚松县长白山人参种植专业合作社", "device")
JIAN = DemoSigner("jian", "集安蒸参车间终端", "集安市红参加工有限公司", "device")
LAB = DemoSigner("lab", "质检中心 LIMS", "吉林省中药材质量检测中心", "inspector")
CHANGCHUN = DemoSigner("changchun", "长春门店扫码枪", "长春市同济堂大药房", "device")
SHUANGYANG = DemoSigner("shuangyang", "双阳鹿场手持终端", "长春市双阳区梅花鹿养殖场", "device")
SIGNERS = (FUSONG, JIAN, LAB, CHANGCHUN, SHUANGYANG)


def _ginseng(n: int) -> list[tuple[DemoSigner, dict[str, Any]]]:
    batch = f"FS-RS-2026-{n:05d}"
    red = f"JA-HS-2026-{n:05d}"
    fresh = f"{180 + n % 40}.{n % 10}00"
    dried = f"{(180 + n % 40) * 0.28:.3f}"
    return [
        (
            FUSONG,
            {
                "type": "harvest",
                "batch": batch,
                "herb": "人参",
                "site": "吉林省白山市抚松县 万良镇 林下参基地",
                "growing_years": 6,
                "quantity": {"value": fresh, "unit": "kg"},
            },
        ),
        (
            JIAN,
            {
                "type": "processing",
                "inputs": [batch],
                "output": red,
                "step": "蒸制 → 红参",
                "quantity": {"value": dried, "unit": "kg"},
            },
        ),
        (
            LAB,
            {
                "type": "quality_test",
                "batch": red,
                "result": "fail" if n % 17 == 5 else "pass",
                "items": [
                    {"name": "水分", "value": "11.2", "unit": "%"},
                    {"name": "人参皂苷 Rg1+Re", "value": "0.41", "unit": "%"},
                ],
            },
        ),
        (JIAN, {"type": "ship", "batch": red, "to": CHANGCHUN.organisation}),
        (CHANGCHUN, {"type": "receive", "batch": red, "from": JIAN.organisation}),
        (CHANGCHUN, {"type": "retail_sale", "batch": red, "units": 1 + n % 5}),
    ]


def _velvet(n: int) -> list[tuple[DemoSigner, dict[str, Any]]]:
    batch = f"SY-LR-2026-{n:05d}"
    return [
        (
            SHUANGYANG,
            {
                "type": "husbandry",
                "herd": "梅花鹿 3 号圈",
                "quarantine_certificate": f"吉动检 2026-{n:06d}",
            },
        ),
        (
            SHUANGYANG,
            {
                "type": "harvest",
                "batch": batch,
                "herb": "鹿茸",
                "quantity": {"value": f"{2 + n % 3}.{n % 10}50", "unit": "kg"},
            },
        ),
    ]


def stories(count: int, start: int = 0) -> list[tuple[DemoSigner, dict[str, Any]]]:
    """Return the first `count` demo events, continuing the stories from story `start`."""
    events: list[tuple[DemoSigner, dict[str, Any]]] = []
    n = start
    while len(events) < count:
        events.extend(_ginseng(n) if n % 3 else _velvet(n))
        n += 1
    return events[:count]


def seed_events(ledger: Ledger, count: int) -> list[AppendResult]:
    """Register the demo signers and append `count` signed demo events, continuing their chains."""
    for s in SIGNERS:
        register_signer(
            ledger.engine,
            public_key=raw_public_key(s.key),
            name=s.name,
            organisation=s.organisation,
            role=s.role,
        )
    with ledger.engine.connect() as conn:
        heads = signer_heads(conn, {s.key_id for s in SIGNERS})
    state = {k: (h.seq, h.envelope_hash.hex()) for k, h in heads.items()}
    start = sum(seq for seq, _ in state.values())
    clock = datetime(2026, 9, 1, tzinfo=UTC) + timedelta(minutes=start)
    envelopes = []
    for i, (signer, body) in enumerate(stories(count, start)):
        seq, prev = state.get(signer.key_id, (0, GENESIS_PREV))
        payload = {
            "v": 1,
            "signer": signer.key_id,
            "seq": seq + 1,
            "prev": prev,
            "time": (clock + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "body": body,
        }
        envelopes.append(sign_envelope(signer.key, payload))
        state[signer.key_id] = (seq + 1, envelope_hash(canonical_bytes(payload)).hex())
    return ledger.append(envelopes)
