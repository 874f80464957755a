"""The regulator page in real headless Chromium at a phone's size, against a live seeded server.

The server is a real `herbtrace serve` process on a SQLite file seeded (in two runs, so the
log has signed at least two checkpoints) with the demo's first EVENTS events, which include
failed tests, a cold-chain excursion and a recall. The regulator and an operator are
created with `herbtrace user add` and get their tokens from `herbtrace user token`.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_harness import (
    ARTIFACTS,
    LOG_ORIGIN,
    BrowserPage,
    LiveServer,
    herbtrace_ok,
    new_page,
    server_environ,
    serving,
)
from playwright.sync_api import Browser, Route
from support import run_herbtrace

EVENTS = (150, 50)  # two seed runs: each ends with a checkpoint
RECALLED = "JA-HS-2026-00002"  # recalled by the demo, with all its packed units
TO_RECALL = "JA-HS-2026-00001-A"  # a split batch packed into units, some sold
REGULATOR, OPERATOR = "li.jian", "wang.fang"
PHONE = {"width": 412, "height": 915}
RED_STROKE = "#d93025"


@dataclass
class Desk:
    """The live server, the two users' tokens, and where the server keeps its files."""

    server: LiveServer
    regulator_token: str
    operator_token: str
    home: Path

    def api(self, path: str, method: str = "GET") -> Any:
        """Call the API as the regulator and return the JSON answer."""
        request = urllib.request.Request(  # noqa: S310 - local http
            self.server.url(path),
            method=method,
            headers={"Authorization": f"Bearer {self.regulator_token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.load(response)


def token_of(name: str, home: Path, environ: dict[str, str]) -> str:
    """Issue a token for user `name` with `herbtrace user token` and return it."""
    issued = herbtrace_ok(["user", "token", name, "--label", "browser test"], home, environ)
    [token] = re.findall(r"htk_[A-Za-z0-9_-]{43}", issued)
    return token


@pytest.fixture(name="desk", scope="module")
def _desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """Seed, create the users, and serve, all as real `herbtrace` processes."""
    home = tmp_path_factory.mktemp("regulator-server")
    environ = server_environ(f"sqlite:///{home / 'herbtrace.db'}", LOG_ORIGIN)
    for count in EVENTS:
        herbtrace_ok(["seed", "--events", str(count)], home, environ)
    for args in (
        ["user", "add", REGULATOR, "--role", "regulator"],
        ["user", "add", OPERATOR, "--role", "operator", "--organisation", "org-fusong-coop"],
    ):
        herbtrace_ok(args, home, environ)
    tokens = token_of(REGULATOR, home, environ), token_of(OPERATOR, home, environ)
    with serving(home, environ) as server:
        yield Desk(server, *tokens, home)


@pytest.fixture(name="phone")
def _phone(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserPage]:
    """A page at 412×915 (zh-CN) in its own context, screenshotted at teardown."""
    wrapped = new_page(browser, locale="zh-CN", viewport=PHONE, accept_downloads=True)
    errors = wrapped.errors
    try:
        yield wrapped
        wrapped.screenshot(f"regulator-{request.node.name}.end")
        assert not [e for e in errors if e.startswith("page error")], errors
    finally:
        wrapped.page.context.close()


def sign_in(phone: BrowserPage, desk: Desk) -> None:
    """Open the page and sign in as the regulator; wait for the alerts to load."""
    phone.page.goto(desk.server.url("/regulator"))
    phone.page.wait_for_selector("body[data-ready='1']")
    phone.page.fill("#token", desk.regulator_token)
    phone.page.click("#signin-form button[type=submit]")
    phone.page.wait_for_selector("#alert-list[data-loaded='1']")


def open_batch(phone: BrowserPage, batch: str) -> str:
    """Verify `batch` on the page; return the badge's state once it is done."""
    phone.page.fill("#batch-id", batch)
    phone.page.click("#batch-form button[type=submit]")
    phone.page.wait_for_selector(f"#batch-badge[data-done='1'][data-batch='{batch}']")
    return str(phone.page.get_attribute("#batch-badge .herbtrace-badge", "data-state"))


def failed_checks(phone: BrowserPage, badge: str) -> list[tuple[str, str]]:
    """(kind, index) of every failed check listed on a badge."""
    items = phone.page.locator(f"{badge} li[data-ok='false']")
    return [
        (
            str(items.nth(k).get_attribute("data-kind")),
            str(items.nth(k).get_attribute("data-index")),
        )
        for k in range(items.count())
    ]


def element_shot(phone: BrowserPage, selector: str, name: str) -> None:
    """Save a screenshot of one element as test-artifacts/browser/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    phone.page.locator(selector).screenshot(path=str(ARTIFACTS / f"{name}.png"))


def flip_first_byte(value: str) -> str:
    """Return base64 `value` with the lowest bit of its first byte flipped."""
    raw = bytearray(base64.b64decode(value))
    raw[0] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_sign_in_refuses_bad_and_operator_tokens(phone: BrowserPage, desk: Desk) -> None:
    """An unknown token and an operator's are refused with a reason; nothing is kept."""
    page = phone.page
    page.goto(desk.server.url("/regulator"))
    page.wait_for_selector("body[data-ready='1']")
    for token, said in [("htk_" + "A" * 43, "token"), (desk.operator_token, "operator")]:
        page.fill("#token", token)
        page.click("#signin-form button[type=submit]")
        page.wait_for_selector("#signin-error:not([hidden])")
        assert said in page.inner_text("#signin-error")
        assert page.is_hidden("#desk")
        assert page.evaluate("sessionStorage.length") == 0
        page.evaluate("document.getElementById('signin-error').hidden = true")
    phone.screenshot("regulator-sign-in-refused")


def test_alerts_of_the_seeded_demo_are_listed_and_filtered(phone: BrowserPage, desk: Desk) -> None:
    """The demo's alerts (failed tests, cold chain, recall) are listed as the API lists them."""
    sign_in(phone, desk)
    page = phone.page
    assert REGULATOR in page.inner_text("#who")
    cards = page.locator("#alert-list li.card")
    shown = [
        (cards.nth(k).get_attribute("data-kind"), cards.nth(k).get_attribute("data-batch"))
        for k in range(cards.count())
    ]
    listed = desk.api("/v1/alerts?limit=20")["items"]
    assert shown == [(a["kind"], a["batch"] or "") for a in listed]
    assert {"quality_failed", "cold_chain", "recalled_batch"} <= {kind for kind, _ in shown}
    phone.screenshot("regulator-alerts")

    page.select_option("#alert-kind", "cold_chain")
    page.click("#alert-filters button[type=submit]")
    page.wait_for_function(
        "() => document.querySelectorAll('#alert-list li.card').length === "
        f"{len(desk.api('/v1/alerts?kind=cold_chain')['items'])}"
    )
    kinds = page.eval_on_selector_all("#alert-list li.card", "els => els.map(e => e.dataset.kind)")
    assert kinds
    assert set(kinds) == {"cold_chain"}


def test_a_batch_verifies_green_and_its_lineage_runs_from_planting_to_units(
    phone: BrowserPage, desk: Desk
) -> None:
    """A recalled batch opened from its alert verifies green; its picture shows the whole chain
    from planting to packed units, the recalled ones red."""
    sign_in(phone, desk)
    page = phone.page
    page.click(f"#alert-list li[data-kind='recalled_batch'][data-batch='{RECALLED}'] button")
    page.wait_for_selector(f"#batch-badge[data-done='1'][data-batch='{RECALLED}']")
    assert page.get_attribute("#batch-badge .herbtrace-badge", "data-state") == "green"
    bundle = desk.server.get_json(f"/v1/batches/{RECALLED}/proofs?scope=trace")
    assert page.get_attribute("#batch-badge", "data-entries") == str(len(bundle["entries"]))

    lineage = desk.api(f"/v1/batches/{RECALLED}/lineage")
    drawn = page.eval_on_selector_all(
        "#lineage-svg svg g.batch",
        "els => els.map(g => [g.dataset.batch, g.dataset.kind, g.dataset.status,"
        " g.querySelector('rect').getAttribute('stroke')])",
    )
    assert {d[0] for d in drawn} == {n["id"] for n in lineage["nodes"]}
    assert {d[1] for d in drawn} == {"planting", "harvest", "processed", "split", "packed"}
    recalled = {d[0] for d in drawn if d[2] == "recalled"}
    assert recalled == {RECALLED, *lineage["downstream"]}
    assert all(d[3] == RED_STROKE for d in drawn if d[2] == "recalled")
    assert all(d[3] != RED_STROKE for d in drawn if d[2] != "recalled")
    units = page.locator("#lineage-svg svg g.units")
    assert units.get_attribute("data-batch") == f"{RECALLED}-P"
    assert units.get_attribute("data-recalled") == units.get_attribute("data-count") != "0"
    labels = page.eval_on_selector_all(
        "#lineage-svg svg g.edge", "els => els.map(g => g.textContent)"
    )
    assert {"采收", "分批", "包装"} <= set(labels)
    element_shot(phone, "#lineage", "regulator-lineage")
    element_shot(phone, "#batch-badge", "regulator-batch-verified")


def test_a_tampered_inclusion_proof_turns_the_badge_red(phone: BrowserPage, desk: Desk) -> None:
    """One flipped bit in one proof hash from the server fails exactly that entry's proof."""
    bundle = desk.server.get_json(f"/v1/batches/{RECALLED}/proofs?scope=trace")
    victim = next(e for e in bundle["entries"] if e["proof"])

    def tamper(route: Route) -> None:
        body = route.fetch().json()
        for entry in body["entries"]:
            if entry["index"] == victim["index"]:
                entry["proof"][0] = flip_first_byte(entry["proof"][0])
        route.fulfill(json=body)

    sign_in(phone, desk)
    phone.page.route("**/v1/batches/*/proofs*", tamper)
    assert open_batch(phone, RECALLED) == "red"
    assert failed_checks(phone, "#batch-badge") == [("inclusion-proof", str(victim["index"]))]
    phone.screenshot("regulator-tampered-proof")
    phone.page.unroute("**/v1/batches/*/proofs*")
    assert open_batch(phone, RECALLED) == "green"  # the same page, honest proofs again


def test_checkpoint_consistency_is_green_for_real_checkpoints_and_red_when_tampered(
    phone: BrowserPage, desk: Desk
) -> None:
    """Two real checkpoints verify as consistent; a flipped proof hash turns the check red."""
    checkpoints = desk.server.get_json("/v1/log/checkpoints")["items"]
    assert len(checkpoints) >= 2
    sizes = [str(c["tree_size"]) for c in checkpoints]
    sign_in(phone, desk)
    page = phone.page
    page.wait_for_selector(f"#consistency-form[data-checkpoints='{len(sizes)}']")
    assert page.input_value("#cp-newer") == sizes[0]
    assert page.input_value("#cp-older") == sizes[-1]

    def check() -> str:
        page.click("#consistency-form button[type=submit]")
        page.wait_for_selector("#consistency-badge[data-done='1']")
        state = page.get_attribute("#consistency-badge .herbtrace-badge", "data-state")
        page.evaluate("document.getElementById('consistency-badge').dataset.done = '0'")
        return str(state)

    assert check() == "green"
    assert failed_checks(phone, "#consistency-badge") == []
    element_shot(phone, "#consistency", "regulator-consistency")

    def tamper(route: Route) -> None:
        body = route.fetch().json()
        body["proof"][-1] = flip_first_byte(body["proof"][-1])
        route.fulfill(json=body)

    page.route("**/v1/log/proof/consistency*", tamper)
    assert check() == "red"
    assert failed_checks(phone, "#consistency-badge") == [("consistency-proof", "")]
    element_shot(phone, "#consistency", "regulator-consistency-tampered")


def test_recall_shows_the_downstream_units_before_and_after(phone: BrowserPage, desk: Desk) -> None:
    """Bad batches are refused with a reason; a recall previews its reach, then shows it
    recorded: every downstream unit recalled, an alert for the sold ones, signed by the office."""
    sign_in(phone, desk)
    page = phone.page
    error = "#recall-error"
    for batch, said in [("NO-SUCH-BATCH", "NO-SUCH-BATCH"), (RECALLED, "已召回")]:
        page.fill("#recall-batch", batch)
        page.click("#recall-preview")
        page.wait_for_selector(f"{error}:not([hidden])")
        assert said in page.inner_text(error)
        assert page.is_disabled("#recall-submit")
        page.evaluate(f"document.querySelector('{error}').hidden = true")

    lineage = desk.api(f"/v1/batches/{TO_RECALL}/lineage")
    reached = {TO_RECALL, *lineage["downstream"]}
    units = sum(u["total"] for u in lineage["units"] if u["batch"] in reached)
    sold = sum(u["by_status"].get("sold", 0) for u in lineage["units"] if u["batch"] in reached)
    assert units > sold > 0
    page.fill("#recall-batch", TO_RECALL)
    page.fill("#recall-reason", "农药残留超标 browser test")
    page.select_option("#recall-level", "II")
    # the refused previews above rendered their own reach here: wait for this one's
    page.evaluate(
        "document.querySelector('#impact-before .impact-body').removeAttribute('data-units')"
    )
    page.click("#recall-preview")
    before = page.wait_for_selector("#impact-before:not([hidden]) .impact-body[data-units]")
    assert before is not None
    assert before.get_attribute("data-batches") == str(len(reached))
    assert before.get_attribute("data-units") == str(units)
    assert before.get_attribute("data-recalled") == "0"
    element_shot(phone, "#recall", "regulator-recall-before")

    page.click("#recall-submit")
    after = page.wait_for_selector("#impact-after:not([hidden]) .impact-body[data-units]")
    assert after is not None
    assert after.get_attribute("data-recalled") == after.get_attribute("data-units") == str(units)
    statuses = page.eval_on_selector_all(
        "#impact-after table.impact-batches tr[data-batch]",
        "rows => rows.map(r => [r.dataset.batch, r.dataset.status])",
    )
    assert dict(statuses) == dict.fromkeys(reached, "recalled")
    index = int(str(page.get_attribute("#impact-after", "data-index")))
    assert f"#{index}" in page.inner_text("#impact-after .recorded")
    element_shot(phone, "#recall", "regulator-recall-after")

    [recall] = [r for r in desk.api("/v1/recalls")["items"] if r["index"] == index]
    assert recall["batch"] == TO_RECALL
    assert recall["level"] == "II"
    assert recall["reason"].startswith("农药残留超标 browser test [regulator #")
    page.wait_for_selector(f"#alert-list li[data-kind='recalled_batch'][data-batch='{TO_RECALL}']")
    for unit in desk.api(f"/v1/batches/{TO_RECALL}/lineage")["units"]:
        assert unit["recalled"] == unit["total"]


def test_audit_bundle_downloads_and_verifies_offline(
    phone: BrowserPage, desk: Desk, tmp_path: Path
) -> None:
    """The page's download is the whole log, and `herbtrace verify --bundle` accepts it."""
    sign_in(phone, desk)
    with phone.page.expect_download() as info:
        phone.page.click("#bundle-download")
    download = info.value
    assert re.fullmatch(r"herbtrace-\d+\.jsonl\.gz", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    phone.page.wait_for_function(
        "() => document.getElementById('bundle-status').textContent.includes('bytes')"
    )
    verified = run_herbtrace(
        ["verify", "--bundle", str(path), "--log-key", desk.server.log_key], tmp_path
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
