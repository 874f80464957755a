"""The one authoriser: roles, and operators' ownership read from the path, query or JSON body.

A route owned through its body reads the organisation from the parsed body the handler gets
(`require_body`); a route owned through the path or query never reads the body."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from api_support import ORG_A, ORG_B, Callers, api_settings
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from api.deps import Public, organisation_param, require, require_body, route_policies
from api.errors import install_error_handlers
from api.services import lifespan
from traceability.ledger import initialise
from traceability.settings import Settings
from traceability.storage.db import make_engine
from traceability.users import Principal


class Shipment(BaseModel):
    """A body naming the organisation it acts for."""

    organisation: str
    note: str = ""


OWNER = organisation_param()
router = APIRouter()


@router.get("/orgs/{organisation}/stock")
def by_path(p: Annotated[Principal, require("operator", "regulator", owner=OWNER)]) -> str:
    """A route owned through the path."""
    return p.name


@router.get("/stock")
def by_query(p: Annotated[Principal, require("operator", owner=OWNER)]) -> str:
    """A route owned through the query."""
    return p.name


@router.post("/shipments")
def by_body(
    shipment: Annotated[Shipment, require_body(Shipment, "operator", "admin")],
) -> dict[str, str]:
    """A route owned through the JSON body."""
    return {"for": shipment.organisation, "note": shipment.note}


@router.get("/open", dependencies=[Public])
def open_route() -> str:
    """A public route."""
    return "ok"


def probe_app(settings: Settings | None = None) -> FastAPI:
    """A small app whose routes use the authoriser the way the real routers do, with the
    services the real lifespan opens."""
    app = FastAPI(lifespan=lifespan(settings))
    install_error_handlers(app)
    app.include_router(router)
    return app


@pytest.fixture(name="probe")
def _probe(sqlite_url: str) -> Iterator[tuple[TestClient, Callers]]:
    """The probe app with the services the real lifespan opens, on a database with every caller."""
    settings = api_settings(sqlite_url, public_burst=3, public_rate=0.001)
    engine = make_engine(settings.database_url)
    initialise(settings, engine)
    callers = Callers.create(engine)
    with TestClient(probe_app(settings)) as client:
        yield client, callers
    engine.dispose()


@pytest.mark.parametrize(
    ("who", "organisation", "status"),
    [
        ("operator_a", ORG_A, 200),
        ("operator_a", ORG_B, 403),
        ("operator_b", ORG_B, 200),
        ("regulator", ORG_B, 200),
        ("admin", ORG_A, 403),
        ("anonymous", ORG_A, 401),
    ],
)
def test_ownership_from_the_path(
    probe: tuple[TestClient, Callers], who: str, organisation: str, status: int
) -> None:
    """An operator may act for the organisation in the path only if it is its own."""
    client, callers = probe
    response = client.get(f"/orgs/{organisation}/stock", headers=callers.headers(who))
    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    ("query", "status"),
    [(f"?organisation={ORG_A}", 200), (f"?organisation={ORG_B}", 403), ("", 403)],
)
def test_ownership_from_the_query(
    probe: tuple[TestClient, Callers], query: str, status: int
) -> None:
    """An operator must name its own organisation in the query; none or another is refused."""
    client, callers = probe
    response = client.get(f"/stock{query}", headers=callers.headers("operator_a"))
    assert response.status_code == status, response.text
    if status == 403:
        assert "own organisation (org-a)" in response.json()["reason"]


def test_ownership_from_the_body_leaves_the_body_intact(probe: tuple[TestClient, Callers]) -> None:
    """The organisation is read from the JSON body, and the handler still gets the whole body."""
    client, callers = probe
    mine = {"organisation": ORG_A, "note": "人参 12 箱"}
    response = client.post("/shipments", json=mine, headers=callers.headers("operator_a"))
    assert response.status_code == 200
    assert response.json() == {"for": ORG_A, "note": "人参 12 箱"}
    theirs = {"organisation": ORG_B}
    refused = client.post("/shipments", json=theirs, headers=callers.headers("operator_a"))
    assert refused.status_code == 403
    assert (
        client.post("/shipments", json=theirs, headers=callers.headers("admin")).status_code == 200
    )


@pytest.mark.parametrize("who", ["operator_a", "admin"])
def test_a_query_naming_another_organisation_than_the_body_is_refused(
    probe: tuple[TestClient, Callers], who: str
) -> None:
    """Query and body must name one organisation, for every caller: 422, whichever is own."""
    client, callers = probe
    for query, body in [(ORG_A, ORG_B), (ORG_B, ORG_A)]:
        response = client.post(
            f"/shipments?organisation={query}",
            json={"organisation": body},
            headers=callers.headers(who),
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "conflicting_input"
    agreeing = client.post(
        f"/shipments?organisation={ORG_A}",
        json={"organisation": ORG_A},
        headers=callers.headers("operator_a"),
    )
    assert agreeing.status_code == 200


def test_a_query_naming_two_organisations_is_refused(probe: tuple[TestClient, Callers]) -> None:
    """`?organisation=own&organisation=other` is ambiguous: 422, not the last one wins."""
    client, callers = probe
    url = f"/stock?organisation={ORG_B}&organisation={ORG_A}"
    response = client.get(url, headers=callers.headers("operator_a"))
    assert response.status_code == 422, response.text


def test_a_query_owned_route_never_reads_the_body(probe: tuple[TestClient, Callers]) -> None:
    """A JSON body naming the operator's own organisation does not stand in for the query."""
    client, callers = probe
    response = client.request(
        "GET",
        "/stock",
        json={"organisation": ORG_A},
        headers=callers.headers("operator_a"),
    )
    assert response.status_code == 403, response.text


