"""The grower's handheld journey in headless Chromium against a live `herbtrace serve` process:
open a batch, enrol the browser's own key, record an event signed in the browser, record
another while offline, come back online, and find both in the log with verified receipts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from browser_harness import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    FAST_PUBLIC,
    BrowserPage,
    LiveServer,
    chromium_executable,
    new_page,
    server_environ,
    serving,
)
from domain.story import COOP, World, body
from handheld_support import code_image, png, sample, y4m
from playwright.sync_api import Browser, Playwright

from schemas.events import parse_body
from traceability import users
from traceability.domain.service import Domain
from traceability.ledger import initialise
from traceability.settings import Settings
from traceability.storage.db import make_engine

ORIGIN = "handheld.test.herbtrace/log"
PLANTING = "FS-PL-2020-001"
SECOND = "FS-PL-2021-002"
UNKEPT = "FS-PL-2022-003"
"""A batch ID this phone has never seen: offline, nothing can say whether it exists."""
SITE = "site-fusong-wanliang"
PHONE = {"width": 412, "height": 915}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(name="handheld_server")
def _handheld_server(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    """A database with the story's parties and the cooperative's planting, an operator of
    the cooperative with a token, and `herbtrace serve` on it as a real process."""
    environ, token = _story_database(tmp_path)
    with serving(tmp_path, environ) as server:
        yield server, token


def _story_database(tmp_path: Path) -> tuple[dict[str, str], str]:
    """The story's parties and the cooperative's two plantings in a SQLite file, and an
    operator token; returns the server's environment and the token."""
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
    return server_environ(url, ORIGIN, **FAST_PUBLIC), token


@pytest.fixture(name="phone")
def _phone(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserPage]:
    """A phone-sized page (412×915, zh-CN) in its own context, screenshotted at the end."""
    viewport = PHONE
    wrapped = new_page(browser, console_errors=False, locale="zh-CN", viewport=viewport)
    try:
        yield wrapped
        wrapped.screenshot(f"{request.node.name}.end")
    finally:
        wrapped.page.context.close()


def _record(
    phone: BrowserPage, product: str, dose: str, *, on: str = "2026-05-02", confirm: bool = True
) -> None:
    page = phone.page
    page.select_option("#event-type", "cultivation_input")
    page.select_option("#record-fields [data-path='input']", "fertiliser")
    page.fill("#record-fields [data-path='product']", product)
    page.fill("#record-fields [data-path='dose.value']", dose)
    page.fill("#record-fields [data-path='applied_on']", on)
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
    card = page.inner_text("#batch-card")
    assert "人参" in card
    assert "种植批次" in card
    assert "正常" in card
    for code in ("renshen", "planting", "active", "untested", "mu"):
        assert code not in card
    phone.screenshot("handheld-1-batch")

    _enrol(phone, token)
    page.wait_for_selector("#cache-state[data-count='2']")
    assert page.inner_text("#device-state") == "抚松县长白山人参种植专业合作社 · 万良镇林下参基地"
    assert "抚松县长白山人参种植专业合作社" in page.inner_text("#batch-card [data-field='owner']")

    _record(phone, "腐熟农家肥", "150")
    page.wait_for_selector("#outbox li[data-seq='1'][data-status='accepted']")
    assert page.get_attribute("#outbox li[data-seq='1']", "data-verified") == "1"

    page.context.set_offline(True)
    page.wait_for_selector("#net-status[data-online='0']")
    _record(phone, "硫酸钾复合肥", "20.5", on="2021-05-01")
    page.wait_for_selector("#outbox li[data-seq='2']")
    page.wait_for_timeout(500)
    assert _status(phone, 2) == "pending"
    phone.screenshot("handheld-2-offline")

    page.context.set_offline(False)
    page.wait_for_selector("#outbox li[data-seq='2'][data-status='accepted']", timeout=15_000)
    assert page.get_attribute("#outbox li[data-seq='2']", "data-verified") == "1"
    phone.screenshot("handheld-3-synced")

    page.wait_for_selector("#batch-events li:nth-child(3)")
    dates = page.eval_on_selector_all("#batch-events li", "items => items.map(i => i.dataset.date)")
    assert dates == ["2020-04-25", "2021-05-01", "2026-05-02"]
    assert page.inner_text("#batch-events li:nth-child(2)").startswith("2021-05-01 施肥/用药")
    assert "已入日志" in page.inner_text("#outbox li[data-seq='2']")
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
    """With one batch open, opening one not kept on the phone while offline, or a wrong ID
    online, closes the open batch with a Chinese message (no raw JavaScript error); a forced
    submit records nothing; cancelling the confirmation signs nothing; the one event signed
    after the grower confirmed the batch it names lands on that batch and none on the first."""
    server, token = handheld_server
    page = phone.page
    page.goto(server.url(f"/handheld?batch={PLANTING}"))
    page.wait_for_selector("body[data-ready='1']")
    device_id = page.inner_text("#device-id")
    _enrol(phone, token)
    page.wait_for_selector("#cache-state[data-count='2']")
    assert page.inner_text("#batch-id") == PLANTING

    page.context.set_offline(True)
    said = _open(phone, UNKEPT)
    assert UNKEPT in said
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
    page.fill("#record-fields [data-path='product']", "腐熟农家肥")
    page.fill("#record-fields [data-path='dose.value']", "150")
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


