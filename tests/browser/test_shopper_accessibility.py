"""The shopper's pages pass axe-core's WCAG 2.1 A and AA rules with no serious or critical
violation, in both languages, at phone size: the home page, a genuine unit, a recalled one,
a copied code, a batch, and a code nothing is recorded under."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from accessibility import serious_violations
from browser_harness import FAST_PUBLIC, LiveServer, herbtrace_ok, new_page, server_environ, serving
from consumer_support import BATCH_LINK, RECALL_EVENTS, RECALLED, RED_GINSENG_GTIN, SOLD
from playwright.sync_api import Browser

PHONE = {"width": 412, "height": 915}
UNKNOWN = f"/01/{RED_GINSENG_GTIN}/10/HS260000001/21/FAKE0000001"
CHANGCHUN = {"latitude": 43.8868, "longitude": 125.3245}
GUANGZHOU = {"latitude": 23.1291, "longitude": 113.2644}
COPIED = f"/01/{RED_GINSENG_GTIN}/10/HS260000001/21/RS00000010070"


@pytest.fixture(name="server", scope="module")
def _server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`herbtrace seed` through story 2's recall, then `herbtrace serve`, as real processes."""
    home = tmp_path_factory.mktemp("a11y-server")
    database = f"sqlite:///{home / 'herbtrace.db'}"
    environ = server_environ(database, "a11y.test.herbtrace/log", **FAST_PUBLIC)
    herbtrace_ok(["seed", "--events", str(RECALL_EVENTS)], home, environ)
    with serving(home, environ) as live:
        yield live


def test_the_checker_finds_a_serious_violation(browser: Browser) -> None:
    """The check is live: an image without a text alternative and an unlabelled field are
    reported."""
    bp = new_page(browser, viewport=PHONE)
    try:
        bp.page.set_content(
            '<html lang="en"><body><main><img src="data:,"><input id="x"></main></body></html>'
        )
        found = serious_violations(bp.page)
        assert any(v.startswith("image-alt:") for v in found), found
        assert any(v.startswith("label:") for v in found), found
    finally:
        bp.page.context.close()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize(
    ("path", "script"),
    [("/", False), (SOLD, True), (RECALLED, True), (BATCH_LINK, True), (UNKNOWN, False)],
)
def test_the_shopper_pages_have_no_serious_accessibility_violation(
    browser: Browser, server: LiveServer, path: str, script: bool, lang: str
) -> None:
    """Each page, once its script has verified the records and recorded the scan, has no
    serious or critical axe-core violation (the details of every check unfolded)."""
    bp = new_page(browser, console_errors=False, locale=lang, viewport=PHONE)
    try:
        bp.page.goto(server.url(path + ("?lang=en" if lang == "en" else "")))
        if script:
            bp.page.wait_for_selector("body[data-done='1']", timeout=30_000)
        bp.page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        assert serious_violations(bp.page) == []
        assert bp.errors == []
    finally:
        bp.page.context.close()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_copied_code_has_no_serious_accessibility_violation(
    browser: Browser, server: LiveServer, lang: str
) -> None:
    """The page warning of a copied code (amber verdict, warning list) passes too."""
    path = COPIED + ("?lang=en" if lang == "en" else "")
    for place in (CHANGCHUN, GUANGZHOU):
        options = {"geolocation": place, "permissions": ["geolocation"]}
        bp = new_page(browser, locale=lang, viewport=PHONE, **options)
        try:
            bp.page.goto(server.url(path))
            bp.page.wait_for_selector("body[data-done='1']", timeout=30_000)
            if place is GUANGZHOU:
                assert bp.page.get_attribute("#product-verdict", "data-verdict") == "copied"
                assert serious_violations(bp.page) == []
        finally:
            bp.page.context.close()
