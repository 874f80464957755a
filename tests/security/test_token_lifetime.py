"""A hostile anonymous client guesses bearer tokens, or holds an old one: tokens expire,
rotate, and a stream of wrong tokens from one address is slowed to 429s."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from api_support import api_settings, client_from
from fastapi.testclient import TestClient

from api.main import create_app
from traceability import users
from traceability.ledger import initialise
from traceability.storage import tables
from traceability.storage.db import make_engine

ATTACKER = ("198.51.100.7", 40000)
HONEST = ("203.0.113.20", 40001)


@pytest.fixture(name="served")
def _served(db_url: str) -> Iterator[tuple[TestClient, sa.Engine]]:
    """A client of the app (from the attacker's address) with the default token settings."""
    settings = api_settings(db_url, auth_failures=10, auth_failure_window=60.0)
    engine = make_engine(settings.database_url)
    initialise(settings, engine)
    users.create_user(engine, "op-a", "operator", "org-a")
    with TestClient(create_app(settings), client=ATTACKER) as client:
        yield client, engine
    engine.dispose()


def bearer(token: str) -> dict[str, str]:
    """The Authorization header carrying `token`."""
    return {"Authorization": f"Bearer {token}"}


def test_a_token_older_than_its_lifetime_gets_401(
    served: tuple[TestClient, sa.Engine],
) -> None:
    """A token issued 91 days ago (lifetime 90 days) is refused; one issued 89 days ago works."""
    client, engine = served
    old = users.issue_token(engine, "op-a", "old")
    young = users.issue_token(engine, "op-a", "young")
    table = tables.api_tokens
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for issued, age in ((old, 91), (young, 89)):
            conn.execute(
                table.update()
                .where(table.c.id == issued.info.id)
                .values(created_at=now - timedelta(days=age))
            )
    refused = client.get("/v1/me", headers=bearer(old.token))
    assert refused.status_code == 401
    assert "expired" in refused.json()["reason"]
    assert client.get("/v1/me", headers=bearer(young.token)).status_code == 200


def test_rotating_a_token_answers_a_new_one_and_the_old_stops_at_once(
    served: tuple[TestClient, sa.Engine],
) -> None:
    """POST /v1/me/token gives a working new token; the presented one gets 401 right after."""
    client, engine = served
    old = users.issue_token(engine, "op-a", "handheld 3").token
    rotated = client.post("/v1/me/token", headers=bearer(old))
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()["token"]
    assert new != old
    assert rotated.json()["info"]["label"] == "handheld 3"
    expires = datetime.fromisoformat(rotated.json()["info"]["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=5)
    assert client.get("/v1/me", headers=bearer(old)).status_code == 401
    assert client.get("/v1/me", headers=bearer(new)).json()["name"] == "op-a"
    assert client.post("/v1/me/token", headers=bearer(old)).status_code == 401


def test_a_thousand_wrong_tokens_from_one_address_are_mostly_429(
    served: tuple[TestClient, sa.Engine],
) -> None:
    """After 10 failures, the guesser's requests get 429 with Retry-After before any token is
    looked up, while a valid token from another address still works."""
    client, engine = served
    seen: Counter[int] = Counter()
    first_429 = None
    for attempt in range(1_000):
        response = client.get("/v1/me", headers=bearer(users.new_token()))
        seen[response.status_code] += 1
        if response.status_code == 429 and first_429 is None:
            first_429 = attempt
            assert int(response.headers["Retry-After"]) >= 1
    assert first_429 is not None
    assert first_429 <= 12, first_429
    assert seen[429] >= 980, seen
    assert seen[401] + seen[429] == 1_000, seen
    honest = client_from(client, HONEST)  # the same running app, another address
    token = users.issue_token(engine, "op-a", "honest").token
    assert honest.get("/v1/me", headers=bearer(token)).status_code == 200
    assert client.get("/v1/me", headers=bearer(token)).status_code == 429
