"""API test helpers: the five kinds of caller, with real users and tokens in the database."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.services import Services, services_in
from traceability import users
from traceability.settings import Settings

WHO = ("anonymous", "operator_a", "operator_b", "regulator", "admin")
"""Every kind of caller the authorisation matrix is checked for."""

ORG_A, ORG_B = "org-a", "org-b"
USER_OF = {"operator_a": "op-a", "operator_b": "op-b", "regulator": "reg", "admin": "root"}


@dataclass
class Callers:
    """Users of every kind in one database, and fresh tokens for them on demand."""

    engine: Engine

    @classmethod
    def create(cls, engine: Engine) -> Callers:
        """Create op-a (operator of org-a), op-b (of org-b), reg (regulator), root (admin)."""
        users.create_user(engine, "op-a", "operator", ORG_A)
        users.create_user(engine, "op-b", "operator", ORG_B)
        users.create_user(engine, "reg", "regulator")
        users.create_user(engine, "root", "admin")
        return cls(engine)

    def headers(self, who: str) -> dict[str, str]:
        """Return request headers for `who` with a newly issued token (none when anonymous)."""
        if who == "anonymous":
            return {}
        token = users.issue_token(self.engine, USER_OF[who], "test").token
        return {"Authorization": f"Bearer {token}"}


def services_of(client: TestClient) -> Services:
    """The services the lifespan of `client`'s app opened (inside `with TestClient(…)`)."""
    return services_in(client.app_state)


def client_from(client: TestClient, address: tuple[str, int]) -> TestClient:
    """Another client of `client`'s running app (the same services), calling from `address`."""
    other = TestClient(client.app, client=address)
    other.app_state.update(client.app_state)  # the dict its requests' state is copied from
    return other


def api_settings(url: str, **overrides: object) -> Settings:
    """Settings for an API test database; rate limits high unless overridden."""
    values: dict[str, object] = {
        "database_url": url,
        "log_origin": "test.herbtrace/log",
        "checkpoint_interval": 0.05,
        "public_rate": 100_000.0,
        "public_burst": 1_000_000,
        "account_rate": 100_000.0,
        "account_burst": 1_000_000,
        "device_rate": 100_000.0,
        "device_burst": 1_000_000,
        "auth_failures": 1_000_000,
        "digital_link_host": "id.example.cn",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
