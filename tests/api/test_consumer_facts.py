"""The consumer page and its facts rendered from the demo's real records: zh-CN and English, the
recall banner, the pinned log key, the message catalogue, and nothing personal."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import pytest
import sqlalchemy as sa
from api_support import services_of
from consumer_support import BATCH_LINK, RECALLED, SOLD, SOLD_BATCH, VELVET, seeded_settings
from fastapi.testclient import TestClient

from api.consumer_page import CONTENT_SECURITY_POLICY, LANGS, messages
from api.main import create_app
from schemas.events import EVENT_TYPES
from schemas.events.common import StepCode
from schemas.events.registry import OrganisationKind
from traceability.catalogue.lookup import load_catalogue
from traceability.demo import parties
from traceability.demo.places import ORGANISATIONS, SITES
from traceability.facts.models import Recall
from traceability.storage import tables
from traceability.storage.db import make_engine

ROOT = Path(__file__).resolve().parents[2]
HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}
PHONE = re.compile(r"(?<![0-9])(1[3-9][0-9]{9}|0[0-9]{2,3}-[0-9]{7,8})(?![0-9])")
"""A mainland mobile number or a landline with its area code."""


@pytest.fixture(name="client", scope="module")
def _client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A client of the app on a database seeded with the demo up to story 2's recall."""
    settings = seeded_settings(tmp_path_factory.mktemp("consumer-page"))
    with TestClient(create_app(settings)) as client:
        yield client


def page(client: TestClient, path: str) -> str:
    """GET the page at `path` (200 expected) and return its text with entities decoded."""
    response = client.get(path, headers=HTML)
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def organisation(org_id: str) -> dict[str, Any]:
    """The demo registration body of an organisation."""
    return next(o for o in ORGANISATIONS if o["id"] == org_id)


def test_the_page_shows_the_herb_its_origin_steps_tests_and_custody(client: TestClient) -> None:
    """A sold 红参 unit's page names 人参 and its Latin name, 抚松, six years, the harvest date,
    steaming, each test item against its cited limit, and every organisation that held it."""
    text = page(client, SOLD)
    assert '<html lang="zh-CN">' in text
    assert '<span class="herb-zh" id="herb-zh">人参</span>' in text
    assert '<i id="herb-latin" lang="la">Panax ginseng C. A. Mey.</i>' in text
    assert "吉林省 白山市 抚松县" in text
    assert 'data-years="6">6 年</dd>' in text
    facts = client.get(SOLD, headers=JSON).json()
    assert f'<dd id="harvested-on">{facts["origin"]["harvested_on"]}</dd>' in text
    assert '<span class="method" data-step="steaming">蒸制</span>' in text
    assert "→ 制成 <strong>红参</strong>" in text
    catalogue = load_catalogue()
    for item in ("moisture", "total_ash"):
        limit = catalogue.limit("renshen", item)
        assert limit is not None
        assert f"限度 ≤ {limit.max} %" in text
        assert limit.source in text
    for org_id in (parties.FUSONG_COOP, parties.JIAN_PROCESSOR, parties.PHARMACY):
        assert f'<span class="org">{organisation(org_id)["name"]}</span>' in text
    assert '<div class="verdict" id="verdict" data-state="pending"' in text  # the browser decides


def test_each_test_item_is_judged_against_the_catalogue(client: TestClient) -> None:
    """Every item's status and limit are the catalogue's verdict on the recorded value."""
    facts = client.get(SOLD, headers=JSON).json()
    catalogue = load_catalogue()
    statuses = []
    for test in facts["tests"]:
        for item in test["items"]:
            verdict = catalogue.check_item(
                "renshen", item["item"], Decimal(item["value"]), item["unit"]
            )
            assert item["status"] == verdict.status
            assert verdict.limit is not None
            assert item["limit"]["source"] == verdict.limit.source
            statuses.append(item["status"])
    assert "fail" in statuses  # story 0's first test fails on moisture …
    assert [t["result"] for t in facts["tests"]] == ["fail", "pass"]  # … and its retest passes
    text = page(client, SOLD)
    assert 'data-item="moisture" data-status="fail"' in text


