"""Test helpers for the domain: registered parties, a stand-in herb catalogue, a ginseng story."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from event_examples import EXAMPLES
from support import TestSigner

from traceability.domain.herbs import (
    ItemResult,
    LimitBreach,
    QuantityLimit,
    StorageRange,
    YieldLimit,
)
from traceability.domain.service import Domain
from traceability.log.results import AppendResult

COOP = "org-fusong-coop"
PLANT = "org-jian-processor"
LAB = "org-jilin-lab"
PHARMACY = "org-changchun-pharmacy"
FARM = "org-shuangyang-farm"

ORG_KINDS = {
    COOP: "cooperative",
    PLANT: "processor",
    LAB: "testing_lab",
    PHARMACY: "retailer",
    FARM: "deer_farm",
}
SITES = {
    "site-fusong-wanliang": (COOP, "planting_base"),
    "site-jian-plant": (PLANT, "processing_plant"),
    "site-jilin-lab": (LAB, "laboratory"),
    "site-changchun-pharmacy": (PHARMACY, "pharmacy"),
    "site-shuangyang-farm": (FARM, "deer_farm"),
}


class StandInHerbs:
    """A small fixed catalogue for rule tests (the herbs seam): known yields, ranges, limits.

    Steaming yields at most 0.9 of its input, drying 0.35; ginseng is kept at 0–20 °C and
    at most 75 % humidity with 30 minutes' tolerance; moisture ≤ 12 %, cadmium ≤ 1 mg/kg.
    """

    YIELDS: ClassVar[dict[str, Decimal]] = {"steaming": Decimal("0.9"), "drying": Decimal("0.35")}
    LIMITS: ClassVar[dict[str, Decimal]] = {"moisture": Decimal("12"), "cadmium": Decimal("1")}

    def max_yield(self, herb: str, step: str) -> YieldLimit | None:  # noqa: ARG002 - any herb
        value = self.YIELDS.get(step)
        return None if value is None else YieldLimit(value, "stand-in")

    def storage(self, herb: str) -> StorageRange | None:
        if herb != "renshen":
            return None
        return StorageRange(Decimal(0), Decimal(20), None, Decimal(75), 30, "stand-in")

    def quantity_limit(self, herb: str | None) -> QuantityLimit:  # noqa: ARG002 - any herb
        return QuantityLimit(
            Decimal(1_000_000), Decimal(100_000_000), Decimal(10_000_000), "stand-in"
        )

    def breaches(self, herb: str, items: Sequence[ItemResult]) -> list[LimitBreach]:  # noqa: ARG002
        out = []
        for m in items:
            limit = self.LIMITS.get(m.item)
            if limit is not None and Decimal(m.value) > limit:
                out.append(LimitBreach(m.item, m.value, m.unit, f"max {limit}", "too high"))
        return out


def body(event_type: str, /, **changes: Any) -> dict[str, Any]:
    """A copy of the example body of `event_type`, with top-level fields replaced."""
    out = copy.deepcopy(EXAMPLES[event_type])
    out.update(changes)
    return out


@dataclass
class World:
    """A Domain with registered organisations, sites and one signer per (organisation, role)."""

    domain: Domain
    signers: dict[tuple[str, str], TestSigner] = field(default_factory=dict)

    def signer(self, org: str, role: str = "device") -> TestSigner:
        """The registered signer of `org` with `role` (created on first use)."""
        key = (org, role)
        if key not in self.signers:
            s = TestSigner()
            s.register(self.domain.engine, role=role, org=org)
            self.signers[key] = s
        return self.signers[key]

    def submit(self, signer: TestSigner, event: dict[str, Any]) -> AppendResult:
        """Sign `event` as the signer's next envelope and record it; return the result."""
        envelope = signer.sign(signer.payload(event))
        (result,) = self.domain.record([envelope])
        return result

    def ok(self, org: str, event: dict[str, Any], role: str = "device") -> int:
        """Record an event that must be accepted; return its log index."""
        result = self.submit(self.signer(org, role), event)
        assert result.status == "accepted", (result.reason, result.detail)
        assert result.index is not None
        return result.index

    def refused(
        self, org: str, event: dict[str, Any], reason: str, role: str = "device"
    ) -> AppendResult:
        """Record an event that must be refused with `reason`; return the result."""
        result = self.submit(self.signer(org, role), event)
        assert result.status == "rejected", f"accepted, expected {reason}"
        assert result.reason == reason, (result.reason, result.detail)
        return result

    def register_all(self) -> None:
        """Register the story's organisations and sites (signed by an admin)."""
        for org, kind in ORG_KINDS.items():
            self.ok(COOP, body("organisation", id=org, kind=kind, credit_code=None), "admin")
        for site, (org, kind) in SITES.items():
            self.ok(COOP, body("site", id=site, organisation=org, kind=kind), "admin")

    def grow(self) -> None:
        """Planting and a six-year harvest at the cooperative (FS-PL-2020-001 → FS-RS-2026-001)."""
        self.ok(COOP, body("planting"))
        self.ok(COOP, body("harvest"))

    def to_plant(self, batch: str, shipment: str) -> None:
        """Ship `batch` from the cooperative to the processor, who receives it."""
        self.ok(
            COOP,
            body("ship", shipment=shipment, batches=[batch], to=PLANT, carrier=None),
        )
        self.ok(
            PLANT,
            body(
                "receive", shipment=shipment, batches=[batch], sender=COOP, site="site-jian-plant"
            ),
        )

    def red_ginseng(self) -> None:
        """Grow, fresh-process, ship, steam into 红参 JA-HS-2026-001 (52.8 kg) at the plant."""
        self.grow()
        self.ok(COOP, body("fresh_processing"))
        self.to_plant("FS-XS-2026-001", "SHP-XS-001")
        self.ok(PLANT, body("processing"))

    def packed(self) -> None:
        """红参 tested by the lab, split, packed into three units JA-HS-2026-001-P."""
        self.red_ginseng()
        self.ok(LAB, body("quality_test"), "inspector")
        self.ok(PLANT, body("split"))
        self.ok(PLANT, body("pack"))
