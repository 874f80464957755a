"""A hostile organisation operator: it tries to act for another organisation on every write
route, to enrol keys for others or in roles its kind cannot hold, and the two attack chains
of the hostile-parties issue. Judged by effect: no entry of a party's signer appeared in the
log, no key was registered, the victims' batches, devices, users and tokens did not change.

The hostile party is the processor's operator (`op-plant`, of org-jian-processor); the
victims are the cooperative (org-fusong-coop), which holds a harvested batch, and the
laboratory (org-jilin-lab), whose inspector failed a batch the processor holds.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, get_args

import pytest
import sqlalchemy as sa
from domain.story import LAB
from resource_support import COOP, PLANT, ResourceApi, body, open_resource_api
from support import TestSigner

from api.deps import route_policies
from api.main import create_app
from schemas.events.registry import OrganisationKind
from traceability import users
from traceability.domain.roles import KIND_ROLES
from traceability.enrolment import enrol_device, list_devices
from traceability.errors import UnknownSigner
from traceability.log.signers import get_signer, list_signers

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HOSTILE = "plant"  # resource_support's operator of PLANT
HARVEST = "FS-RS-2026-002"  # a second harvest the cooperative holds
FAILED = "JA-HS-2026-001"  # the processor's 红参, failed by the laboratory


@dataclass
class Scene:
    """The app, the world, and the victims' device the hostile operator aims at."""

    api: ResourceApi
    victim_device: str

    def party_entries(self) -> int:
        """Log entries signed by anyone but herbtrace's own rules signer (alerts excluded)."""
        with self.api.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM log_entries e JOIN signers s ON s.key_id = e.signer"
                        " WHERE s.role <> 'system'"
                    )
                ).scalar_one()
            )

    def state(self) -> dict[str, Any]:
        """Everything a hostile write could change, to compare before and after."""
        engine = self.api.engine
        batches = {
            b: {
                k: v
                for k, v in self.api.get(f"/v1/batches/{b}").json().items()
                if k in ("owner", "custodian", "status", "quality", "shipment")
            }
            for b in (HARVEST, FAILED)
        }
        return {
            "entries": self.party_entries(),
            "batches": batches,
            "signers": sorted(
                (s.key_id, s.organisation, s.role, s.status) for s in list_signers(engine)
            ),
            "devices": sorted(
                (d.device_id, d.organisation, d.status) for d in list_devices(engine)
            ),
            "users": sorted((u.name, u.role, u.organisation) for u in users.list_users(engine)),
            "tokens": sorted(
                (t.id, t.revoked_at is None) for t in users.list_tokens(engine, "op-coop")
            ),
        }


@pytest.fixture(name="scene")
def _scene(db_url: str) -> Iterator[Scene]:
    """The story up to a harvest held by the co-op and a failed 红参 held by the processor,
    plus a device of the co-op (the victim) and one of the processor (the hostile's own)."""
    with open_resource_api(db_url) as api:
        world = api.world
        world.red_ginseng()  # grows FS-PL-2020-001 → FS-RS-2026-001 …, steams JA-HS-2026-001
        world.ok(COOP, body("harvest", batch=HARVEST))
        world.ok(LAB, body("quality_test", result="fail"), "inspector")
        victim = TestSigner()
        enrol_device(
            api.engine, public_key=victim.public_key, organisation=COOP, site="site-fusong-wanliang"
        )
        users.issue_token(api.engine, "op-coop", "the co-op's own")
        world.signer(PLANT)  # the hostile operator's own device, registered beforehand
        yield Scene(api, victim.key_id)


def new_key() -> tuple[TestSigner, str]:
    """A fresh key pair of the attacker's, and its public half in standard base64."""
    signer = TestSigner()
    return signer, base64.b64encode(signer.public_key).decode()


Attempt = tuple[str, dict[str, Any] | None]
"""A request of the route's method: the URL with its query, and the JSON body or None."""


def _mismatches(url: str, make_body: Callable[[str], dict[str, Any] | None]) -> list[Attempt]:
    """The URL and body with the organisation mismatched every way: query own / body theirs,
    query theirs / body own, both theirs, the query twice, and no query with the body theirs."""
    join = "&" if "?" in url else "?"
    out: list[Attempt] = []
    for query, in_body in [
        (f"organisation={PLANT}", COOP),
        (f"organisation={COOP}", PLANT),
        (f"organisation={COOP}", COOP),
        (f"organisation={PLANT}&organisation={COOP}", PLANT),
        ("", COOP),
    ]:
        out.append((f"{url}{join}{query}" if query else url, make_body(in_body)))
    return out


