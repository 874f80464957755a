"""Users and tokens over HTTP on SQLite and PostgreSQL: create, issue, use, page, revoke."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import ORG_A, ORG_B, Callers, api_settings, services_of
from domain.story import COOP, World
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.main import create_app
from traceability import users
from traceability.settings import Settings


@pytest.fixture(name="api")
def _api(settings: Settings, engine: Engine) -> Iterator[tuple[TestClient, Callers]]:
    """A client of the app on the test's database (both backends) with every kind of caller."""
    callers = Callers.create(engine)
    with TestClient(create_app(api_settings(settings.database_url))) as client:
        yield client, callers


def bearer(token: str) -> dict[str, str]:
    """Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}


def test_admin_creates_a_user_issues_a_token_and_it_works(api: tuple[TestClient, Callers]) -> None:
    """A user and token made over HTTP authenticate as that user; the secret is stored hashed."""
    client, callers = api
    admin = callers.headers("admin")
    World(services_of(client).domain).register_all()
    body = {"name": "wang.fang", "role": "operator", "organisation": COOP}
    created = client.post("/v1/users", json=body, headers=admin)
    assert created.status_code == 201
    assert {k: created.json()[k] for k in body} == body
    issued = client.post("/v1/users/wang.fang/tokens", json={"label": "扫码枪 1"}, headers=admin)
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert issued.json()["info"]["label"] == "扫码枪 1"
    me = client.get("/v1/me", headers=bearer(token)).json()
    assert me == {
        "name": "wang.fang",
        "role": "operator",
        "organisation": COOP,
        "token_id": issued.json()["info"]["id"],
    }
    listed = client.get("/v1/users/wang.fang/tokens", headers=admin)
    assert token not in listed.text
    assert [t["label"] for t in listed.json()["items"]] == ["扫码枪 1"]


def test_revoked_tokens_fail_from_the_next_request(api: tuple[TestClient, Callers]) -> None:
    """A token revoked by an admin, or by its holder signing out, is refused at once."""
    client, callers = api
    admin = callers.headers("admin")
    first = users.issue_token(callers.engine, "op-a")
    second = users.issue_token(callers.engine, "op-a")
    assert client.get("/v1/me", headers=bearer(first.token)).status_code == 200
    revoked = client.delete(f"/v1/tokens/{first.info.id}", headers=admin)
    assert revoked.json()["revoked_at"] is not None
    assert client.get("/v1/me", headers=bearer(first.token)).status_code == 401
    assert client.delete("/v1/me/token", headers=bearer(second.token)).status_code == 200
    refused = client.get("/v1/me", headers=bearer(second.token))
    assert refused.status_code == 401
    assert refused.json() == {
        "error": "unauthenticated",
        "reason": "the bearer token is unknown or revoked",
    }


def test_users_paginate(api: tuple[TestClient, Callers]) -> None:
    """Listing users by pages of two visits every user once, in ID order, then stops."""
    client, callers = api
    for i in range(3):
        users.create_user(callers.engine, f"extra{i}", "operator", ORG_B)
    headers = callers.headers("regulator")
    seen: list[str] = []
    after: int | None = 0
    pages = 0
    while after is not None:
        page = client.get("/v1/users", params={"after": after, "limit": 2}, headers=headers)
        assert page.status_code == 200
        assert len(page.json()["items"]) <= 2
        seen += [u["name"] for u in page.json()["items"]]
        after = page.json()["next_after"]
        pages += 1
    assert seen == ["op-a", "op-b", "reg", "root", "extra0", "extra1", "extra2"]
    assert pages == 4
    own = client.get(
        "/v1/users", params={"organisation": ORG_B}, headers=callers.headers("operator_b")
    )
    assert [u["name"] for u in own.json()["items"]] == ["op-b", "extra0", "extra1", "extra2"]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"name": "new", "role": "operator"}, 400, "invalid_input"),
        ({"name": "new", "role": "admin", "organisation": ORG_A}, 400, "invalid_input"),
        ({"name": "new", "role": "operator", "organisation": "org-nowhere"}, 400, "invalid_input"),
        ({"name": "op-a", "role": "admin"}, 409, "already_exists"),
        ({"name": "New", "role": "admin"}, 422, "request_validation_error"),
        ({"name": "new", "role": "device"}, 422, "request_validation_error"),
        ({"name": "new", "role": "admin", "extra": 1}, 422, "request_validation_error"),
        ({"role": "admin"}, 422, "request_validation_error"),
    ],
)
def test_bad_new_users_get_4xx_and_change_nothing(
    api: tuple[TestClient, Callers], body: dict[str, object], status: int, error: str
) -> None:
    """Each bad user body gets its 4xx with a reason, and the users stay as they were."""
    client, callers = api
    before = users.list_users(callers.engine)
    response = client.post("/v1/users", json=body, headers=callers.headers("admin"))
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["reason"]
    assert users.list_users(callers.engine) == before


def test_unknown_users_and_tokens_are_404(api: tuple[TestClient, Callers]) -> None:
    """Admins asking about a user or token that does not exist get 404 with a reason."""
    client, callers = api
    admin = callers.headers("admin")
    for method, path in [
        ("GET", "/v1/users/ghost"),
        ("GET", "/v1/users/ghost/tokens"),
        ("POST", "/v1/users/ghost/tokens"),
        ("DELETE", "/v1/tokens/999999"),
    ]:
        response = client.request(
            method, path, headers=admin, json={} if method == "POST" else None
        )
        assert response.status_code == 404, (method, path)
        assert response.json()["error"] == "not_found"


def test_operator_cannot_probe_other_organisations_users(api: tuple[TestClient, Callers]) -> None:
    """An operator asking for another organisation's user, or a missing one, gets the same 403."""
    client, callers = api
    headers = callers.headers("operator_a")
    other = client.get("/v1/users/op-b", headers=headers)
    missing = client.get("/v1/users/ghost", headers=headers)
    assert other.status_code == missing.status_code == 403
    assert other.json() == missing.json()
