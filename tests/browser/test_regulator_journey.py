"""The regulator's journey in real Chromium, at a phone's size (412×915) and a desktop's:
sign in, read an alert written in Chinese, verify a box by its 批号, recall it with who holds
it and who sold it, and never scroll the page sideways.

The server is a live seeded `herbtrace serve` made by `test_regulator_page.py`'s `desk`
fixture (one for this module); each size recalls its own packed batch, found on the page by
the lot printed on its box.
Screenshots go to test-artifacts/browser/ (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from browser_harness import BrowserPage, new_page
from playwright.sync_api import Browser
from test_regulator_page import Desk, element_shot, sign_in
from test_regulator_page import _desk as desk_fixture  # its own seeded server, this module

__all__ = ["desk_fixture"]

SIZES: dict[str, dict[str, int]] = {
    "phone": {"width": 412, "height": 915},
    "desktop": {"width": 1280, "height": 900},
}
BOX = {"phone": "JA-HS-2026-00000-P", "desktop": "JA-HS-2026-00003-P"}
"""The packed batch whose box each size holds (both sold units at the pharmacy)."""

MACHINE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:|:\d{2}\.\d{3,}|\d{2}:\d{2}:\d{2}Z")

LABELS_FIT = """svg => {
  const cut = [];
  for (const group of svg.querySelectorAll("g.batch, g.units")) {
    const box = group.querySelector("rect").getBBox();
    for (const text of group.querySelectorAll("text")) {
      const b = text.getBBox();
      const outside = b.x < box.x || b.x + b.width > box.x + box.width + 0.5
        || b.y + b.height > box.y + box.height + 0.5;
      if (outside || text.textContent.includes("…")) cut.push(text.textContent);
    }
  }
  return cut;
}"""
"""Labels drawn outside their box, or shortened with an ellipsis, in the browser's own layout."""


@pytest.fixture(name="sized", params=list(SIZES))
def _sized(browser: Browser, request: pytest.FixtureRequest) -> Iterator[tuple[str, BrowserPage]]:
    """A zh-CN page at each size in its own context; page errors fail the test."""
    size = str(request.param)
    wrapped = new_page(browser, locale="zh-CN", viewport=SIZES[size])
    try:
        yield size, wrapped
        assert not [e for e in wrapped.errors if e.startswith("page error")], wrapped.errors
    finally:
        wrapped.page.context.close()


def no_sideways_scroll(page: BrowserPage) -> None:
    """The page is no wider than the window (wide pictures scroll inside their frame)."""
    widths = page.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


def test_a_regulator_goes_from_sign_in_through_an_alert_a_lot_and_a_recall(
    sized: tuple[str, BrowserPage], desk: Desk
) -> None:
    """Sign in; the alerts read as Chinese sentences with Beijing time and what to do; the
    box's GTIN and 批号 open its batch, verified green, its picture's labels whole; a recall
    by the 批号 shows who holds the goods and who sold how many, the same after as before."""
    size, browser_page = sized
    page = browser_page.page
    sign_in(browser_page, desk)
    shot = f"regulator-journey-{size}"

    listed = desk.api("/v1/alerts?limit=20")["items"]
    cold = next(a for a in listed if a["kind"] == "cold_chain")
    card = page.locator(
        f"#alert-list li.card[data-kind='cold_chain'][data-batch='{cold['batch']}']"
    )
    shown = card.first.inner_text()
    assert cold["zh"]["summary"] in shown
    assert "建议处置" in shown
    assert "北京时间" in shown
    assert not MACHINE_TIME.search(cold["zh"]["summary"])
    assert cold["detail"] not in page.locator("#alert-list li.card p.detail").all_inner_texts()
    no_sideways_scroll(browser_page)
    browser_page.screenshot(f"{shot}-1-alerts")
    card.first.scroll_into_view_if_needed()
    element_shot(browser_page, "#alert-list li.card >> nth=0", f"{shot}-alert-card")

    packed = desk.api(f"/v1/batches/{BOX[size]}")
    gtin, lot = packed["gtin"], packed["lot"]
    page.fill("#batch-id", f"{gtin} 批号：{lot}")
    page.click("#batch-form button[type=submit]")
    page.wait_for_selector(f"#batch-badge[data-done='1'][data-batch='{BOX[size]}']")
    assert page.get_attribute("#batch-badge .herbtrace-badge", "data-state") == "green"
    resolved = page.inner_text("#batch-resolved")
    assert f"批号 {lot}" in resolved
    assert BOX[size] in resolved
    page.wait_for_selector("#lineage:not([hidden]) svg")
    assert page.eval_on_selector("#lineage-svg svg", LABELS_FIT) == []
    labels = page.eval_on_selector_all(
        "#lineage-svg svg g.edge", "els => els.map(g => g.textContent)"
    )
    assert labels
    assert not [label for label in labels if re.search(r"[A-Za-z]", label)]
    no_sideways_scroll(browser_page)
    browser_page.screenshot(f"{shot}-2-verified-by-lot")
    element_shot(browser_page, "#batch", f"{shot}-batch-section")

    reach: dict[str, Any] = desk.api(f"/v1/batches/{BOX[size]}/lineage")["reach"]
    assert reach["sold"] > 0
    page.fill("#recall-batch", lot)
    page.fill("#recall-reason", f"监督抽检不合格 journey {size}")
    page.click("#recall-preview")
    before = "#impact-before:not([hidden]) .impact-body"
    page.wait_for_selector(f"{before}[data-units='{reach['units']}']")
    assert page.get_attribute(before, "data-sold") == str(reach["sold"])

    def rows(where: str, table: str) -> list[list[str]]:
        return [
            [cell.strip() for cell in row.split("\t")]
            for row in page.locator(f"{where} table.{table} tbody tr").all_inner_texts()
        ]

    holders = rows(before, "impact-holders")
    sellers = rows(before, "impact-sellers")
    assert [h["name"] for h in reach["holders"]] == [row[0] for row in holders]
    assert [f"{s['units']} 件" for s in reach["sellers"]] == [
        row[2].split("（")[0] for row in sellers
    ]
    assert any(row[1] == BOX[size] and row[2].endswith("件") for row in holders)
    no_sideways_scroll(browser_page)
    browser_page.screenshot(f"{shot}-3-recall-preview")

    page.click("#recall-submit")
    after = "#impact-after:not([hidden]) .impact-body"
    page.wait_for_selector(f"{after}[data-units]")
    assert page.get_attribute(after, "data-sold") == str(reach["sold"])
    assert page.get_attribute(after, "data-recalled") == str(reach["units"])
    assert rows(after, "impact-holders") == holders
    assert rows(after, "impact-sellers") == sellers
    assert f"已售出 {reach['sold']} 件" in page.inner_text(f"{after} .summary")
    no_sideways_scroll(browser_page)
    browser_page.screenshot(f"{shot}-4-recalled")
    element_shot(browser_page, "#recall", f"{shot}-recall-section")
