"""The consumer page in real headless Chromium at a phone's size, against a live seeded server:
the Chinese facts and records that verify, the English switch, the recall verdict, a tampered
proof failing the records check, and scans from far-apart places warning of a copied code."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_harness import (
    FAST_PUBLIC,
    BrowserPage,
    LiveServer,
    herbtrace_ok,
    new_page,
    server_environ,
    serving,
)
from consumer_support import RECALL_EVENTS, RECALLED, SOLD
from playwright.sync_api import Browser, Route

PHONE = {"width": 412, "height": 915}
FRESH_UNIT = "/01/09520123000110/10/HS260000000/21/RS00000000007"  # scanned by no other test
CHANGCHUN = {"latitude": 43.8868, "longitude": 125.3245}
GUANGZHOU = {"latitude": 23.1291, "longitude": 113.2644}


@pytest.fixture(name="server", scope="module")
def _server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    """`herbtrace seed` through story 2's recall, then `herbtrace serve`, as real processes."""
    home = tmp_path_factory.mktemp("consumer-server")
    database = f"sqlite:///{home / 'herbtrace.db'}"
    environ = server_environ(database, "consumer.test.herbtrace/log", **FAST_PUBLIC)
    herbtrace_ok(["seed", "--events", str(RECALL_EVENTS)], home, environ)
    with serving(home, environ) as live:
        live.log_key = live.log_key.strip()
        yield live, home / "herbtrace.db"


@pytest.fixture(name="phone")
def _phone(
    browser: Browser, request: pytest.FixtureRequest
) -> Iterator[Callable[..., BrowserPage]]:
    """Open pages in fresh phone-sized zh-CN contexts (`phone(geolocation=…)` grants a place)."""
    pages: list[BrowserPage] = []

    def open_page(geolocation: dict[str, float] | None = None) -> BrowserPage:
        options: dict[str, Any] = {"locale": "zh-CN", "viewport": PHONE}
        if geolocation:
            options |= {"geolocation": geolocation, "permissions": ["geolocation"]}
        wrapped = new_page(browser, **options)
        pages.append(wrapped)
        return wrapped

    yield open_page
    for k, wrapped in enumerate(pages):
        wrapped.screenshot(f"{request.node.name}.{k}.end")
    for wrapped in pages:
        wrapped.page.context.close()


