"""The shopper's home page: the form for the code printed on the box, and where it leads."""

from __future__ import annotations

import html
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from consumer_support import SOLD, seeded_settings
from fastapi.testclient import TestClient

from api.main import create_app

HTML = {"Accept": "text/html"}
GTIN, LOT, SERIAL = SOLD.split("/")[2], SOLD.split("/")[4], SOLD.split("/")[6]


@pytest.fixture(name="client", scope="module")
def _client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A client of the app on a database seeded with the demo up to story 2's recall."""
    settings = seeded_settings(tmp_path_factory.mktemp("home-page"))
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_home_page_asks_for_the_code_and_says_what_is_checked(client: TestClient) -> None:
    """`/` is a Chinese page with a form for GTIN, lot and serial, saying what herbtrace
    checks (recalls, tests, copied codes, tampered records) and running no script."""
    response = client.get("/")
    assert response.status_code == 200
    page = response.text
    assert '<html lang="zh-CN">' in page
    assert '<form class="card code-form" id="code-form" action="/lookup" method="get">' in page
    for field in ("gtin", "lot", "serial", "code"):
        assert f'<label for="{field}">' in page
        assert f'id="{field}" name="{field}"' in page
    for check in ("是否被召回", "质量检测", "编码是否被复制", "记录有没有被改过"):
        assert check in page
    assert "<script" not in page


def test_the_english_home_page(client: TestClient) -> None:
    """`/?lang=en` is in English and links back to the Chinese page; its form keeps English."""
    page = client.get("/?lang=en").text
    assert '<html lang="en">' in page
    assert "Type the code on the box" in page
    assert 'id="lang-switch" href="/" lang="zh-CN">中文</a>' in page
    assert '<input type="hidden" name="lang" value="en">' in page
    assert '<html lang="zh-CN">' in client.get("/?lang=fr").text


@pytest.mark.parametrize(
    ("query", "location"),
    [
        (f"gtin={GTIN}&lot={LOT}&serial={SERIAL}", SOLD),
        (f"gtin={GTIN[:4]}+{GTIN[4:]}&lot=+{LOT}+&serial={SERIAL}&lang=en", SOLD + "?lang=en"),
        (f"gtin={GTIN[1:]}&lot={LOT}", f"/01/{GTIN}/10/{LOT}"),
        (f"code=https://id.example.cn{SOLD}", SOLD),
        (f"code=({'01'}){GTIN}(10){LOT}(21){SERIAL}", SOLD),
    ],
)
def test_a_typed_or_pasted_code_leads_to_its_page(
    client: TestClient, query: str, location: str
) -> None:
    """The typed GTIN (spaces allowed, any length GS1 allows), lot and serial, or a pasted
    Digital Link or element string, answer 303 to the product's page."""
    response = client.get(f"/lookup?{query}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == location
    assert client.get(location, headers=HTML).status_code == 200


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        (f"gtin={GTIN}", "请至少填写商品条码和批号"),
        (f"gtin={GTIN[:-1]}9&lot={LOT}", "最后一位校验位要对得上"),
        (f"gtin={GTIN}&lot=批号", "不该出现的字符"),
        ("code=hello", "看不懂粘贴的内容"),
    ],
)
def test_a_mistyped_code_gets_the_form_again_saying_what_to_fix(
    client: TestClient, query: str, problem: str
) -> None:
    """A code that cannot be valid gets 400 and the form, filled in as typed, saying why."""
    response = client.get(f"/lookup?{query}")
    assert response.status_code == 400
    assert problem in response.text
    assert 'id="form-problem" role="alert"' in response.text
    for field, values in parse_qs(query).items():
        assert f'id="{field}" name="{field}"' in response.text
        assert f'value="{html.escape(values[0])}"' in response.text
