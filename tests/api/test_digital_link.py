"""The Digital Link resolver: content negotiation, the consumer view, and bad links as 4xx JSON."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import api_settings
from fastapi.testclient import TestClient

from api.main import create_app
from api.routes.digital_link import wants_json
from traceability.digital_link import DigitalLink
from traceability.errors import NotFound
from traceability.facts.models import (
    Location,
    OriginRecord,
    ProductFacts,
    Recall,
    Region,
    StepRecord,
)
from traceability.facts.public import INDIVIDUAL_GROWER, consumer_view
from traceability.ledger import initialise

HOST = "id.example.cn"
GTIN, LOT, SERIAL = "06901234567892", "FS2026A", "0001"
UNIT = f"/01/{GTIN}/10/{LOT}/21/{SERIAL}"
BATCH = f"/01/{GTIN}/10/{LOT}"
JSON = "application/json"
CHROME_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
)
PERSON, PHONE = "张三丰", "13800138000"


def recorded(link: DigitalLink) -> ProductFacts:
    """The facts of the one recorded unit and its batch, with personal details in them."""
    if (link.gtin, link.lot) != (GTIN, LOT) or link.serial not in (None, SERIAL):
        raise NotFound(f"nothing is recorded under {link.gtin} {link.lot} {link.serial}")
    return ProductFacts(
        gtin=link.gtin,
        lot=link.lot or "",
        serial=link.serial,
        product_name="长白山人参 六年生 <b>50 g</b>",
        herb="renshen",
        origin=OriginRecord(
            site_name="东岗镇林下参基地",
            organisation=PERSON,
            organisation_is_person=True,
            region=Region(province="吉林省", city="白山市", county="抚松县"),
            location=Location(lat="42.2871365", lon="127.2765"),
            gap_status="certified",
            harvested_on="2026-09-20",
            growing_years=6,
        ),
        steps=[
            StepRecord(
                type="harvest",
                on="2026-09-20",
                organisation=PERSON,
                organisation_is_person=True,
                person=PERSON,
                phone=PHONE,
                log_index=0,
            ),
            StepRecord(
                type="processing",
                on="2026-10-02",
                organisation="集安市红参加工有限公司",
                summary="蒸制",
                person="李四",
                phone="0435-1234567",
                log_index=5,
            ),
        ],
        recall=Recall(level="II", reason="农残复检超标", on="2026-11-01") if link.serial else None,
    )


@pytest.fixture(name="client")
def _client(sqlite_url: str) -> Iterator[TestClient]:
    """A client of the app on a fresh SQLite database, resolving through `recorded`."""
    settings = api_settings(sqlite_url, digital_link_host=HOST)
    initialise(settings)
    with TestClient(create_app(settings, facts_lookup=recorded)) as client:
        yield client


def test_json_gets_the_consumer_view_of_the_unit(client: TestClient) -> None:
    """Accept: application/json gets exactly the consumer view, under the configured host."""
    response = client.get(UNIT, headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["vary"] == "Accept"
    uri = f"https://{HOST}{UNIT}"
    link = DigitalLink(GTIN, lot=LOT, serial=SERIAL)
    assert response.json() == consumer_view(recorded(link), uri).model_dump(mode="json")
    body = response.json()
    assert body["uri"] == uri
    assert body["status"] == "recalled"
    assert body["origin"]["location"] == {"lat": "42.3", "lon": "127.3"}
    assert body["origin"]["organisation"] == INDIVIDUAL_GROWER
    assert [s["organisation"] for s in body["steps"]] == [
        INDIVIDUAL_GROWER,
        "集安市红参加工有限公司",
    ]


@pytest.mark.parametrize("accept", ["application/json", CHROME_ACCEPT])
def test_no_personal_details_reach_the_public(client: TestClient, accept: str) -> None:
    """Neither the JSON nor the page carries a person's name, a phone number or exact places."""
    text = client.get(UNIT, headers={"Accept": accept}).text
    for secret in (PERSON, PHONE, "李四", "0435-1234567", "42.2871365", "127.2765"):
        assert secret not in text


