"""The handheld page's offline pieces over HTTP: its service worker and its web app manifest."""

from __future__ import annotations

import json
import re
from pathlib import Path

from api_support import Callers
from fastapi.testclient import TestClient

HANDHELD = Path(__file__).parents[2] / "api" / "static" / "handheld"


def test_the_service_worker_may_control_the_page_and_fetch_only_from_this_origin(
    sqlite_api: tuple[TestClient, Callers],
) -> None:
    """/handheld/sw.js is JavaScript allowed to control /handheld, revalidated on every
    update check, under a policy that lets it load nothing and fetch from this origin only."""
    client, _ = sqlite_api
    answer = client.get("/handheld/sw.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["service-worker-allowed"] == "/handheld"
    assert answer.headers["cache-control"] == "no-cache"
    assert (
        answer.headers["content-security-policy"]
        == "default-src 'none'; connect-src 'self'; frame-ancestors 'none'"
    )


def test_the_service_worker_keeps_every_file_the_page_loads(
    sqlite_api: tuple[TestClient, Callers],
) -> None:
    """SHELL names the page, every file of static/handheld, the verifier modules the page
    imports, the event schema and the catalogue's names; each answers 200 on its own."""
    client, _ = sqlite_api
    script = client.get("/handheld/sw.js").text
    shell = json.loads(re.search(r"^const SHELL = (\[.*\]);$", script, re.MULTILINE)[1])  # type: ignore[index]
    files = {
        f"/static/handheld/{p.relative_to(HANDHELD).as_posix()}"
        for p in HANDHELD.rglob("*")
        if p.is_file()
    }
    assert files <= set(shell)
    assert {"/handheld", "/handheld/event-body.schema.json", "/handheld/catalogue.json"} <= set(
        shell
    )
    imported = set()
    for path in HANDHELD.glob("*.js"):  # the vendored decoder imports only relatively
        imported |= set(re.findall(r'from "(/static/[^"]+)"', path.read_text(encoding="utf-8")))
    assert imported <= set(shell)
    for path in shell:
        assert client.get(path).status_code == 200, path
    assert re.search(r'^const VERSION = "[0-9a-f]{16}";$', script, re.MULTILINE)


def test_the_manifest_makes_the_page_installable_with_its_own_scope(
    sqlite_api: tuple[TestClient, Callers],
) -> None:
    """The page links a manifest that starts at /handheld, within its scope, standalone,
    in Chinese, with an icon this origin serves."""
    client, _ = sqlite_api
    page = client.get("/handheld").text
    assert '<link rel="manifest" href="/static/handheld/manifest.webmanifest">' in page
    answer = client.get("/static/handheld/manifest.webmanifest")
    assert answer.status_code == 200
    manifest = answer.json()
    assert manifest["start_url"] == manifest["scope"] == "/handheld"
    assert manifest["display"] == "standalone"
    assert manifest["lang"] == "zh-CN"
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200


def test_the_page_may_compile_webassembly_and_nothing_else_more_than_other_pages(
    sqlite_api: tuple[TestClient, Callers],
) -> None:
    """/handheld's policy is every page's policy plus 'wasm-unsafe-eval' in script-src,
    for the vendored barcode decoder: no 'unsafe-eval', no 'unsafe-inline', no other origin."""
    client, _ = sqlite_api
    page_policy = client.get("/regulator").headers["content-security-policy"]
    handheld_policy = client.get("/handheld").headers["content-security-policy"]
    assert handheld_policy == page_policy.replace(
        "script-src 'self';", "script-src 'self' 'wasm-unsafe-eval';"
    )
    assert "'unsafe-eval'" not in handheld_policy
    assert "'unsafe-inline'" not in handheld_policy