def test_the_custody_chain_lists_the_holders_in_order(client: TestClient) -> None:
    """Custody runs grower → processor → pharmacy, each from the day it took the material."""
    custody = client.get(SOLD, headers=JSON).json()["custody"]
    assert [c["organisation"] for c in custody] == [
        organisation(o)["name"]
        for o in (parties.FUSONG_COOP, parties.JIAN_PROCESSOR, parties.PHARMACY)
    ]
    assert [c["kind"] for c in custody] == ["cooperative", "processor", "retailer"]
    assert [c["since"] for c in custody] == sorted(c["since"] for c in custody)


def test_a_unit_page_leaves_out_other_units_sales_and_alerts(client: TestClient) -> None:
    """A unit's history has its own sale only; the batch's has every sale; neither has alerts."""
    unit = client.get(SOLD, headers=JSON).json()["steps"]
    batch = client.get(BATCH_LINK, headers=JSON).json()["steps"]
    assert [s["type"] for s in unit].count("retail_sale") == 1
    assert [s["type"] for s in batch].count("retail_sale") == 3
    assert "alert" not in {s["type"] for s in unit + batch}


def test_the_english_switch(client: TestClient) -> None:
    """?lang=en gives English labels, names and steps; each page links to the other language."""
    zh, en = page(client, SOLD), page(client, SOLD + "?lang=en")
    assert f'id="lang-switch" href="{SOLD}?lang=en">English</a>' in zh
    assert f'id="lang-switch" href="{SOLD}">中文</a>' in en
    assert '<html lang="en">' in en
    for label in ("Origin", "Quality tests", "Chain of custody", "Years grown", "Latin name"):
        assert f">{label}<" in en
        assert f">{label}<" not in zh
    assert '<span class="method" data-step="steaming">steaming</span>' in en
    assert organisation(parties.JIAN_PROCESSOR)["name_en"] in en
    assert 'data-years="6">6 years</dd>' in en
    assert "Panax ginseng C. A. Mey." in en


def visible_words(text: str) -> set[str]:
    """The Latin-letter words a reader sees on a page: no script data, head or footer links."""
    text = re.sub(
        r"<script.*?</script>|<head>.*?</head>|<footer>.*?</footer>", "", text, flags=re.S
    )
    return set(re.findall(r"[A-Za-z][A-Za-z0-9]*", re.sub(r"<[^>]+>", " ", text)))


@pytest.mark.parametrize("path", [SOLD, RECALLED, BATCH_LINK, VELVET])
def test_the_chinese_page_has_no_english_text(client: TestClient, path: str) -> None:
    """Besides the Latin name, units, the herb's pinyin and report numbers, the Chinese page
    shows no Latin-letter words: no English developer text."""
    allowed = {"English", "GAP", "IP", "JLZY", "Panax", "ginseng", "Mey", "Cervus", "nippon"}
    allowed |= {
        "Temminck",
        "Rb1",
        "Rg1",
        "Re",
        "A",
        "C",
        "E",
        "N",
        "d",
        "g",
        "h",
        "s",
        "mm",
        "kg",
        "mg",
        "L",
    }
    allowed |= {"r", "nsh", "n", "l", "r\u00f3ng", "ng", "SLJC", "lur\u00f3ng"}
    words = visible_words(page(client, path))
    assert words - allowed == set(), words - allowed


def test_gap_is_worded_as_the_2022_rules_have_it(client: TestClient) -> None:
    """GAP certification was abolished in 2016: the page says the base is registered as
    meeting the GAP rules, never that it is certified."""
    zh, en = page(client, SOLD), page(client, SOLD + "?lang=en")
    assert "<dd>基地登记为符合中药材GAP要求</dd>" in zh
    assert "认证" not in zh
    assert "certified" not in " ".join(visible_words(en)).lower()


