"""POST /v1/scans on the demo's real records: first scans, counterfeit warnings with one alert
listed for regulators, resolver lookups that never count, bad input refused, rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from api_support import client_from
from consumer_support import RED_GINSENG_GTIN, SOLD, SOLD_BATCH, UNSOLD, seeded_settings
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.main import create_app
from traceability import users
from traceability.domain.units import subject_of
from traceability.scans.store import scans
from traceability.settings import Settings
from traceability.storage.db import make_engine

PACKED_EVENTS = 40  # through story 0's first sales at the pharmacy
CHANGCHUN = {"lat": 43.8868, "lon": 125.3245}
GUANGZHOU = {"lat": "23.1291", "lon": "113.2644"}


def scan_of(path: str, place: dict[str, Any] | None = None) -> dict[str, Any]:
    """The scan body the page posts for the unit at `path` (/01/G/10/L/21/S)."""
    _, _, gtin, _, lot, _, serial = path.split("/")
    return {"gtin": gtin, "lot": lot, "serial": serial} | ({"place": place} if place else {})


@dataclass
class Api:
    """An app on a seeded database, a client per client address, and the database."""

    client: TestClient
    engine: Engine
    settings: Settings

    def from_address(self, address: str) -> TestClient:
        """A client of the same app calling from `address`."""
        return client_from(self.client, (address, 40000))

    def scan(self, path: str, address: str = "203.0.113.5", place: Any = None) -> Any:
        """Post a scan of the unit at `path` from `address`; return the response."""
        return self.from_address(address).post("/v1/scans", json=scan_of(path, place))

    def stored(self) -> list[dict[str, Any]]:
        """Every stored scan."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(scans))]

    def regulator(self) -> dict[str, str]:
        """Headers of a regulator with a fresh token."""
        name = f"reg-{len(users.list_users(self.engine))}"
        users.create_user(self.engine, name, "regulator")
        return {"Authorization": f"Bearer {users.issue_token(self.engine, name).token}"}


@pytest.fixture(name="api")
def _api(tmp_path: Any) -> Iterator[Api]:
    """The app on a database with story 0's 红参 units, warning above 3 scanners or 300 km."""
    settings = seeded_settings(tmp_path, PACKED_EVENTS, scan_warn_count=3)
    engine = make_engine(settings.database_url)
    with TestClient(create_app(settings)) as client:
        yield Api(client, engine, settings)
    engine.dispose()


def test_the_first_scan_is_reported_to_later_scanners(api: Api) -> None:
    """The first scan answers number 1; a later one reports that first scan's time and place."""
    before = datetime.now(UTC).replace(microsecond=0)
    first = api.scan(SOLD, place=CHANGCHUN)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["number"], body["scanners"], body["warnings"]) == (1, 1, [])
    assert body["place"] == {"lat": "43.9", "lon": "125.3"}
    at = datetime.strptime(body["first"]["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= at <= datetime.now(UTC)
    later = api.scan(SOLD, address="198.51.100.9").json()
    assert later["number"] == 2
    assert later["first"] == {"at": body["first"]["at"], "place": {"lat": "43.9", "lon": "125.3"}}
    assert later["place"] is None


def test_resolving_the_link_is_not_a_scan(api: Api) -> None:
    """JSON lookups (handhelds, regulators' tools) and the page itself record no scan."""
    for accept in ("application/json", "application/json", "text/html"):
        assert api.client.get(SOLD, headers={"Accept": accept}).status_code == 200
    assert api.stored() == []
    assert api.scan(SOLD).json()["number"] == 1


def test_too_many_scanners_warn_and_one_alert_is_listed_for_regulators(api: Api) -> None:
    """The fourth distinct network gets the warning; regulators see exactly one alert."""
    answers = [api.scan(SOLD, address=f"198.51.{n}.20").json() for n in range(6)]
    assert [a["warnings"] for a in answers[:3]] == [[], [], []]
    assert answers[3]["warnings"] == [{"signal": "many_scanners", "observed": 4, "limit": 3}]
    assert [a["alerted"] for a in answers] == [False, False, False, True, True, True]
    listed = api.client.get("/v1/alerts?kind=counterfeit_scan", headers=api.regulator()).json()[
        "items"
    ]
    assert len(listed) == 1
    [alert] = listed
    assert alert["batch"] == SOLD_BATCH
    assert alert["subject"] == subject_of(RED_GINSENG_GTIN, SOLD.rsplit("/", 1)[1])
    assert alert["evidence"]["scanners"] == 4
    assert alert["logged_index"] is not None
    other = api.scan(UNSOLD).json()  # the batch's other units are not warned about
    assert (other["number"], other["warnings"], other["alerted"]) == (1, [], False)


def test_far_apart_places_warn(api: Api) -> None:
    """A scan in 广州 after one in 长春 warns that the places are over 300 km apart; the
    places are the browser's claim, so regulators get no alert."""
    api.scan(SOLD, place=CHANGCHUN)
    far = api.scan(SOLD, address="198.51.100.9", place=GUANGZHOU).json()
    [warning] = far["warnings"]
    assert warning["signal"] == "far_apart"
    assert warning["observed"] == far["far_km"] > 2000
    assert warning["limit"] == 300
    assert not far["alerted"]


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (scan_of(SOLD, {"lat": 95, "lon": 120}), 400, "latitude must be between -90 and 90"),
        (scan_of(SOLD, {"lat": "43.9", "lon": "east"}), 400, "longitude must be a number"),
        (scan_of(SOLD, {"lat": 43.9}), 422, "place.lon"),
        (scan_of(SOLD) | {"ip": "203.0.113.5"}, 422, "ip"),
        (scan_of(SOLD) | {"serial": ""}, 422, "serial"),
        (scan_of(SOLD) | {"gtin": "09520123000111"}, 400, "check digit"),
        (scan_of(SOLD) | {"serial": "RS99999999999"}, 404, "no unit is recorded"),
        (scan_of(SOLD) | {"lot": "HS269999999"}, 404, "no unit is recorded"),
    ],
)
def test_bad_scans_are_refused_and_record_nothing(
    api: Api, body: dict[str, Any], status: int, reason: str
) -> None:
    """A malformed place, an unknown field, a bad GTIN or an unknown unit gets its 4xx with a
    reason; nothing is stored, and the next valid scan is the first."""
    response = api.client.post("/v1/scans", json=body)
    assert response.status_code == status, response.text
    assert reason in response.json()["reason"]
    assert api.stored() == []
    assert api.scan(SOLD).json()["number"] == 1


def test_no_address_is_stored_or_returned(api: Api) -> None:
    """Neither the answer nor the stored scan carries the client's address."""
    response = api.scan(SOLD, address="203.0.113.77")
    assert "203.0.113" not in response.text
    [row] = api.stored()
    assert "203.0.113" not in str(row)


def test_scans_are_rate_limited(tmp_path: Any) -> None:
    """Anonymous scans beyond the public burst get 429 with Retry-After; nothing more is kept."""
    settings = seeded_settings(tmp_path, PACKED_EVENTS, public_burst=3, public_rate=0.01)
    with TestClient(create_app(settings)) as client:
        codes = [client.post("/v1/scans", json=scan_of(SOLD)).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        refused = client.post("/v1/scans", json=scan_of(SOLD))
        assert int(refused.headers["Retry-After"]) >= 1
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(scans)).scalar() == 3
    engine.dispose()