@pytest.mark.parametrize(
    "body", [b"[1, 2]", b'{"organisation": 7}', b"{not json", b'{"note": "no organisation"}']
)
def test_bad_bodies_are_refused_without_a_server_error(
    probe: tuple[TestClient, Callers], body: bytes
) -> None:
    """Bodies without a usable organisation give a 4xx JSON error, never a 5xx."""
    client, callers = probe
    headers = {**callers.headers("operator_a"), "Content-Type": "application/json"}
    response = client.post("/shipments", content=body, headers=headers)
    assert response.status_code in (403, 422), response.text
    assert set(response.json()) == {"error", "reason"}


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        ("Basic dXNlcjpwYXNz", "must be `Bearer <token>`"),
        ("Bearer", "must be `Bearer <token>`"),
        ("Bearer htk_short", "not a herbtrace token"),
        ("Bearer htk_" + "A" * 43, "unknown or revoked"),
    ],
)
def test_bad_credentials_on_a_public_route_are_401(
    probe: tuple[TestClient, Callers], authorization: str, reason: str
) -> None:
    """A bad Authorization header is refused even where anonymous callers are welcome."""
    client, _ = probe
    response = client.get("/open", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert reason in response.json()["reason"]
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="herbtrace"'


def test_public_route_limits_anonymous_callers_only(probe: tuple[TestClient, Callers]) -> None:
    """Past the burst, anonymous calls get 429 with Retry-After; signed-in calls still pass."""
    client, callers = probe
    assert [client.get("/open").status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get("/open")
    assert limited.status_code == 429
    assert limited.json()["error"] == "too_many_requests"
    assert int(limited.headers["Retry-After"]) >= 1
    assert client.get("/open", headers=callers.headers("regulator")).status_code == 200


def test_require_refuses_unguarded_operator_routes() -> None:
    """An operator route must say which organisation it acts for; unknown roles are refused."""
    with pytest.raises(ValueError, match="owner="):
        require("operator")
    with pytest.raises(ValueError, match="roles must be"):
        require("device")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="roles must be"):
        require()


def test_route_policies_sees_router_level_dependencies() -> None:
    """route_policies finds a policy given per route and one given to the whole router."""
    policies = route_policies(probe_app())
    described = {key: p.describe() if p else None for key, p in policies.items()}
    assert described == {
        ("GET", "/orgs/{organisation}/stock"): "operator (own), regulator",
        ("GET", "/stock"): "operator (own)",
        ("POST", "/shipments"): "admin, operator (own)",
        ("GET", "/open"): "anyone (anonymous rate-limited)",
    }