def test_browser_gets_the_page(client: TestClient) -> None:
    """A browser's Accept header gets an HTML page naming the product, its origin and recall."""
    response = client.get(UNIT, headers={"Accept": CHROME_ACCEPT})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["vary"] == "Accept"
    page = response.text
    assert "长白山人参 六年生 &lt;b&gt;50 g&lt;/b&gt;" in page  # escaped, never markup
    assert "<b>" not in page
    assert "吉林省 白山市 抚松县" in page
    assert "<dd>个体种植户</dd>" in page  # an individual grower, in Chinese only
    assert "individual grower" not in page
    english = client.get(UNIT + "?lang=en", headers={"Accept": CHROME_ACCEPT}).text
    assert "<dd>an individual grower</dd>" in english
    assert 'id="product-verdict" data-verdict="recalled" role="alert"' in page
    assert "已召回：请停止使用" in page
    assert "二级召回（2026-11-01）：农残复检超标" in page
    assert f"https://{HOST}{UNIT}" in page


def test_batch_resolves_without_serial(client: TestClient) -> None:
    """The batch link resolves to the batch's facts, with no serial and not recalled."""
    body = client.get(BATCH, headers={"Accept": "application/json"}).json()
    assert body["uri"] == f"https://{HOST}{BATCH}"
    assert body["serial"] is None
    assert body["status"] == "active"


def test_short_gtin_resolves_as_gtin_14(client: TestClient) -> None:
    """A GTIN-13 in the path names the same product as its zero-padded GTIN-14."""
    body = client.get(f"/01/{GTIN[1:]}/10/{LOT}", headers={"Accept": "application/json"}).json()
    assert body["gtin"] == GTIN
    assert body["uri"] == f"https://{HOST}{BATCH}"


@pytest.mark.parametrize(
    ("accept", "json_wanted"),
    [
        ("application/json", True),
        ("text/html", False),
        ("*/*", False),
        (None, False),
        ("application/json;q=0.5, text/html;q=0.9", False),
        ("text/html;q=0.1, application/json", True),
        ("application/*", True),
        ("text/*;q=0.2, */*;q=0.5", True),
        ("TEXT/HTML", False),
        ("application/json;q=bogus, text/html;q=0.3", False),
    ],
)
def test_content_negotiation(accept: str | None, json_wanted: bool) -> None:
    """The client's most preferred of JSON and HTML wins, by q-values; ties go to HTML."""
    assert wants_json(accept) is json_wanted


@pytest.mark.parametrize("accept", ["image/png", "application/json;q=0, text/html;q=0"])
def test_neither_json_nor_html_is_406(client: TestClient, accept: str) -> None:
    """A client that accepts neither JSON nor HTML gets 406 with a JSON reason."""
    response = client.get(UNIT, headers={"Accept": accept})
    assert response.status_code == 406
    assert response.json()["error"] == "not_acceptable"


@pytest.mark.parametrize(
    ("path", "status", "error", "reason"),
    [
        (f"/01/06901234567893/10/{LOT}/21/{SERIAL}", 400, "invalid_input", "check digit"),
        (f"/01/0690123456789/10/{LOT}", 400, "invalid_input", "check digit"),
        (f"/01/123456789/10/{LOT}", 400, "invalid_input", "8, 12, 13 or 14 digits"),
        (f"/01/{GTIN}/10/LOT%20ONE", 400, "invalid_input", "82-character set"),
        (f"/01/{GTIN}/10/{LOT}/21/序列", 400, "invalid_input", "82-character set"),
        (f"/01/{GTIN}/10/{'L' * 21}", 422, "request_validation_error", "lot"),
        (f"/01/069012345678X2/10/{LOT}", 422, "request_validation_error", "gtin"),
        (f"/01/{GTIN}/10/OTHER/21/{SERIAL}", 404, "not_found", "nothing is recorded"),
        (f"/01/{GTIN}/10/{LOT}/21/9999", 404, "not_found", "nothing is recorded"),
    ],
)
def test_bad_or_unknown_links_get_4xx_json(
    client: TestClient, path: str, status: int, error: str, reason: str
) -> None:
    """A bad GTIN, lot or serial, or an unknown one, gets its 4xx and a JSON reason."""
    response = client.get(path, headers={"Accept": "application/json"})
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert reason in body["reason"]


