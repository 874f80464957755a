"""The role × endpoint authorisation matrix, checked by real requests for every route in the app.

Every API route must have a row here: a new route without one fails
`test_every_route_is_in_the_matrix`, so nobody adds an endpoint without saying who may call it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import support
from api_support import ORG_A, WHO, Callers, api_settings
from fastapi.testclient import TestClient

from api.deps import route_policies
from api.main import create_app
from traceability import users
from traceability.digital_link import DigitalLink
from traceability.errors import NotFound
from traceability.facts.models import ProductFacts
from traceability.ledger import Ledger, initialise
from traceability.storage.db import make_engine

GTIN, LOT, SERIAL = "06901234567892", "FS2026A", "0001"
UNIT = f"/01/{GTIN}/10/{LOT}/21/{SERIAL}"
BATCH = f"/01/{GTIN}/10/{LOT}"
VICTIM = "victim"  # an operator of org-a whose tokens and record the matrix reads and revokes

Url = str | Callable[[Callers], str]
NEW_KEY = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="  # a device key to enrol (base64)
NO_DEVICE = "0" * 32  # a device ID nobody enrolled


@dataclass(frozen=True)
class Case:
    """One route's request and the exact status each kind of caller gets."""

    url: Url
    expect: dict[str, int]
    body: Callable[[str], dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def public(status: int) -> dict[str, int]:
    """Everyone, anonymous included, gets `status`."""
    return dict.fromkeys(WHO, status)


def signed_in(status: int) -> dict[str, int]:
    """Every user gets `status`; anonymous callers 401."""
    return {**dict.fromkeys(WHO, status), "anonymous": 401}


def admin_only(status: int) -> dict[str, int]:
    """Admins get `status`; other users 403, anonymous 401."""
    return {**dict.fromkeys(WHO, 403), "anonymous": 401, "admin": status}


def regulators_only(status: int) -> dict[str, int]:
    """Regulators and admins get `status`; operators 403, anonymous 401."""
    return {**admin_only(status), "regulator": status}


def org_a_readers(status: int) -> dict[str, int]:
    """Admins, regulators and org-a's operator get `status`; org-b's operator 403."""
    return {**signed_in(status), "operator_b": 403}


def victim_token(callers: Callers) -> str:
    """A fresh token of the victim to revoke."""
    return f"/v1/tokens/{users.issue_token(callers.engine, VICTIM).info.id}"


MATRIX: dict[tuple[str, str], Case] = {
    ("GET", "/healthz"): Case("/healthz", public(200)),
    ("GET", "/v1/log/key"): Case("/v1/log/key", public(200)),
    ("GET", "/v1/log/checkpoint"): Case("/v1/log/checkpoint", public(200)),
    ("GET", "/v1/log/entries/{index}"): Case("/v1/log/entries/1", public(200)),
    ("GET", "/v1/log/proof/inclusion"): Case(
        "/v1/log/proof/inclusion?index=0&tree_size=2", public(200)
    ),
    ("GET", "/v1/log/proof/consistency"): Case(
        "/v1/log/proof/consistency?first=1&second=2", public(200)
    ),
    ("GET", "/v1/log/proofs"): Case("/v1/log/proofs?indices=0,1", public(200)),
    ("GET", "/v1/batches/{batch_id}/proofs"): Case("/v1/batches/NO-SUCH/proofs", public(404)),
    ("GET", "/v1/me"): Case("/v1/me", signed_in(200)),
    ("DELETE", "/v1/me/token"): Case("/v1/me/token", signed_in(200)),
    ("POST", "/v1/me/token"): Case("/v1/me/token", signed_in(201)),
    ("GET", "/docs"): Case("/docs", public(200)),
    ("GET", "/redoc"): Case("/redoc", public(200)),
    ("GET", "/v1/users"): Case(f"/v1/users?organisation={ORG_A}", org_a_readers(200)),
    ("POST", "/v1/users"): Case(
        "/v1/users",
        admin_only(201),
        body=lambda who: {"name": f"new-{who}".replace("_", "-"), "role": "regulator"},
    ),
    ("GET", "/v1/users/{name}"): Case(f"/v1/users/{VICTIM}", org_a_readers(200)),
    ("GET", "/v1/users/{name}/tokens"): Case(f"/v1/users/{VICTIM}/tokens", admin_only(200)),
    ("POST", "/v1/users/{name}/tokens"): Case(
        f"/v1/users/{VICTIM}/tokens", admin_only(201), body=lambda who: {"label": who}
    ),
    ("DELETE", "/v1/tokens/{token_id}"): Case(victim_token, admin_only(200)),
    ("GET", "/"): Case("/", public(200)),
    ("GET", "/lookup"): Case(f"/lookup?gtin={GTIN}", public(400)),
    ("GET", "/01/{gtin}/10/{lot}"): Case(BATCH, public(200), headers={"Accept": "text/html"}),
    ("GET", "/01/{gtin}/10/{lot}/21/{serial}"): Case(
        UNIT, public(200), headers={"Accept": "application/json"}
    ),
    ("GET", "/01/{gtin}/10/{lot}/qr.png"): Case(f"{BATCH}/qr.png", public(200)),
    ("GET", "/01/{gtin}/10/{lot}/qr.svg"): Case(f"{BATCH}/qr.svg", public(200)),
    ("GET", "/01/{gtin}/10/{lot}/21/{serial}/qr.png"): Case(f"{UNIT}/qr.png", public(200)),
    ("GET", "/01/{gtin}/10/{lot}/21/{serial}/qr.svg"): Case(f"{UNIT}/qr.svg", public(200)),
    ("POST", "/v1/scans"): Case(  # no unit is packed in this log: 404 for everyone
        "/v1/scans", public(404), body=lambda _who: {"gtin": GTIN, "lot": LOT, "serial": SERIAL}
    ),
    # resources (organisations, sites, devices, batches, events, alerts, recalls)
    ("GET", "/v1/organisations"): Case("/v1/organisations", signed_in(200)),
    ("GET", "/v1/organisations/{organisation_id}"): Case("/v1/organisations/NO", signed_in(404)),
    ("GET", "/v1/sites"): Case(f"/v1/sites?organisation={ORG_A}", signed_in(200)),
    ("GET", "/v1/sites/{site_id}"): Case("/v1/sites/NO-SUCH", signed_in(404)),
    ("POST", "/v1/devices"): Case(
        "/v1/devices",
        {**org_a_readers(400), "regulator": 403},
        body=lambda _who: {"public_key": NEW_KEY, "organisation": ORG_A, "site": "no-site"},
    ),
    ("GET", "/v1/devices"): Case(f"/v1/devices?organisation={ORG_A}", org_a_readers(200)),
    ("GET", "/v1/devices/{device_id}"): Case(
        f"/v1/devices/{NO_DEVICE}", {**org_a_readers(404), "operator_a": 403}
    ),
    ("POST", "/v1/devices/{device_id}/revoke"): Case(
        f"/v1/devices/{NO_DEVICE}/revoke", {**admin_only(404)}
    ),
    ("GET", "/v1/batches"): Case(f"/v1/batches?organisation={ORG_A}", org_a_readers(200)),
    ("GET", "/v1/batches/{batch_id}"): Case("/v1/batches/NO-SUCH", public(404)),
    ("GET", "/v1/batches/{batch_id}/events"): Case("/v1/batches/NO-SUCH/events", public(404)),
    ("GET", "/v1/batches/{batch_id}/trace"): Case("/v1/batches/NO-SUCH/trace", public(404)),
    ("POST", "/v1/events"): Case("/v1/events", public(422), body=lambda _who: {"not": "signed"}),
    ("GET", "/handheld"): Case("/handheld", public(200)),
    ("GET", "/handheld/catalogue.json"): Case("/handheld/catalogue.json", public(200)),
    ("GET", "/handheld/sw.js"): Case("/handheld/sw.js", public(200)),
    ("GET", "/handheld/event-body.schema.json"): Case(
        "/handheld/event-body.schema.json", public(200)
    ),
    ("GET", "/v1/alerts"): Case(f"/v1/alerts?organisation={ORG_A}", org_a_readers(200)),
    ("GET", "/v1/alerts/{alert_id}"): Case(
        f"/v1/alerts/NO-SUCH?organisation={ORG_A}", {**org_a_readers(404), "operator_a": 403}
    ),
    ("GET", "/v1/recalls"): Case(f"/v1/recalls?organisation={ORG_A}", org_a_readers(200)),
    ("POST", "/v1/recalls"): Case(
        "/v1/recalls",
        {**dict.fromkeys(WHO, 403), "anonymous": 401, "regulator": 404},
        body=lambda _who: {"batch": "NO-SUCH", "level": "I", "reason": "matrix"},
    ),
    # the regulator's desk (api/routes/regulator.py)
    ("GET", "/regulator"): Case("/regulator", public(200)),
    ("GET", "/v1/resolve"): Case("/v1/resolve?code=NO-SUCH", regulators_only(404)),
    ("GET", "/v1/batches/{batch_id}/lineage"): Case(
        "/v1/batches/NO-SUCH/lineage", regulators_only(404)
    ),
    ("GET", "/v1/batches/{batch_id}/lineage.svg"): Case(
        "/v1/batches/NO-SUCH/lineage.svg", regulators_only(404)
    ),
    ("GET", "/v1/log/checkpoints"): Case("/v1/log/checkpoints", public(200)),
    ("GET", "/v1/log/bundle"): Case("/v1/log/bundle", regulators_only(200)),
}


def known_product(link: DigitalLink) -> ProductFacts:
    """A facts lookup that knows one batch and its unit."""
    if (link.gtin, link.lot) != (GTIN, LOT) or link.serial not in (None, SERIAL):
        raise NotFound("not recorded")
    return ProductFacts(gtin=link.gtin, lot=LOT, serial=link.serial, herb="renshen")


@pytest.fixture(name="matrix_api", scope="module")
def _matrix_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Callers]]:
    """One app on a SQLite log of two entries under a checkpoint, with every kind of user."""
    path: Path = tmp_path_factory.mktemp("matrix") / "herbtrace.db"
    settings = api_settings(f"sqlite:///{path}")
    engine = make_engine(settings.database_url)
    initialise(settings, engine)
    callers = Callers.create(engine)
    users.create_user(engine, VICTIM, "operator", ORG_A)
    with Ledger(settings, engine) as ledger:
        signer = support.TestSigner()
        signer.register(engine)
        assert all(r.status == "accepted" for r in ledger.append([signer.next(), signer.next()]))
        ledger.checkpointer.issue(engine)
    with TestClient(create_app(settings, facts_lookup=known_product)) as client:
        yield client, callers
    engine.dispose()