def _with_org(fields: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
    """A body of `fields` that also names an organisation (an extra member where none fits)."""
    return lambda org: {**fields, "organisation": org}


def _events(scene: Scene) -> list[Attempt]:
    """Signed by the processor's own device: ship the co-op's harvest to itself."""
    own = scene.api.world.signer(PLANT)
    out: list[Attempt] = []
    for url, _none in _mismatches("/v1/events", lambda _org: None):
        event = body("ship", shipment="SHP-HOSTILE", batches=[HARVEST], to=PLANT, carrier=None)
        out.append((url, own.sign(own.payload(event), advance=False)))
    return out


def _enrol(_scene: Scene) -> list[Attempt]:
    return _mismatches(
        "/v1/devices",
        lambda org: {
            "public_key": new_key()[1],
            "organisation": org,
            "site": "site-fusong-wanliang" if org == COOP else "site-jian-plant",
            "role": "device",
        },
    )


WRITE_CASES: dict[tuple[str, str], Callable[[Scene], list[Attempt]]] = {
    ("POST", "/v1/devices"): _enrol,
    ("POST", "/v1/devices/{device_id}/revoke"): lambda s: [
        (f"/v1/devices/{s.victim_device}/revoke", None),  # the path names the victim's device
        *_mismatches(f"/v1/devices/{s.victim_device}/revoke", _with_org({})),
    ],
    ("POST", "/v1/events"): _events,
    ("POST", "/v1/recalls"): lambda _s: _mismatches(
        "/v1/recalls", _with_org({"batch": HARVEST, "level": "I", "reason": "hostile"})
    ),
    ("POST", "/v1/scans"): lambda _s: _mismatches(
        "/v1/scans", _with_org({"gtin": "06901234567892", "lot": "FS2026A", "serial": "0001"})
    ),
    ("POST", "/v1/users"): lambda _s: _mismatches(
        "/v1/users", lambda org: {"name": "mole", "role": "operator", "organisation": org}
    ),
    ("POST", "/v1/users/{name}/tokens"): lambda _s: _mismatches(
        "/v1/users/op-coop/tokens", _with_org({"label": "hostile"})
    ),
    ("DELETE", "/v1/tokens/{token_id}"): lambda s: _mismatches(
        f"/v1/tokens/{users.list_tokens(s.api.engine, 'op-coop')[0].id}", lambda _org: None
    ),
    ("POST", "/v1/me/token"): lambda _s: _mismatches("/v1/me/token", lambda _org: None),
    ("DELETE", "/v1/me/token"): lambda _s: _mismatches("/v1/me/token", lambda _org: None),
}
"""Every write route, with the hostile operator's mismatched attempts on it."""

MAY_SUCCEED = {("POST", "/v1/me/token"), ("DELETE", "/v1/me/token")}
"""Routes where the caller acts only on itself (its own token), whatever organisation it names."""


def test_every_write_route_has_a_hostile_case() -> None:
    """A new write route without a case here fails this test."""
    routes = {key for key in route_policies(create_app()) if key[0] in WRITE_METHODS}
    assert routes == set(WRITE_CASES), (
        f"missing: {sorted(routes - set(WRITE_CASES))}, stale: {sorted(set(WRITE_CASES) - routes)}"
    )


def test_a_hostile_operator_changes_nothing_through_any_write_route(scene: Scene) -> None:
    """On every write route, with the organisation mismatched in query and body every way, the
    hostile operator gets a 4xx (never a 5xx), and nothing of anyone else changes."""
    before = scene.state()
    answers: list[str] = []
    for (method, route), attempts in WRITE_CASES.items():
        for url, payload in attempts(scene):
            response = scene.api.client.request(
                method, url, json=payload, headers=scene.api.headers(HOSTILE)
            )
            answers.append(f"{method} {url}: {response.status_code}")
            if (method, route) not in MAY_SUCCEED:
                assert 400 <= response.status_code < 500, (url, payload, response.text)
            assert response.status_code < 500, response.text
    assert scene.state() == before, answers


def test_a_mismatched_organisation_is_a_clear_422(scene: Scene) -> None:
    """Query and body naming different organisations: 422 `conflicting_input` saying so, for
    an operator acting for its own in either place, and for an admin."""
    for who, query, in_body in [
        (HOSTILE, PLANT, COOP),
        (HOSTILE, COOP, PLANT),
        ("admin", PLANT, COOP),
    ]:
        site = "site-fusong-wanliang" if in_body == COOP else "site-jian-plant"
        response = scene.api.client.post(
            f"/v1/devices?organisation={query}",
            json={"public_key": new_key()[1], "organisation": in_body, "site": site},
            headers=scene.api.headers(who),
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "conflicting_input"
        assert "more than one organisation" in response.json()["reason"]


def test_an_operator_enrols_keys_only_for_its_own_organisation(scene: Scene) -> None:
    """The same key request is refused for the co-op and accepted for the processor itself."""
    theirs, theirs_b64 = new_key()
    for query in ("", f"?organisation={COOP}"):
        response = scene.api.client.post(
            f"/v1/devices{query}",
            json={"public_key": theirs_b64, "organisation": COOP, "site": "site-fusong-wanliang"},
            headers=scene.api.headers(HOSTILE),
        )
        assert response.status_code == 403, response.text
    with pytest.raises(UnknownSigner):
        get_signer(scene.api.engine, theirs.key_id)
    mine, mine_b64 = new_key()
    response = scene.api.client.post(
        "/v1/devices",
        json={"public_key": mine_b64, "organisation": PLANT, "site": "site-jian-plant"},
        headers=scene.api.headers(HOSTILE),
    )
    assert response.status_code == 201, response.text
    assert get_signer(scene.api.engine, mine.key_id).organisation == PLANT


def test_the_roles_table_covers_every_organisation_kind() -> None:
    """A new organisation kind without its row of roles fails here, so no kind is left to
    hold every role by omission; no kind holds herbtrace's own admin, importer or system."""
    assert set(KIND_ROLES) == set(get_args(OrganisationKind))
    assert all(roles.isdisjoint({"admin", "importer", "system"}) for roles in KIND_ROLES.values())


@pytest.mark.parametrize(
    ("organisation", "site", "role", "status"),
    [
        (PLANT, "site-jian-plant", "inspector", 403),  # a processor has no inspectors
        (COOP, "site-fusong-wanliang", "inspector", 403),  # nor a co-op
        (LAB, "site-jilin-lab", "inspector", 201),  # a laboratory has
        (LAB, "site-jilin-lab", "device", 201),
    ],
)
def test_keys_are_enrolled_only_in_roles_the_organisations_kind_may_hold(
    scene: Scene, organisation: str, site: str, role: str, status: int
) -> None:
    """By the organisation's own operator or by an admin: an inspector key only for a
    testing laboratory (the roles by kind are traceability/domain/roles.py's table)."""
    engine = scene.api.engine
    users.create_user(engine, "op-own", "operator", organisation)
    token = users.issue_token(engine, "op-own", "test").token
    for headers in ({"Authorization": f"Bearer {token}"}, scene.api.headers("admin")):
        key, key_b64 = new_key()
        response = scene.api.client.post(
            "/v1/devices",
            json={"public_key": key_b64, "organisation": organisation, "site": site, "role": role},
            headers=headers,
        )
        assert response.status_code == status, response.text
        registered = {s.key_id for s in list_signers(engine)}
        assert (key.key_id in registered) == (status == 201)
        if status == 403:
            assert "may hold the roles" in response.json()["reason"]


def _enrolments(scene: Scene, organisation: str, site: str, role: str) -> list[TestSigner]:
    """Every way the hostile operator tries to enrol a key for `organisation` in `role`;
    return the keys (whether or not the server took them)."""
    keys = []
    for query in ("", f"?organisation={PLANT}", f"?organisation={organisation}"):
        key, key_b64 = new_key()
        scene.api.client.post(
            f"/v1/devices{query}",
            json={"public_key": key_b64, "organisation": organisation, "site": site, "role": role},
            headers=scene.api.headers(HOSTILE),
        )
        keys.append(key)
    return keys


def test_the_chain_ship_anothers_batch_to_itself_and_receive_it_fails(scene: Scene) -> None:
    """The hostile operator enrols keys "for the co-op" every way, ships the co-op's harvest
    to itself with each (and with its own device) and receives it: the harvest stays the
    co-op's, and no entry appears."""
    before = scene.state()
    keys = _enrolments(scene, COOP, "site-fusong-wanliang", "device")
    keys.append(scene.api.world.signer(PLANT))
    for n, key in enumerate(keys):
        shipment = f"SHP-STOLEN-{n}"
        ship = body("ship", shipment=shipment, batches=[HARVEST], to=PLANT, carrier=None)
        receive = body(
            "receive", shipment=shipment, batches=[HARVEST], sender=COOP, site="site-jian-plant"
        )
        for event in (ship, receive):
            envelope = key.sign(key.payload(event))
            response = scene.api.client.post("/v1/events", json=envelope)
            assert response.status_code == 422, response.text
    after = scene.state()
    assert after["batches"][HARVEST] == before["batches"][HARVEST]
    assert after["batches"][HARVEST]["custodian"] == COOP
    assert after["entries"] == before["entries"]


def test_the_chain_register_a_lab_inspector_and_pass_ones_own_failed_batch_fails(
    scene: Scene,
) -> None:
    """The hostile operator enrols inspector keys for the laboratory and for itself every
    way, then signs a passing test of its own failed 红参 with each (and with its own
    device): the batch stays failed, and no entry appears."""
    before = scene.state()
    assert before["batches"][FAILED]["quality"] == "failed"
    keys = _enrolments(scene, LAB, "site-jilin-lab", "inspector")
    keys += _enrolments(scene, PLANT, "site-jian-plant", "inspector")
    keys.append(scene.api.world.signer(PLANT))
    for key in keys:
        passing = body("quality_test", batch=FAILED, report_no="FORGED-1", result="pass")
        response = scene.api.client.post("/v1/events", json=key.sign(key.payload(passing)))
        assert response.status_code == 422, response.text
    after = scene.state()
    assert after["batches"][FAILED]["quality"] == "failed"
    assert after["entries"] == before["entries"]
    assert after["signers"] == before["signers"]
