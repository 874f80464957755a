"""Helpers of the resource API tests: an app on a fresh database with the domain story's
parties registered, users of every kind, and operators of the story's organisations."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
from api_support import Callers, api_settings, services_of
from domain.story import COOP, PLANT, World, body
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.main import create_app
from api.services import BrokerAccounts
from traceability import users
from traceability.domain.service import Domain
from traceability.ingest.receipts import verify_receipt
from traceability.keys import load_public_key
from traceability.ledger import initialise
from traceability.settings import Settings
from traceability.storage.db import make_engine

OPERATORS = {"coop": ("op-coop", COOP), "plant": ("op-plant", PLANT)}
"""Operators of the story's cooperative and processing plant: who → (user, organisation)."""

__all__ = ["COOP", "PLANT", "ResourceApi", "body", "open_resource_api"]


@dataclass
class ResourceApi:
    """A client of a live app, the story's world on the app's own domain, and its callers."""

    client: TestClient
    callers: Callers
    world: World
    engine: Engine

    @property
    def domain(self) -> Domain:
        """The domain the app's lifespan opened."""
        return services_of(self.client).domain

    @property
    def settings(self) -> Settings:
        """The settings the app serves with."""
        return services_of(self.client).settings

    def headers(self, who: str) -> dict[str, str]:
        """Headers of `who`: a kind of caller (api_support.WHO), or `coop` / `plant`."""
        if who in OPERATORS:
            token = users.issue_token(self.engine, OPERATORS[who][0], "test").token
            return {"Authorization": f"Bearer {token}"}
        return self.callers.headers(who)

    def get(self, url: str, who: str = "regulator", **params: Any) -> httpx.Response:
        """GET `url` as `who`."""
        return self.client.get(url, headers=self.headers(who), params=params or None)

    def log_public_key(self) -> bytes:
        """The log's raw Ed25519 public key, from its published verifier key."""
        vkey = self.client.get("/v1/log/key").text.strip()
        return base64.b64decode(vkey.split("+", 2)[2])[1:]  # name+hash+base64(0x01 key)

    def receipt(self, response: httpx.Response) -> dict[str, Any]:
        """Verify a receipt response's signature with the log key; return its payload."""
        payload = verify_receipt(response.content, self.log_public_key())
        return payload.model_dump(mode="json")


@contextmanager
def open_resource_api(
    url: str, *, broker_accounts: BrokerAccounts | None = None, **overrides: object
) -> Iterator[ResourceApi]:
    """An app on a fresh database at `url` with the story's parties and every kind of user
    (settings as `api_support.api_settings` makes them, with `overrides`), installing
    devices' broker passwords in `broker_accounts` if given."""
    settings = api_settings(url, **overrides)
    engine = make_engine(settings.database_url)
    initialise(settings, engine)
    callers = Callers.create(engine)
    for name, organisation in OPERATORS.values():
        users.create_user(engine, name, "operator", organisation)
    try:
        with TestClient(create_app(settings, broker_accounts=broker_accounts)) as client:
            world = World(services_of(client).domain)
            world.register_all()
            yield ResourceApi(client, callers, world, engine)
    finally:
        engine.dispose()


def public_key_b64(raw: bytes) -> str:
    """A raw Ed25519 public key in standard base64, checked to be a valid key."""
    load_public_key(raw)
    return base64.b64encode(raw).decode()
