"""The grower's handheld journey in headless Chromium against a live `herbtrace serve` process:
open a batch, enrol the browser's own key, record an event signed in the browser, record
another while offline, come back online, and find both in the log with verified receipts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_harness import (
    ARTIFACTS,
    FAST_PUBLIC,
    BrowserPage,
    LiveServer,
    new_page,
    server_environ,
    serving,
)
from domain.story import COOP, World, body
from playwright.sync_api import Browser

from traceability import users
from traceability.domain.service import Domain
from traceability.ledger import initialise
from traceability.settings import Settings
from traceability.storage.db import make_engine

ORIGIN = "handheld.test.herbtrace/log"
PLANTING = "FS-PL-2020-001"
SECOND = "FS-PL-2021-002"
SITE = "site-fusong-wanliang"


@pytest.fixture(name="handheld_server")
def _handheld_server(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    """A database with the story's parties and the cooperative's planting, an operator of
    the cooperative with a token, and `herbtrace serve` on it as a real process."""
    url = f"sqlite:///{tmp_path / 'herbtrace.db'}"
    settings = Settings(database_url=url, log_origin=ORIGIN)
    engine = make_engine(url)
    initialise(settings, engine)
    with Domain(settings, engine) as domain:
        world = World(domain)
        world.register_all()
        world.ok(COOP, body("planting"))
        world.ok(COOP, body("planting", batch=SECOND, planted_on="2021-04-20"))
    users.create_user(engine, "wang.fang", "operator", COOP)
    token = users.issue_token(engine, "wang.fang", "handheld").token
    engine.dispose()
    environ = server_environ(url, ORIGIN, **FAST_PUBLIC)
    with serving(tmp_path, environ) as server:
        yield server, token


@pytest.fixture(name="phone")
def _phone(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserPage]:
    """A phone-sized page (390×844, zh-CN) in its own context, screenshotted at the end."""
    viewport = {"width": 390, "height": 844}
    wrapped = new_page(browser, console_errors=False, locale="zh-CN", viewport=viewport)
    try:
        yield wrapped
        wrapped.screenshot(f"{request.node.name}.end")
    finally:
        wrapped.page.context.close()


def _record(phone: BrowserPage, product: str, dose: str, *, confirm: bool = True) -> None:
    page = phone.page
    page.select_option("#event-type", "cultivation_input")
    page.select_option("#input-kind", "fertiliser")
    page.fill("#product", product)
    page.fill("#dose-value", dose)
    page.fill("#applied-on", "2026-05-02")
    page.click("#record-button")
    if confirm:
        page.wait_for_selector("#confirm[open]")
        page.click("#confirm-yes")


def _enrol(phone: BrowserPage, token: str) -> None:
    page = phone.page
    page.fill("#enrol-token", token)
    page.fill("#enrol-organisation", COOP)
    page.fill("#enrol-site", SITE)
    page.click("#enrol-button")
    page.wait_for_function("() => document.getElementById('enrol-form').hidden")


def _open(phone: BrowserPage, code: str) -> str:
    """Type `code` into the scan box, open it, and return the message shown once settled."""
    page = phone.page
    page.fill("#scan-input", code)
    page.click("#open-batch")
    page.wait_for_function(
        "() => !document.getElementById('message').textContent.startsWith('正在打开')"
    )
    return page.inner_text("#message")


def _mine(server: LiveServer, batch: str, device_id: str) -> list[dict[str, object]]:
    history = server.get_json(f"/v1/batches/{batch}/events")["items"]
    return [e for e in history if e["signer"] == device_id]


def _status(phone: BrowserPage, seq: int) -> str | None:
    return phone.page.get_attribute(f"#outbox li[data-seq='{seq}']", "data-status")


def test_handheld_records_online_and_offline_and_both_land_in_the_log(
    handheld_server: tuple[LiveServer, str], phone: BrowserPage
) -> None:
    """The browser makes its own Ed25519 key, an operator enrols it, an event recorded
    online is accepted, one recorded offline waits in IndexedDB as pending and is sent when
    the network returns; both are in the batch's history signed by the browser's key, with
    receipts the page verified against the log key."""
    server, token = handheld_server
    page = phone.page
    page.goto(server.url(f"/handheld?batch={PLANTING}"))
    page.wait_for_selector("body[data-ready='1']")
    device_id = page.inner_text("#device-id")
    assert len(device_id) == 32
    assert page.inner_text("#batch-id") == PLANTING
    assert "renshen" in page.inner_text("#batch-card")
    phone.screenshot("handheld-1-batch")

    _enrol(phone, token)
    assert COOP in page.inner_text("#device-state")

    _record(phone, "腐熟农家肥", "150")
    page.wait_for_selector("#outbox li[data-seq='1'][data-status='accepted']")
    assert page.get_attribute("#outbox li[data-seq='1']", "data-verified") == "1"

    page.context.set_offline(True)
    page.wait_for_selector("#net-status[data-online='0']")
    _record(phone, "硫酸钾复合肥", "20.5")
    page.wait_for_selector("#outbox li[data-seq='2']")
    page.wait_for_timeout(500)
    assert _status(phone, 2) == "pending"
    phone.screenshot("handheld-2-offline")

    page.context.set_offline(False)
    page.wait_for_selector("#outbox li[data-seq='2'][data-status='accepted']", timeout=15_000)
    assert page.get_attribute("#outbox li[data-seq='2']", "data-verified") == "1"
    phone.screenshot("handheld-3-synced")

    history = server.get_json(f"/v1/batches/{PLANTING}/events")["items"]
    mine = [e for e in history if e["signer"] == device_id]
    assert [(e["seq"], e["body"]["product"]) for e in mine] == [
        (1, "腐熟农家肥"),
        (2, "硫酸钾复合肥"),
    ]
    assert mine[1]["body"]["dose"] == {"value": "20.5", "unit": "kg/mu"}
    assert phone.errors == []
    assert (ARTIFACTS / "handheld-3-synced.png").exists()


def test_unenrolled_handheld_is_refused_and_keeps_nothing(
    handheld_server: tuple[LiveServer, str], phone: BrowserPage
) -> None:
    """A wrong operator token is refused with its reason shown; the device stays unenrolled
    and no event can be recorded."""
    server, _token = handheld_server
    page = phone.page
    page.goto(server.url(f"/handheld?batch={PLANTING}"))
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#enrol-token", "htk_" + "A" * 43)
    page.fill("#enrol-organisation", COOP)
    page.fill("#enrol-site", SITE)
    page.click("#enrol-button")
    page.wait_for_function("() => document.getElementById('message').textContent.length > 0")
    assert "refused" in page.inner_text("#message")
    assert not page.is_hidden("#enrol-form")
    _record(phone, "腐熟农家肥", "150", confirm=False)
    page.wait_for_function("() => document.getElementById('message').textContent.includes('enrol')")
    assert page.locator("#outbox li").count() == 0


def test_a_failed_lookup_closes_the_open_batch_so_nothing_is_recorded_onto_it(
    handheld_server: tuple[LiveServer, str], phone: BrowserPage
) -> None:
    """With one batch open, opening another while offline, or a wrong ID online, closes the
    open batch with a Chinese message (no raw JavaScript error); a forced submit records
    nothing; cancelling the confirmation signs nothing; the one event signed after the
    grower confirmed the batch it names lands on that batch and none on the first."""
    server, token = handheld_server
    page = phone.page
    page.goto(server.url(f"/handheld?batch={PLANTING}"))
    page.wait_for_selector("body[data-ready='1']")
    device_id = page.inner_text("#device-id")
    _enrol(phone, token)
    assert page.inner_text("#batch-id") == PLANTING

    page.context.set_offline(True)
    said = _open(phone, SECOND)
    assert SECOND in said
    assert "Failed" not in said
    assert "fetch" not in said
    assert page.is_hidden("#batch")
    assert page.is_hidden("#record")
    phone.screenshot("handheld-failed-lookup-offline")
    page.evaluate("document.getElementById('record-form').requestSubmit()")
    page.wait_for_function(
        "() => document.getElementById('message').textContent.includes('请先打开')"
    )
    assert page.locator("#outbox li").count() == 0

    page.context.set_offline(False)
    page.wait_for_selector("#net-status[data-online='1']")
    said = _open(phone, "FS-PL-2099-404")
    assert "查无批次 FS-PL-2099-404" in said
    assert page.is_hidden("#batch")
    assert page.is_hidden("#record")

    assert _open(phone, SECOND) == ""
    assert page.inner_text("#batch-id") == SECOND
    page.select_option("#event-type", "cultivation_input")
    page.fill("#product", "腐熟农家肥")
    page.fill("#dose-value", "150")
    page.click("#record-button")
    page.wait_for_selector("#confirm[open]")
    assert page.inner_text("#confirm-batch") == SECOND
    page.click("#confirm-no")
    page.wait_for_function(
        "() => document.getElementById('message').textContent.includes('已取消')"
    )
    assert page.locator("#outbox li").count() == 0

    page.click("#record-button")
    page.wait_for_selector("#confirm[open]")
    assert page.inner_text("#confirm-batch") == SECOND
    phone.screenshot("handheld-confirm")
    page.click("#confirm-yes")
    page.wait_for_selector("#outbox li[data-seq='1'][data-status='accepted']")
    assert _mine(server, PLANTING, device_id) == []
    assert [e["seq"] for e in _mine(server, SECOND, device_id)] == [1]
    assert phone.errors == []


def test_the_organisations_batches_kept_at_enrolment_open_offline_and_say_their_age(
    handheld_server: tuple[LiveServer, str], phone: BrowserPage
) -> None:
    """Enrolment downloads every batch of the cooperative with the operator's token (which
    is not kept); offline, a batch never opened before opens from that copy, saying how old
    it is; an event recorded onto it then lands on it once the phone is back online."""
    server, token = handheld_server
    page = phone.page
    page.goto(server.url("/handheld"))
    page.wait_for_selector("body[data-ready='1']")
    device_id = page.inner_text("#device-id")
    assert page.get_attribute("#cache-state", "data-count") == "0"
    _enrol(phone, token)
    page.wait_for_selector("#cache-state[data-count='2']")
    assert "刚刚" in page.inner_text("#cache-state")
    stored = page.evaluate(
        """() => new Promise((resolve) => {
            const req = indexedDB.open("herbtrace-handheld");
            req.onsuccess = () => {
                const names = req.result.transaction("names").objectStore("names");
                const all = names.getAll();
                all.onsuccess = () => resolve(JSON.stringify(all.result));
            };
        })"""
    )
    assert token not in stored

    page.context.set_offline(True)
    page.wait_for_selector("#net-status[data-online='0']")
    page.click(f"#cache-list button[data-batch='{SECOND}']")
    page.wait_for_function(f"() => document.getElementById('batch-id').textContent === '{SECOND}'")
    assert "离线" in page.inner_text("#batch-age")
    assert "保存的数据" in page.inner_text("#batch-age")
    phone.screenshot("handheld-offline-from-cache")
    assert _open(phone, "FS-PL-2099-404").startswith("离线，本机没有保存批次 FS-PL-2099-404")
    assert page.is_hidden("#batch")
    assert _open(phone, SECOND) == ""
    _record(phone, "腐熟农家肥", "150")
    page.wait_for_selector("#outbox li[data-seq='1'][data-status='pending']")

    page.context.set_offline(False)
    page.wait_for_selector("#outbox li[data-seq='1'][data-status='accepted']", timeout=15_000)
    page.wait_for_function("() => document.getElementById('batch-age').hidden")
    assert [e["seq"] for e in _mine(server, SECOND, device_id)] == [1]
    assert phone.errors == []
