"""Accessibility checks of pages in Chromium with axe-core (vendored in tests/browser/vendor).

`serious_violations(page)` runs axe-core's WCAG 2.1 A and AA rules on the page as it stands
and returns the violations whose impact is serious or critical, each as "rule: what, where".
The engine is evaluated through the DevTools protocol, so pages keep their
Content-Security-Policy (no inline script is added to them).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
"""axe-core 4.14.1's axe.min.js, as the npm registry's package holds it."""

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


@cache
def axe_source() -> str:
    """The vendored engine's source, after checking it is the file we vendored."""
    data = AXE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert digest == AXE_SHA256, f"{AXE} has SHA-256 {digest}, not the vendored {AXE_SHA256}"
    return data.decode("utf-8")


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on `page`, one line per failing element."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
    result = page.evaluate("options => axe.run(document, options)", options)
    found = []
    for violation in result["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        for node in violation["nodes"]:
            found.append(f"{violation['id']}: {violation['help']} at {node['target']}")
    return found