def test_a_grower_downloads_batches_at_enrolment_and_records_a_harvest_offline_by_form(
    handheld_server: tuple[LiveServer, str], phone: BrowserPage
) -> None:
    """Enrolment downloads every batch of the cooperative with the operator's token (which
    is not kept); offline, a batch never opened before opens from that copy, saying how old
    it is; a harvest entered in the harvest form (origin, herb and site filled in from the
    batch and the device) waits in the outbox, and once the phone is back online it is in
    the log as a new batch harvested from that planting, with a verified receipt."""
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
    page.select_option("#event-type", "harvest")
    fields = "#record-fields [data-path='{}']"
    assert page.inner_text(fields.format("origin")) == SECOND
    assert page.inner_text(fields.format("herb")) == "人参"
    page.fill(fields.format("batch"), "FS-RS-2026-010")
    page.fill(fields.format("harvested_on"), "2026-09-15")
    page.fill(fields.format("quantity.value"), "180.5")
    page.fill(fields.format("growing_years"), "5")
    page.click("#record-button")
    page.wait_for_selector("#confirm[open]")
    assert page.inner_text("#confirm-batch") == SECOND
    assert "180.5" in page.inner_text("#confirm-fields")
    phone.screenshot("handheld-offline-harvest-confirm")
    page.click("#confirm-yes")
    page.wait_for_selector("#outbox li[data-seq='1'][data-status='pending']")
    phone.screenshot("handheld-offline-harvest-queued")

    page.context.set_offline(False)
    page.wait_for_selector("#outbox li[data-seq='1'][data-status='accepted']", timeout=15_000)
    assert page.get_attribute("#outbox li[data-seq='1']", "data-verified") == "1"
    page.wait_for_function("() => document.getElementById('batch-age').hidden")
    phone.screenshot("handheld-offline-harvest-receipt")
    (harvest,) = _mine(server, "FS-RS-2026-010", device_id)
    assert harvest["body"]["origin"] == SECOND
    assert harvest["body"]["quantity"] == {"value": "180.5", "unit": "kg"}
    assert _mine(server, PLANTING, device_id) == []
    assert phone.errors == []


def test_every_form_makes_an_event_body_the_wire_schema_accepts(
    handheld_server: tuple[LiveServer, str], phone: BrowserPage
) -> None:
    """The page's own form code (forms.js) turns what a grower types into each form, with
    every field filled and with only the required ones, into bodies that the server's
    wire models accept, with the open batch, its herb and the device's site filled in."""
    server, _token = handheld_server
    page = phone.page
    page.goto(server.url("/handheld"))
    page.wait_for_selector("body[data-ready='1']")
    spec = page.evaluate("async () => (await import('/static/handheld/forms.js')).loadForms()")
    values = {
        form["id"]: {f["path"]: sample(form["id"], f) for f in form["fields"]}
        for form in spec["forms"]
    }
    made = page.evaluate(
        """async (values) => {
            const forms = await import('/static/handheld/forms.js');
            const spec = await forms.loadForms();
            const context = { batch: { id: 'FS-PL-2020-001', herb: 'renshen' },
                              site: 'site-fusong-wanliang' };
            const out = {};
            for (const form of spec.forms) {
                const all = values[form.id];
                const must = (f) =>
                    f.required || forms.fieldSchema(spec.schema, form.type, f.path).required;
                const needed = Object.fromEntries(
                    form.fields.filter(must).map((f) => [f.path, all[f.path]]));
                out[form.id] = [forms.bodyOf(spec, form, all, context),
                                forms.bodyOf(spec, form, needed, context)];
            }
            return out;
        }""",
        values,
    )
    assert set(made) == {form["id"] for form in spec["forms"]}
    for form_id, bodies in made.items():
        for made_body in bodies:
            parsed = parse_body(made_body)
            assert parsed.type == made_body["type"], form_id
    harvest, _ = made["harvest"]
    assert (harvest["origin"], harvest["herb"], harvest["site"]) == (
        PLANTING,
        "renshen",
        SITE,
    )
    assert harvest["quantity"] == {"value": "12.5", "unit": "kg"}
    assert harvest["growing_years"] == 3
    readings, _ = made["sensor_reading"]
    assert readings["batches"] == [PLANTING]
    assert readings["readings"][0]["at"].endswith("Z")
    pack, only_required = made["pack"]
    assert pack["serials"] == ["SN001", "SN002"]
    assert "name" not in only_required["product"]
    assert phone.errors == []