def test_every_route_is_in_the_matrix() -> None:
    """Each API route of the app has a matrix row, and each row names a route that exists."""
    routes = set(route_policies(create_app()))
    missing = sorted(routes - set(MATRIX))
    stale = sorted(set(MATRIX) - routes)
    assert not missing, f"add these routes to MATRIX (and docs/api.md): {missing}"
    assert not stale, f"these MATRIX rows name no route: {stale}"


def test_every_route_declares_a_policy() -> None:
    """Each API route depends on the one authoriser (Public or require(...))."""
    unguarded = [key for key, policy in route_policies(create_app()).items() if policy is None]
    assert unguarded == []


CASES = [(key, who) for key in MATRIX for who in WHO]


@pytest.mark.parametrize(("key", "who"), CASES, ids=[f"{m} {p} as {w}" for (m, p), w in CASES])
def test_matrix(matrix_api: tuple[TestClient, Callers], key: tuple[str, str], who: str) -> None:
    """Each kind of caller gets exactly the matrix's status; refusals are JSON with a reason."""
    client, callers = matrix_api
    case = MATRIX[key]
    url = case.url(callers) if callable(case.url) else case.url
    response = client.request(
        key[0],
        url,
        headers={**case.headers, **callers.headers(who)},
        json=case.body(who) if case.body else None,
    )
    expected = case.expect[who]
    assert response.status_code == expected, response.text
    if expected in (401, 403):
        body = response.json()
        assert body["error"] == {401: "unauthenticated", 403: "forbidden"}[expected]
        assert body["reason"]
    if expected == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_docs_table_lists_every_route() -> None:
    """docs/api.md has a matrix row for every route, with the policy the code enforces."""
    doc = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    for (method, path), policy in route_policies(create_app()).items():
        assert policy is not None
        row = f"| `{method} {path}` | {policy.describe()} |"
        assert row in doc, f"docs/api.md lacks the row: {row}"