def test_the_english_page_names_places_products_and_steps_in_english_or_pinyin(
    client: TestClient,
) -> None:
    """The English page writes the region in English, gives the base, product and output
    forms their pinyin reading, names parameter steps in English, and cites the pharmacopoeia
    in English."""
    en = page(client, SOLD + "?lang=en")
    assert '<dd id="origin-region">Fusong County, Baishan City, Jilin Province</dd>' in en
    assert '万良镇人参种植基地 <span class="reading" lang="zh-Latn-pinyin">(Wàn liáng zhèn' in en
    assert "Cháng bái shān liù nián shēng hóng shēn 250 g" in en
    assert '<strong>红参</strong> <span class="reading" lang="zh-Latn-pinyin">(Hóng shēn)' in en
    assert "<li>steaming: 98 °C, 2.5 h</li>" in en
    assert "Chinese Pharmacopoeia 2020, vol. I: 红参" in en
    velvet = page(client, VELVET + "?lang=en")
    assert "Shuangyang District, Changchun City, Jilin Province" in velvet
    assert "阴干 40 d (Yīn gān 40 d)" in velvet


@pytest.mark.parametrize("lang", ["fr", "zh", "", "x" * 300])
def test_an_unsupported_language_falls_back_to_chinese(client: TestClient, lang: str) -> None:
    """?lang= other than English gets the Chinese page, not an error, and JSON is unchanged."""
    assert page(client, f"{SOLD}?lang={lang}") == page(client, SOLD)
    assert client.get(f"{SOLD}?lang={lang}", headers=JSON).content == (
        client.get(SOLD, headers=JSON).content
    )


def test_english_in_any_region_gets_the_english_page(client: TestClient) -> None:
    """?lang=en-GB or EN gives the English page."""
    assert '<html lang="en">' in page(client, f"{SOLD}?lang=en-GB")
    assert '<html lang="en">' in page(client, f"{SOLD}?lang=EN")


def test_a_recalled_unit_says_so_first(client: TestClient) -> None:
    """The recalled unit's page opens with the product verdict: recalled, stop using it, the
    recall's level as Chinese says it (三级召回) and the regulator's reason."""
    facts = client.get(RECALLED, headers=JSON).json()
    assert facts["status"] == "recalled"
    assert facts["recall"]["level"] == "III"
    for path, title, level in (
        (RECALLED, "已召回：请停止使用", "三级召回"),
        (RECALLED + "?lang=en", "Recalled: stop using it", "Class III recall"),
    ):
        text = page(client, path)
        verdict = text[text.index('id="product-verdict"') : text.index("</section>")]
        assert 'data-verdict="recalled"' in verdict
        assert title in verdict
        assert level in verdict
        assert "III级" not in text
        assert facts["recall"]["reason"] in verdict
        assert text.index('id="product-verdict"') < text.index('id="verify"')
    assert 'data-verdict="recalled"' not in page(client, SOLD)


def test_a_failed_test_with_a_passing_retest_is_explained(client: TestClient) -> None:
    """Story 0's 红参 failed its first test on moisture and passed a retest four days later:
    the verdict is not "failed", and the page says what happened, in both languages."""
    zh = page(client, SOLD)
    assert 'data-verdict="pending"' in zh  # a unit: the browser checks its scans next
    assert "首次质量检测不合格，复检合格" in zh
    note = zh[zh.index('class="retest-note"') :]
    note = note[: note.index("</p>")]
    assert 'data-failed="JLZY-2026-00000-1" data-passed="JLZY-2026-00000-2"' in note
    assert "2026-09-22 的检测（报告 JLZY-2026-00000-1）不合格：水分 13.4 %（限度 ≤ 12.0 %）" in note
    assert "复检合格之前不得包装、发货或销售" in note
    assert "2026-09-26" in note
    en = page(client, SOLD + "?lang=en")
    assert "failed: moisture 13.4 % (limit ≤ 12.0 %)" in en
    assert "passed on retest" in en


def test_a_batch_without_problems_is_fine_to_use(client: TestClient) -> None:
    """A batch link whose latest test passed and that is not recalled says fine to use."""
    text = page(client, BATCH_LINK)
    assert 'data-verdict="ok"' in text
    assert "未发现问题，可以使用" in text


