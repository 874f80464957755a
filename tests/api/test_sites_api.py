"""GET /v1/sites: registered sites of organisations, for signed-in callers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from domain.story import SITES
from resource_support import COOP, ResourceApi, open_resource_api


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[ResourceApi]:
    """The story's five sites registered, on SQLite and on PostgreSQL."""
    with open_resource_api(db_url) as api:
        yield api


def test_sites_list_with_their_organisations(api: ResourceApi) -> None:
    """Every registered site is listed by ID with its organisation and kind."""
    items = api.get("/v1/sites", "plant").json()["items"]
    assert {s["id"]: (s["organisation"], s["kind"]) for s in items} == SITES
    assert api.client.get("/v1/sites").status_code == 401


def test_filters_and_pages(api: ResourceApi) -> None:
    """`organisation` and `kind` narrow the list; pages of one cover every site once."""
    coop = api.get("/v1/sites", organisation=COOP).json()["items"]
    assert [s["id"] for s in coop] == ["site-fusong-wanliang"]
    labs = api.get("/v1/sites", kind="laboratory").json()["items"]
    assert [s["id"] for s in labs] == ["site-jilin-lab"]
    seen, after = [], None
    while True:
        page = api.get("/v1/sites", limit=1, **({"after": after} if after else {})).json()
        seen += [s["id"] for s in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == sorted(SITES)


def test_one_site_and_errors(api: ResourceApi) -> None:
    """One site by ID; unknown is 404 and a malformed organisation filter 422, with reasons."""
    site = api.get("/v1/sites/site-jian-plant").json()
    assert (site["organisation"], site["kind"]) == ("org-jian-processor", "processing_plant")
    missing = api.get("/v1/sites/site-nowhere")
    assert missing.status_code == 404
    assert "site-nowhere" in missing.json()["reason"]
    bad = api.get("/v1/sites", organisation="no spaces")
    assert bad.status_code == 422
    assert "organisation" in bad.json()["reason"]