def test_the_page_opens_with_no_server_at_all_after_one_visit(
    tmp_path: Path, phone: BrowserPage
) -> None:
    """After one visit the service worker keeps the page, its scripts, forms, schema and
    names; with the server stopped, the page reloads, offers its forms and opens the batch
    kept on the phone, saying how old it is."""
    environ, _token = _story_database(tmp_path)
    page = phone.page
    with ExitStack() as running:
        server = running.enter_context(serving(tmp_path, environ))
        page.goto(server.url(f"/handheld?batch={PLANTING}"))
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_function("async () => !!(await navigator.serviceWorker.ready).active")
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        assert page.evaluate("() => !!navigator.serviceWorker.controller")
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    assert page.inner_text("#batch-id") == PLANTING
    assert "离线" in page.inner_text("#batch-age")
    assert page.locator("#event-type option").count() >= 9
    assert page.locator("#record-fields [data-path]").count() > 0
    phone.screenshot("handheld-no-server")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_every_form_fits_the_screen_without_scrolling_sideways(
    handheld_server: tuple[LiveServer, str], browser: Browser, size: str
) -> None:
    """At 412 px and at desktop width, the enrolled page with a batch open shows each form
    in turn and never scrolls horizontally; a screenshot of each size is kept."""
    server, token = handheld_server
    viewport = PHONE if size == "phone" else DESKTOP
    wrapped = new_page(browser, console_errors=False, locale="zh-CN", viewport=viewport)
    page = wrapped.page
    try:
        page.goto(server.url(f"/handheld?batch={PLANTING}"))
        page.wait_for_selector("body[data-ready='1']")
        _enrol(wrapped, token)
        page.wait_for_selector("#cache-state[data-count='2']")
        wide = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        for select in ("#event-type", "#create-type"):
            for value in page.eval_on_selector_all(f"{select} option", "o => o.map(x => x.value)"):
                page.select_option(select, value)
                assert page.evaluate(wide) <= 0, (size, value)
        page.select_option("#event-type", "harvest")
        page.select_option("#create-type", "planting")
        wrapped.screenshot(f"handheld-{size}")
        assert wrapped.errors == []
    finally:
        page.context.close()


def test_codes_in_photos_open_their_batch_with_the_vendored_decoder(
    handheld_server: tuple[LiveServer, str], phone: BrowserPage, tmp_path: Path
) -> None:
    """Where the browser has no BarcodeDetector (headless Chromium on Linux), the vendored
    zxing-wasm decoder reads a photographed QR code of a handheld link and a DataMatrix of
    a batch ID, each opening its batch; a GS1 DataMatrix (GTIN and lot) is resolved through
    its Digital Link, which names no batch here, and the page says so in Chinese."""
    server, _token = handheld_server
    page = phone.page
    page.goto(server.url("/handheld"))
    page.wait_for_selector("body[data-ready='1']")
    assert page.evaluate(
        "async () => (await import('/static/handheld/scanner.js')).decoderName()"
    ) == ("zxing-wasm")
    photos = {
        "qr": png(*code_image(server.url(f"/handheld?batch={SECOND}"), "qr")),
        "datamatrix": png(*code_image(PLANTING, "datamatrix")),
        "gs1": png(*code_image("(01)06901234567892(10)NOLOT1", "datamatrix", gs1=True)),
    }
    for name, data in photos.items():
        (tmp_path / f"{name}.png").write_bytes(data)

    page.set_input_files("#scan-photo", str(tmp_path / "qr.png"))
    page.wait_for_function(f"() => document.getElementById('batch-id').textContent === '{SECOND}'")
    page.wait_for_selector(f"#cache-list button[data-batch='{SECOND}']")
    page.set_input_files("#scan-photo", str(tmp_path / "datamatrix.png"))
    page.wait_for_function(
        f"() => document.getElementById('batch-id').textContent === '{PLANTING}'"
    )
    page.set_input_files("#scan-photo", str(tmp_path / "gs1.png"))
    page.wait_for_function(
        "() => document.getElementById('message').textContent.includes('查不到批次')"
    )
    assert page.is_hidden("#batch")
    assert page.input_value("#scan-input").startswith("(01)06901234567892(10)NOLOT1")
    assert phone.errors == []


def test_the_camera_reads_a_code_and_opens_its_batch(
    handheld_server: tuple[LiveServer, str], playwright: Playwright, tmp_path: Path
) -> None:
    """With a camera showing a QR code of a handheld link (Chromium's fake camera playing a
    picture of it), the camera scan reads it with the vendored decoder, opens that batch and
    releases the camera."""
    server, _token = handheld_server
    video = tmp_path / "qr.y4m"
    video.write_bytes(y4m(*code_image(server.url(f"/handheld?batch={SECOND}"), "qr")))
    camera_args = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    browser = playwright.chromium.launch(
        executable_path=chromium_executable(), headless=True, args=CHROMIUM_ARGS + camera_args
    )
    try:
        wrapped = new_page(
            browser, console_errors=False, locale="zh-CN", viewport=PHONE, permissions=["camera"]
        )
        page = wrapped.page
        page.goto(server.url("/handheld"))
        page.wait_for_selector("body[data-ready='1']")
        page.click("#scan-camera")
        page.wait_for_function(
            f"() => document.getElementById('batch-id').textContent === '{SECOND}'",
            timeout=30_000,
        )
        assert page.is_hidden("#camera")
        assert page.evaluate("() => document.getElementById('camera-video').srcObject") is None
        wrapped.screenshot("handheld-camera-scan")
        assert wrapped.errors == []
    finally:
        browser.close()
