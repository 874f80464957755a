"""GET /v1/resolve: what a regulator reads off a box (批号, GTIN, QR content) names a batch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from domain.story import PLANT, body
from resource_support import ResourceApi, open_resource_api

GTIN, LOT, PACKED = "06901234567892", "HS2026001", "JA-HS-2026-001-P"


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    """The 红参 story packed into three units of GTIN 06901234567892, lot HS2026001."""
    with open_resource_api(db_url) as api:
        api.world.packed()
        yield api


def _resolve(api: ResourceApi, code: str, who: str = "regulator") -> dict[str, object]:
    response = api.get("/v1/resolve", who, code=code)
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


@pytest.mark.parametrize(
    ("code", "via", "serial"),
    [
        (LOT, "lot", None),
        (f"  批号：{LOT} ", "lot", None),
        (f"{GTIN} {LOT}", "gtin_lot", None),
        (f"批号 {LOT}，GTIN {GTIN}", "gtin_lot", None),
        (f"https://id.example.cn/01/{GTIN}/10/{LOT}", "digital_link", None),
        (f"https://id.example.cn/01/{GTIN}/10/{LOT}/21/0002?17=271231", "digital_link", "0002"),
        (f"(01){GTIN}(10){LOT}(21)0003", "element_string", "0003"),
        (f"]d201{GTIN}10{LOT}\x1d210001", "element_string", "0001"),
        (f"01{GTIN}10{LOT}", "element_string", None),
        (PACKED, "batch_id", None),
    ],
)
def test_every_form_printed_on_or_encoded_in_a_box_names_the_packed_batch(
    api: ResourceApi, code: str, via: str, serial: str | None
) -> None:
    """The lot alone or with its GTIN (labels and separators allowed), the QR's Digital
    Link, a DataMatrix's element strings (raw or as printed) and the batch ID all name it."""
    found = _resolve(api, code)
    assert found["batch"] == PACKED
    assert found["via"] == via
    assert found["serial"] == serial
    if via != "batch_id":
        assert (found["gtin"], found["lot"]) == (GTIN, LOT)


def test_an_unknown_lot_or_unit_is_404_and_a_malformed_code_400(api: ResourceApi) -> None:
    """Nothing recorded under the code: 404 naming it; a GTIN with a wrong check digit or a
    unit under another lot: a reason, never a batch."""
    missing = api.get("/v1/resolve", code="HS2099999")
    assert missing.status_code == 404
    assert "HS2099999" in missing.json()["reason"]
    wrong_lot = api.get("/v1/resolve", code=f"(01){GTIN}(10)HS2026002(21)0001")
    assert wrong_lot.status_code == 404
    assert "HS2026001" in wrong_lot.json()["reason"]
    bad_digit = api.get("/v1/resolve", code=f"{GTIN[:-1]}3 {LOT}")
    assert bad_digit.status_code == 400
    assert "check digit" in bad_digit.json()["reason"]
    assert api.get("/v1/resolve", code="two words here").status_code == 400
    assert api.get("/v1/resolve", code="x" * 301).status_code == 422


def test_only_regulators_and_admins_resolve(api: ResourceApi) -> None:
    """Operators are refused (403): the resolve serves the regulator's desk."""
    assert api.get("/v1/resolve", "coop", code=LOT).status_code == 403
    assert api.client.get("/v1/resolve", params={"code": LOT}).status_code == 401


def test_a_lot_two_products_share_answers_both_batches_to_choose_from(api: ResourceApi) -> None:
    """A second product packed under the same lot: the lot alone names no batch but lists
    both; with its GTIN it names one."""
    other = "09520123000110"
    product = {"gtin": other, "lot": LOT, "name": "红参片 100 g"}
    api.world.ok(
        PLANT,
        body(
            "pack",
            batch="JA-HS-2026-001-B",
            packed_batch="JA-HS-2026-001-Q",
            product=product,
            serials=["0001"],
        ),
    )
    found = _resolve(api, LOT)
    assert found["batch"] is None
    assert found["candidates"] == [
        {"batch": PACKED, "gtin": GTIN, "lot": LOT},
        {"batch": "JA-HS-2026-001-Q", "gtin": other, "lot": LOT},
    ]
    assert _resolve(api, f"{other} {LOT}")["batch"] == "JA-HS-2026-001-Q"
