"""The shopper's journey in real Chromium, at a phone's size (412 × 915) and a desktop's, in
Chinese and English: a genuine unit, a recalled one, one that failed a test and passed its
retest, one whose code was copied, and a code nothing is recorded under; and the home page,
where a shopper types the code printed on the box. Each page is screenshotted into
test-artifacts/browser/ and must not scroll sideways on the phone."""

from __future__ import annotations

from collections.abc import Iterator
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
from consumer_support import RECALL_EVENTS, RECALLED, RED_GINSENG_GTIN, SOLD
from playwright.sync_api import Browser

PHONE = {"width": 412, "height": 915}
DESKTOP = {"width": 1280, "height": 900}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
GENUINE = f"/01/{RED_GINSENG_GTIN}/10/HS260000001/21/RS00000010001"
"""A 红参 unit of story 1: tests passed, not recalled, sold at the 长春 pharmacy."""
UNKNOWN = f"/01/{RED_GINSENG_GTIN}/10/HS260000001/21/FAKE0000001"
CHANGCHUN = {"latitude": 43.8868, "longitude": 125.3245}
GUANGZHOU = {"latitude": 23.1291, "longitude": 113.2644}

TITLES = {
    ("ok", "zh-CN"): "未发现问题，可以使用",
    ("ok", "en"): "No problems found: fine to use",
    ("recalled", "zh-CN"): "已召回：请停止使用",
    ("recalled", "en"): "Recalled: stop using it",
    ("copied", "zh-CN"): "此码可能被复制：请先核实再使用",
    ("copied", "en"): "This code looks copied: check before using it",
}


@pytest.fixture(name="server", scope="module")
def _server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`herbtrace seed` through story 2's recall, then `herbtrace serve`, as real processes."""
    home = tmp_path_factory.mktemp("shopper-server")
    database = f"sqlite:///{home / 'herbtrace.db'}"
    environ = server_environ(database, "shopper.test.herbtrace/log", **FAST_PUBLIC)
    herbtrace_ok(["seed", "--events", str(RECALL_EVENTS)], home, environ)
    with serving(home, environ) as live:
        yield live


class Pages:
    """Opens pages in fresh contexts and closes them at the end of the test."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.opened: list[BrowserPage] = []

    def open(
        self, size: str, lang: str, geolocation: dict[str, float] | None = None
    ) -> BrowserPage:
        """A page in a new context of `size` whose browser prefers `lang`."""
        options: dict[str, Any] = {"locale": lang, "viewport": SIZES[size]}
        if geolocation:
            options |= {"geolocation": geolocation, "permissions": ["geolocation"]}
        # a 404 or 400 page is expected on some journeys: the browser logs it as an error
        wrapped = new_page(self.browser, console_errors=False, **options)
        self.opened.append(wrapped)
        return wrapped


@pytest.fixture(name="pages")
def _pages(browser: Browser) -> Iterator[Pages]:
    """Fresh browser contexts for one test, closed afterwards."""
    pages = Pages(browser)
    yield pages
    for wrapped in pages.opened:
        wrapped.page.context.close()


def with_lang(path: str, lang: str) -> str:
    """`path` asking for the page in `lang`."""
    return path + ("?lang=en" if lang == "en" else "")


def visit(bp: BrowserPage, server: LiveServer, path: str, *, script: bool = True) -> int:
    """Open `path`, wait for its script (if it has one) to finish, check the page does not
    scroll sideways, and return the HTTP status."""
    response = bp.page.goto(server.url(path))
    assert response is not None
    if script:
        bp.page.wait_for_selector("body[data-done='1']", timeout=30_000)
    width = bp.page.viewport_size["width"] if bp.page.viewport_size else 0
    scroll = bp.page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, f"{path} is {scroll} px wide in a {width} px window"
    return response.status


def assert_verdicts_in_order(bp: BrowserPage) -> None:
    """The product verdict comes first and its title is larger than the records verdict,
    which is plain text, never a coloured banner."""
    product = bp.page.locator("#product-verdict")
    records = bp.page.locator("#verdict")
    first, second = product.bounding_box(), records.bounding_box()
    assert first is not None
    assert second is not None
    assert first["y"] < second["y"]
    size = "e => parseFloat(getComputedStyle(e).fontSize)"
    assert bp.page.locator("#product-verdict-title").evaluate(size) > records.evaluate(size)
    assert records.evaluate("e => getComputedStyle(e).backgroundColor") == "rgba(0, 0, 0, 0)"
    assert bp.page.get_attribute("#verdict", "data-state") == "green"


LANGS = ["zh-CN", "en"]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_a_genuine_unit_is_fine_to_use(
    pages: Pages, server: LiveServer, size: str, lang: str
) -> None:
    """A genuine unit says fine to use first, and below it that its records verify."""
    bp = pages.open(size, lang)
    assert visit(bp, server, with_lang(GENUINE, lang)) == 200
    assert bp.page.get_attribute("#product-verdict", "data-verdict") == "ok"
    assert bp.page.inner_text("#product-verdict-title") == TITLES["ok", lang]
    assert_verdicts_in_order(bp)
    assert bp.errors == []
    bp.screenshot(f"shopper-genuine-{lang}-{size}")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_a_recalled_unit_says_stop_using_it(
    pages: Pages, server: LiveServer, size: str, lang: str
) -> None:
    """A recalled unit says recalled, stop using it, with the class of recall in the
    language's own words, before the records check."""
    bp = pages.open(size, lang)
    assert visit(bp, server, with_lang(RECALLED, lang)) == 200
    assert bp.page.get_attribute("#product-verdict", "data-verdict") == "recalled"
    assert bp.page.inner_text("#product-verdict-title") == TITLES["recalled", lang]
    level = {"zh-CN": "三级召回", "en": "Class III recall"}[lang]
    assert level in bp.page.inner_text("#product-verdict")
    assert_verdicts_in_order(bp)
    assert bp.errors == []
    bp.screenshot(f"shopper-recalled-{lang}-{size}")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_a_failed_test_and_its_passing_retest_are_explained(
    pages: Pages, server: LiveServer, size: str, lang: str
) -> None:
    """The unit whose batch failed its first test on moisture and passed a retest four days
    later is fine to use, and the page says what happened."""
    bp = pages.open(size, lang)
    assert visit(bp, server, with_lang(SOLD, lang)) == 200
    assert bp.page.get_attribute("#product-verdict", "data-verdict") == "ok"
    assert bp.page.locator("#verdict-retest").is_visible()
    note = bp.page.inner_text(".retest-note")
    assert "2026-09-22" in note
    assert "2026-09-26" in note
    assert {"zh-CN": "水分 13.4 %", "en": "moisture 13.4 %"}[lang] in note
    assert_verdicts_in_order(bp)
    assert bp.errors == []
    bp.screenshot(f"shopper-retested-{lang}-{size}")


