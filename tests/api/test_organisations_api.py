"""GET /v1/organisations: the registry of organisations, for signed-in callers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from domain.story import ORG_KINDS
from resource_support import COOP, ResourceApi, body, open_resource_api


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    """The story's five organisations registered, on SQLite and on PostgreSQL."""
    with open_resource_api(db_url) as api:
        yield api


def test_every_signed_in_caller_lists_the_registry(api: ResourceApi) -> None:
    """Operators, regulators and admins list every organisation by ID with its kind;
    anonymous callers get 401."""
    for who in ("coop", "regulator", "admin"):
        items = api.get("/v1/organisations", who).json()["items"]
        assert {o["id"]: o["kind"] for o in items} == ORG_KINDS
    assert api.client.get("/v1/organisations").status_code == 401


def test_kind_filter_and_pages(api: ResourceApi) -> None:
    """`kind` narrows the list; pages of two cover all five once, in ID order."""
    labs = api.get("/v1/organisations", kind="testing_lab").json()["items"]
    assert [o["id"] for o in labs] == ["org-jilin-lab"]
    seen, after = [], None
    while True:
        page = api.get("/v1/organisations", limit=2, **({"after": after} if after else {})).json()
        seen += [o["id"] for o in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == sorted(ORG_KINDS)


def test_one_organisation_shows_its_latest_registration(api: ResourceApi) -> None:
    """A re-registration updates the name; registered_index stays the first event's."""
    before = api.get(f"/v1/organisations/{COOP}").json()
    index = api.world.ok(
        COOP, body("organisation", name="抚松人参合作社", credit_code=None), "admin"
    )
    after = api.get(f"/v1/organisations/{COOP}").json()
    assert after["name"] == "抚松人参合作社"
    assert (after["registered_index"], after["updated_index"]) == (
        before["registered_index"],
        index,
    )


def test_unknown_or_malformed_requests_get_a_reason(api: ResourceApi) -> None:
    """An unknown ID is 404; a bad limit is 422; both say why in JSON."""
    missing = api.get("/v1/organisations/org-nowhere")
    assert missing.status_code == 404
    assert "org-nowhere" in missing.json()["reason"]
    bad = api.get("/v1/organisations", limit=501)
    assert bad.status_code == 422
    assert "limit" in bad.json()["reason"]
