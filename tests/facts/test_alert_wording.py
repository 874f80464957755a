"""Alerts worded in Chinese from their kind and evidence, for every kind the rules raise."""

from __future__ import annotations

from typing import Any

import pytest

from traceability.domain.alerts import AlertView
from traceability.domain.state import BatchRecord
from traceability.facts.alert_wording import Names, word_alert

COOP, PHARMACY = "org-fusong-coop", "org-changchun-pharmacy"
NAMES = Names(
    organisations={COOP: "抚松县参业合作社", PHARMACY: "长春市同济堂大药房"},
    batches={
        "P-1": BatchRecord(
            id="P-1",
            herb="renshen",
            kind="packed",
            origin_site=None,
            owner=COOP,
            custodian=PHARMACY,
            quantity="100",
            unit="piece",
            remaining="94",
            status="recalled",
            quality="passed",
            shipment=None,
            gtin="06901234567892",
            lot="HS1",
            planted_on=None,
            harvested_on=None,
            growing_years=None,
            created_index=3,
        )
    },
    sites={"site-cc": ("朝阳店", PHARMACY)},
    herbs={"renshen": "人参"},
    items={"moisture": "水分"},
    recall_reasons={9: "农药残留超标"},
)


def alert(kind: str, evidence: dict[str, Any], **values: Any) -> AlertView:
    """An alert of `kind` with `evidence`, raised at 03:00 UTC on 2026-10-12."""
    fields: dict[str, Any] = {
        "id": "AL-1",
        "kind": kind,
        "severity": "warning",
        "batch": None,
        "subject": None,
        "detail": "machine text",
        "evidence": evidence,
        "envelopes": [],
        "raised_at": "2026-10-12T03:00:00.123456Z",
        "source_index": None,
        "logged_index": None,
    }
    return AlertView(**(fields | values))


@pytest.mark.parametrize(
    ("view", "said"),
    [
        (
            alert(
                "recalled_batch",
                {"level": "I", "sold_units": 6, "units": 100, "batches": 4},
                batch="P-1",
                source_index=9,
            ),
            ["一级召回", "批次 P-1（人参）", "4 个批次", "100 件单品", "6 件", "农药残留超标"],
        ),
        (
            alert(
                "recalled_batch",
                {"shipment": "SHP-1", "batches": "P-1", "site": "site-cc"},
                batch="P-1",
            ),
            ["已召回的批次 P-1（人参）", "运单 SHP-1", "朝阳店（长春市同济堂大药房）"],
        ),
        (
            alert(
                "recalled_batch",
                {"event": "retail_sale", "batch": "P-1"},
                batch="P-1",
                subject=PHARMACY,
            ),
            ["长春市同济堂大药房试图在已召回的批次 P-1（人参）上记录「零售售出」"],
        ),
        (
            alert(
                "mass_balance",
                {"event": "split", "batch": "P-1", "taken": "5", "remaining": "2", "unit": "kg"},
                subject=COOP,
            ),
            ["抚松县参业合作社的「分批」记录", "取用 5 千克", "仅剩 2 千克"],
        ),
        (
            alert(
                "mass_balance",
                {
                    "event": "processing",
                    "inputs": "10",
                    "outputs": "9",
                    "unit": "kg",
                    "max_yield": "0.35",
                    "allowed": "3.5",
                },
                subject=COOP,
            ),
            ["产出 9 千克", "投入 10 千克 × 最大得率 0.35 = 3.5 千克"],
        ),
        (
            alert(
                "growing_age",
                {
                    "event": "harvest",
                    "origin": "P-1",
                    "claimed": 6,
                    "planted_on": "2022-05-01",
                    "harvested_on": "2026-09-01",
                    "completed_years": 4,
                },
                subject=COOP,
            ),
            ["标称生长 6 年", "仅满 4 年", "2022-05-01"],
        ),
        (
            alert(
                "custody",
                {
                    "event": "ship",
                    "batch": "P-1",
                    "custodian": PHARMACY,
                    "signer_organisation": COOP,
                },
                subject=COOP,
            ),
            ["抚松县参业合作社在长春市同济堂大药房持有的批次 P-1（人参）上记录「发运」"],
        ),
        (
            alert(
                "quality_failed",
                {"event": "retail_sale", "batch": "P-1", "action": "sold"},
                batch="P-1",
                subject=PHARMACY,
            ),
            ["长春市同济堂大药房试图销售检验不合格的批次 P-1（人参）"],
        ),
        (
            alert(
                "counterfeit_scan",
                {
                    "gtin": "06901234567892",
                    "lot": "HS1",
                    "serial": "7",
                    "signal": "many_scanners",
                    "scanners": 12,
                    "limit": 5,
                    "scanned_at": "2026-10-12T03:00:00Z",
                    "first_scanned_at": "2026-10-01T16:30:00Z",
                },
            ),
            ["批号 HS1", "12 个不同扫码者", "阈值 5", "2026-10-02 00:30", "2026-10-12 11:00"],
        ),
        (
            alert(
                "counterfeit_scan",
                {
                    "gtin": "06901234567892",
                    "lot": "HS1",
                    "serial": "7",
                    "signal": "far_apart",
                    "far_km": 1800,
                    "limit": 300,
                    "place": "广州",
                    "other_place": "长春",
                    "scanned_at": "2026-10-12T03:00:00Z",
                },
            ),
            ["相距 1800 公里", "阈值 300 公里", "长春、广州"],
        ),
        (
            alert(
                "counterfeit_scan",
                {
                    "event": "retail_sale",
                    "gtin": "06901234567892",
                    "serial": "7",
                    "batch": "P-1",
                    "sold_index": 40,
                },
            ),
            ["被再次登记销售", "#40"],
        ),
    ],
)
def test_each_kind_is_told_from_its_evidence(view: AlertView, said: list[str]) -> None:
    """Names, quantities with units and Beijing times come from the evidence; the English
    `detail` is never shown, and every alert says what to do."""
    worded = word_alert(view, NAMES)
    for part in said:
        assert part in worded.summary, (part, worded.summary)
    assert "machine text" not in worded.summary
    assert worded.action
    assert worded.raised_at == "2026-10-12 11:00"


def test_evidence_of_an_unexpected_shape_is_listed_not_lost() -> None:
    """A cold-chain alert without its usual evidence still says what it carries."""
    worded = word_alert(alert("cold_chain", {"odd": "x"}), NAMES)
    assert worded.title == "储存温湿度超限"
    assert "odd：x" in worded.summary
    assert "None" not in worded.summary