def test_the_page_pins_the_log_key_and_runs_no_inline_script(client: TestClient) -> None:
    """The page pins the log's verifier key, loads only its own scripts, and says so in CSP."""
    response = client.get(SOLD, headers=HTML)
    key = client.get("/v1/log/key").text.strip()
    assert f'<meta name="herbtrace-log-key" content="{key}">' in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["vary"] == "Accept"
    scripts = re.findall(r"<script([^>]*)>", response.text)
    assert scripts == [
        ' type="module" src="/static/consumer/consumer.js"',
        ' type="application/json" id="herbtrace-facts"',
        ' type="application/json" id="herbtrace-messages"',
    ]
    data = re.search(r'id="herbtrace-facts">(.*?)</script>', response.text)
    assert data is not None
    facts = json.loads(data.group(1))
    assert facts["batch"] == SOLD_BATCH
    steps = client.get(SOLD, headers=JSON).json()["steps"]
    assert facts["entries"] == [{"index": s["log_index"], "type": s["type"]} for s in steps]


def test_the_batch_page_has_no_scan_counter(client: TestClient) -> None:
    """A batch link's page shows the lot's facts but records and shows no scans."""
    text = page(client, BATCH_LINK)
    assert 'id="scans"' not in text
    assert '"serial": null' in text


@pytest.mark.parametrize("path", [SOLD, RECALLED, BATCH_LINK])
def test_no_signer_names_phone_numbers_or_exact_places(client: TestClient, path: str) -> None:
    """Neither the page nor the JSON carries a signer's name, a phone number or a site's
    exact coordinates."""
    engine = make_engine(str(services_of(client).settings.database_url))
    with engine.connect() as conn:
        names = [str(n) for (n,) in conn.execute(sa.select(tables.signers.c.name))]
    engine.dispose()
    assert len(names) >= len(parties.SIGNERS)
    exact = [s["location"][k] for s in SITES if "location" in s for k in ("lat", "lon")]
    for text in (page(client, path), client.get(path, headers=JSON).text):
        for secret in (*names, *exact):
            assert secret not in text
        assert PHONE.search(text) is None


def test_the_message_catalogue_is_complete() -> None:
    """Both languages have the same keys, covering every key the page, the script, each event
    type, processing step and organisation kind use."""
    catalogue = messages()
    assert set(catalogue) == set(LANGS)
    assert set(catalogue["zh-CN"]) == set(catalogue["en"])
    keys = set(catalogue["en"])
    templates = "".join(
        path.read_text(encoding="utf-8") for path in (ROOT / "api" / "templates").glob("*.html")
    )
    script = (ROOT / "api" / "static" / "consumer" / "consumer.js").read_text(encoding="utf-8")
    used = set(re.findall(r"\bt\('([a-z_.]+)'", templates))
    used |= set(re.findall(r'\bt\("([a-z_.]+)"', script))
    prefixed = {k for k in used if k.endswith(".")}  # completed by a code, checked below
    assert prefixed == {
        "error.",
        "gap.",
        "home.check.",
        "kind.",
        "next.",
        "recall_level.",
        "result.",
        "status.",
        "step.",
        "type.",
        "verdict.",
    }
    assert len(used - prefixed) > 40
    assert used - prefixed <= keys, used - prefixed - keys
    steps_of_a_product = set(EVENT_TYPES) - {"organisation", "site"}
    prefixes = {
        "type.": steps_of_a_product,
        "step.": set(get_args(StepCode)),
        "kind.": set(get_args(OrganisationKind)),
    }
    for prefix, codes in prefixes.items():
        assert {prefix + c for c in codes} <= keys
    assert {"gap.certified", "gap.in_progress", "gap.none", "result.pass", "result.fail"} <= keys
    assert {"status.pass", "status.fail", "status.no_limit"} <= keys
    assert {"warn.many_scanners", "warn.far_apart"} <= keys
    assert {
        f"recall_level.{level}" for level in get_args(Recall.model_fields["level"].annotation)
    } <= keys
    verdicts = ("recalled", "failed", "pending", "ok", "copied", "unverified")
    assert {f"verdict.{v}.{part}" for v in verdicts for part in ("title", "advice")} <= keys
    assert {"verdict.ok.advice_unit", "verdict.pending.advice_unit"} <= keys
    checks = ("log-key", "checkpoint-signature", "tree-size", "coverage", "bundle-format")
    checks += ("leaf-hash", "inclusion-proof", "envelope-signature", "facts")
    assert {f"check.{c}" for c in checks} | {f"check.{c}.ok" for c in checks} <= keys
    for kind in ("unknown", "invalid", "busy", "failed"):
        assert {f"error.{kind}.title", f"error.{kind}.body"} <= keys