@pytest.mark.parametrize(("size", "lang", "unit"), [
    ("phone", "zh-CN", 60), ("desktop", "zh-CN", 61), ("phone", "en", 62), ("desktop", "en", 63),
])  # fmt: skip
def test_a_copied_code_says_check_before_using_it(
    pages: Pages, server: LiveServer, size: str, lang: str, unit: int
) -> None:
    """A code scanned in 长春 and then in 广州 says it looks copied, first on the page, and
    the warning says why; the records still verify, below it."""
    path = f"/01/{RED_GINSENG_GTIN}/10/HS260000001/21/RS000000100{unit}"
    first = pages.open(size, lang, geolocation=CHANGCHUN)
    visit(first, server, with_lang(path, lang))
    assert first.page.get_attribute("#product-verdict", "data-verdict") == "ok"
    bp = pages.open(size, lang, geolocation=GUANGZHOU)
    assert visit(bp, server, with_lang(path, lang)) == 200
    assert bp.page.get_attribute("#product-verdict", "data-verdict") == "copied"
    assert bp.page.inner_text("#product-verdict-title") == TITLES["copied", lang]
    assert bp.page.locator("#scan-warning").is_visible()
    assert bp.page.get_attribute("#scan-warning-list li", "data-signal") == "far_apart"
    assert_verdicts_in_order(bp)
    assert first.errors == bp.errors == []
    bp.screenshot(f"shopper-copied-{lang}-{size}")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_an_unknown_code_says_what_to_do_next(
    pages: Pages, server: LiveServer, size: str, lang: str
) -> None:
    """A code nothing is recorded under gets a 404 page in the shopper's language: no record,
    maybe fake, what to do next, and the form to type the code again."""
    bp = pages.open(size, lang)
    assert visit(bp, server, with_lang(UNKNOWN, lang), script=False) == 404
    title = {"zh-CN": "未查到此产品的记录", "en": "No record of this product"}[lang]
    assert bp.page.inner_text("#code-error h1") == title
    assert bp.page.locator("#next-steps li").count() == 4
    assert bp.page.input_value("#serial") == "FAKE0000001"
    assert bp.page.get_attribute("html", "lang") == lang
    assert bp.errors == []
    bp.screenshot(f"shopper-unknown-{lang}-{size}")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_the_home_page_takes_the_code_printed_on_the_box(
    pages: Pages, server: LiveServer, size: str, lang: str
) -> None:
    """On the home page a shopper types the GTIN with a mistake and is told what to fix, then
    types it right with the lot and serial and lands on the product's page."""
    bp = pages.open(size, lang)
    assert visit(bp, server, with_lang("/", lang), script=False) == 200
    bp.screenshot(f"shopper-home-{lang}-{size}")
    gtin, lot, serial = GENUINE.split("/")[2::2]
    bp.page.fill("#gtin", gtin[:-1] + "9")
    bp.page.fill("#lot", lot)
    bp.page.fill("#serial", serial)
    bp.page.click("#code-submit")
    bp.page.wait_for_selector("#form-problem")
    assert bp.page.input_value("#lot") == lot  # kept as typed
    width = SIZES[size]["width"]
    assert bp.page.evaluate("() => document.documentElement.scrollWidth") <= width
    bp.screenshot(f"shopper-home-mistyped-{lang}-{size}")
    bp.page.fill("#gtin", gtin)
    bp.page.click("#code-submit")
    bp.page.wait_for_selector("body[data-done='1']", timeout=30_000)
    assert bp.page.url == server.url(with_lang(GENUINE, lang))
    assert bp.page.get_attribute("#product-verdict", "data-verdict") == "ok"
    assert bp.errors == []


def test_screenshots_are_kept_out_of_git() -> None:
    """The screenshots' directory is git-ignored."""
    ignore = (Path(__file__).resolve().parents[2] / ".gitignore").read_text(encoding="utf-8")
    assert "/test-artifacts/" in ignore.splitlines()