def facts_json(server: LiveServer, path: str) -> Any:
    """The resolver's JSON facts of `path`, as a handheld would ask for them."""
    request = urllib.request.Request(  # noqa: S310 - local http
        server.url(path), headers={"Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local http
        return json.load(response)


def load(bp: BrowserPage, server: LiveServer, path: str) -> None:
    """Open the page at `path`, wait until its script has verified and recorded the scan, and
    check that nothing made it wider than the phone."""
    bp.page.goto(server.url(path))
    bp.page.wait_for_selector("body[data-done='1']", timeout=30_000)
    fits = bp.page.evaluate("() => document.documentElement.scrollWidth")
    assert fits <= PHONE["width"], f"the page is {fits} px wide on a {PHONE['width']} px phone"


def text(bp: BrowserPage, selector: str) -> str:
    """The rendered text of the element `selector`."""
    return bp.page.inner_text(selector)


def test_a_sold_unit_shows_its_chinese_facts_and_records_that_verify(
    phone: Callable[..., BrowserPage], server: tuple[LiveServer, Path]
) -> None:
    """The page of a sold 红参 unit says fine to use, shows 人参 and its Latin name, 抚松, six
    years, the harvest date, 蒸制, tests against limits with sources, the custody chain, and
    records that verify, each kind of check listed in Chinese."""
    live, database = server
    bp = phone()
    load(bp, live, SOLD)
    facts = facts_json(live, SOLD)
    assert text(bp, "#herb-zh") == "人参"
    assert text(bp, "#herb-latin") == "Panax ginseng C. A. Mey."
    assert "抚松县" in text(bp, "#origin-region")
    assert text(bp, "#growing-years") == "6 年"
    assert text(bp, "#harvested-on") == facts["origin"]["harvested_on"]
    assert "蒸制" in text(bp, "#processing")
    moisture = bp.page.locator('.test[data-result="pass"] .item[data-item="moisture"]')
    assert "限度 ≤ 12.0 %" in moisture.inner_text()
    assert "《中华人民共和国药典》2020年版一部" in moisture.locator(".source").inner_text()
    custody = bp.page.eval_on_selector_all("#custody .org", "els => els.map(e => e.innerText)")
    assert custody == [c["organisation"] for c in facts["custody"]]
    assert len(custody) == 3
    assert bp.page.get_attribute("#product-verdict", "data-verdict") == "ok"
    assert text(bp, "#product-verdict-title") == "未发现问题，可以使用"
    assert bp.page.get_attribute("#verdict", "data-state") == "green"
    assert text(bp, "#verdict").startswith("✔ 记录完整")
    checks = bp.page.eval_on_selector_all("#checks li", "els => els.map(e => e.dataset)")
    assert {c["ok"] for c in checks} == {"true"}
    assert {"facts", "inclusion-proof", "envelope-signature"} <= {c["kind"] for c in checks}
    assert "签名" in (bp.page.text_content("#checks") or "")
    shown = bp.page.text_content("#verify") or ""  # the folded list of checks too
    assert not re.search(r"[A-Za-z]{3,}", shown), shown  # no English on the Chinese page
    html = bp.page.content()
    with sqlite3.connect(database) as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM signers")]
    assert names
    assert not [n for n in names if n in html]  # no signer (person or device) is named
    assert bp.errors == []
    bp.screenshot("consumer-sold-zh")


def test_the_english_switch(
    phone: Callable[..., BrowserPage], server: tuple[LiveServer, Path]
) -> None:
    """Tapping the switch reloads the page in English (labels, steps and the badge) without
    counting another scan."""
    live, _ = server
    bp = phone()
    load(bp, live, SOLD)
    scanned = bp.page.get_attribute("#scan-first", "data-number")
    bp.page.click("#lang-switch")
    bp.page.wait_for_url("**?lang=en")
    bp.page.wait_for_selector("body[data-done='1']", timeout=30_000)
    assert bp.page.get_attribute("html", "lang") == "en"
    headings = bp.page.eval_on_selector_all(".card > h2", "els => els.map(e => e.innerText)")
    assert {"Origin", "Processing", "Quality tests", "Chain of custody"} <= set(headings)
    assert "steaming" in text(bp, "#processing")
    assert text(bp, "#growing-years") == "6 years"
    assert text(bp, "#verdict").startswith("✔ Records intact")
    assert text(bp, "#product-verdict-title") == "No problems found: fine to use"
    assert text(bp, "#lang-switch") == "中文"
    assert bp.page.get_attribute("#scan-first", "data-number") == scanned  # not a new scan
    assert bp.errors == []
    bp.screenshot("consumer-sold-en")


def test_a_recalled_unit_says_stop_first_and_its_records_check_stays_second(
    phone: Callable[..., BrowserPage], server: tuple[LiveServer, Path]
) -> None:
    """The recalled unit's page opens with the red recall verdict (三级召回, the reason, stop
    using it); the records still verify, said plainly below it and never as a green banner."""
    live, _ = server
    bp = phone()
    load(bp, live, RECALLED)
    verdict = bp.page.locator("#product-verdict")
    assert verdict.get_attribute("data-verdict") == "recalled"
    assert text(bp, "#product-verdict-title") == "已召回：请停止使用"
    assert "三级召回" in verdict.inner_text()
    assert "人参皂苷Rb1" in verdict.inner_text()
    assert verdict.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(197, 34, 31)"
    assert bp.page.get_attribute("#verdict", "data-state") == "green"
    records = bp.page.locator("#verdict")
    assert records.evaluate("e => getComputedStyle(e).backgroundColor") == "rgba(0, 0, 0, 0)"
    assert verdict.bounding_box()["y"] < records.bounding_box()["y"]  # type: ignore[index]
    size = "e => parseFloat(getComputedStyle(e).fontSize)"
    assert bp.page.locator("#product-verdict-title").evaluate(size) > records.evaluate(size)
    assert bp.errors == []
    bp.screenshot("consumer-recalled")


def flip(value: str, byte: int) -> str:
    """Return base64 `value` with one bit of byte `byte` flipped."""
    raw = bytearray(base64.b64decode(value))
    raw[byte] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(("field", "failed"), [("proof", "inclusion-proof"), ("leaf", "leaf-hash")])
def test_a_tampered_proof_turns_the_badge_red(
    phone: Callable[..., BrowserPage], server: tuple[LiveServer, Path], field: str, failed: str
) -> None:
    """One flipped bit in the proofs the page receives turns the badge red naming the check."""
    live, _ = server
    bp = phone()

    def tamper(route: Route) -> None:
        bundle = json.loads(route.fetch().text())
        entry = bundle["entries"][3]
        if field == "proof":
            entry["proof"][0] = flip(entry["proof"][0], 7)
        else:
            entry["leaf"] = flip(entry["leaf"], len(base64.b64decode(entry["leaf"])) - 3)
        route.fulfill(json=bundle)

    bp.page.route("**/v1/batches/*/proofs?scope=trace", tamper)
    load(bp, live, SOLD)
    assert bp.page.get_attribute("#verdict", "data-state") == "red"
    assert bp.page.get_attribute("#verdict", "data-failed") == failed
    assert text(bp, "#verdict .verdict-title").startswith("✘ 记录未通过核验")
    name = {"inclusion-proof": "收录证明", "leaf-hash": "记录摘要"}[failed]
    assert name in text(bp, "#verdict .verdict-title")
    assert "可能被篡改" in text(bp, "#verdict .verdict-detail")  # which record did not verify
    bad = bp.page.eval_on_selector_all(
        "#checks li[data-ok='false']", "els => els.map(e => e.dataset.kind)"
    )
    assert failed in bad
    assert bp.page.get_attribute("#product-verdict", "data-verdict") == "unverified"
    assert bp.errors == []
    bp.screenshot(f"consumer-tampered-{field}")


def test_scans_far_apart_warn_of_a_copied_code(
    phone: Callable[..., BrowserPage], server: tuple[LiveServer, Path]
) -> None:
    """The first scan (长春) says so; a later one in 广州 shows when and where the first was,
    and warns that the code was scanned too far apart; places are the browser's claim, so
    regulators are not told."""
    live, _ = server
    first = phone(geolocation=CHANGCHUN)
    load(first, live, FRESH_UNIT)
    assert text(first, "#scan-first") == "这是此码第一次被扫描。"
    assert first.page.locator("#scan-warning").is_hidden()
    second = phone(geolocation=GUANGZHOU)
    load(second, live, FRESH_UNIT)
    shown = text(second, "#scan-first")
    assert shown.startswith("此码首次扫描于")
    assert "43.9°N 125.3°E" in shown
    assert "已被扫描 2 次" in text(second, "#scan-count")
    warning = second.page.locator("#scan-warning")
    assert warning.is_visible()
    assert second.page.get_attribute("#scan-warning-list li", "data-signal") == "far_apart"
    assert "公里" in warning.inner_text()
    assert second.page.locator("#scan-reported").is_hidden()
    assert second.page.get_attribute("#product-verdict", "data-verdict") == "copied"
    assert text(second, "#product-verdict-title") == "此码可能被复制：请先核实再使用"
    assert first.errors == second.errors == []
    second.screenshot("consumer-scan-warning")