def test_empty_records_resolve_nothing(sqlite_url: str) -> None:
    """With no records, the app's own lookup answers 404 with a reason, never a 5xx."""
    settings = api_settings(sqlite_url)
    initialise(settings)
    with TestClient(create_app(settings)) as client:
        response = client.get(UNIT, headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["reason"] == (
        f"no unit is recorded under GTIN {GTIN} lot {LOT} serial {SERIAL}"
    )


@pytest.mark.parametrize(
    ("path", "status", "kind", "title"),
    [
        (f"/01/{GTIN}/10/{LOT}/21/9999", 404, "unknown", "未查到此产品的记录"),
        (f"/01/{GTIN}/10/OTHER", 404, "unknown", "未查到此产品的记录"),
        (f"/01/06901234567893/10/{LOT}/21/{SERIAL}", 400, "invalid", "这不是有效的产品编码"),
        (f"/01/{GTIN}/10/{LOT}/21/序列", 400, "invalid", "这不是有效的产品编码"),
        (f"/01/069012345678X2/10/{LOT}", 422, "invalid", "这不是有效的产品编码"),
        (f"/01/{GTIN}/10/{'L' * 21}", 422, "invalid", "这不是有效的产品编码"),
    ],
)
def test_a_browser_with_a_bad_or_unknown_code_gets_a_page_saying_what_to_do(
    client: TestClient, path: str, status: int, kind: str, title: str
) -> None:
    """A browser gets an HTML page, with the status a JSON client gets, naming the code it
    looked up, what to do next and a form to type the code again; no script runs on it."""
    response = client.get(path, headers={"Accept": CHROME_ACCEPT})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["vary"] == "Accept"
    assert "form-action 'self'" in response.headers["content-security-policy"]
    page = response.text
    assert '<html lang="zh-CN">' in page
    assert f'id="code-error" data-kind="{kind}"' in page
    assert f"<h1>{title}</h1>" in page
    assert "请先不要使用" in page
    assert "12315" in page
    assert '<form class="card code-form" id="code-form" action="/lookup" method="get">' in page
    assert "<script" not in page
    assert "not_found" not in page
    assert "invalid_input" not in page


def test_the_code_error_page_speaks_english_when_asked_and_chinese_otherwise(
    client: TestClient,
) -> None:
    """?lang=en gives the English page; an unsupported language gives the Chinese one."""
    unknown = f"/01/{GTIN}/10/{LOT}/21/9999"
    english = client.get(unknown + "?lang=en", headers={"Accept": "text/html"})
    assert english.status_code == 404
    assert '<html lang="en">' in english.text
    assert "No record of this product" in english.text
    assert f'id="lang-switch" href="{unknown}" lang="zh-CN">中文</a>' in english.text
    assert '<input type="hidden" name="lang" value="en">' in english.text
    french = client.get(unknown + "?lang=fr", headers={"Accept": "text/html"})
    assert french.status_code == 404
    assert "未查到此产品的记录" in french.text


def test_the_code_error_page_shows_the_code_looked_up_escaped(client: TestClient) -> None:
    """The lot and serial looked up are shown back, escaped, never as markup."""
    response = client.get(f"/01/{GTIN}/10/%3Cb%3E/21/9999", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "<b>" not in response.text
    assert '<dd id="looked-up-serial">9999</dd>' in response.text


@pytest.mark.parametrize(
    ("accept", "html"),
    [(CHROME_ACCEPT, True), ("text/html", True), ("text/*", True), ("*/*", False), (None, False)],
)
def test_only_a_client_naming_html_gets_the_error_page(
    client: TestClient, accept: str | None, html: bool
) -> None:
    """Browsers name text/html and get the page; a script naming no type gets the JSON error."""
    headers = {"Accept": accept} if accept else {}
    response = client.get(f"/01/{GTIN}/10/{LOT}/21/9999", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html" if html else JSON)


def test_a_browser_past_the_rate_limit_gets_a_page_saying_wait(sqlite_url: str) -> None:
    """Past the public burst, a browser gets a 429 page (keeping Retry-After) that says this
    says nothing about the product; a JSON client still gets its JSON 429."""
    settings = api_settings(sqlite_url, public_rate=0.1, public_burst=2)
    initialise(settings)
    with TestClient(create_app(settings, facts_lookup=recorded)) as client:
        for _ in range(2):
            client.get(BATCH, headers={"Accept": JSON})
        page = client.get(BATCH, headers={"Accept": CHROME_ACCEPT})
        assert page.status_code == 429
        assert page.headers["content-type"].startswith("text/html")
        assert 1 <= int(page.headers["Retry-After"]) <= 20
        assert "这与产品真假无关" in page.text
        refused = client.get(BATCH, headers={"Accept": JSON})
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_requests"
