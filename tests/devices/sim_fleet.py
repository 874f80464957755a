"""Simulated fleets on a test log: the demo's registrations, then devices enrolled as their
scenario says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mqtt_helpers import BrokerFixture
from sqlalchemy.engine import Engine

from devices.simulate import SCENARIOS, prepare_devices
from devices.simulate.scenarios import LaneScript
from traceability.demo.seed import seed_events
from traceability.demo.stories import registrations
from traceability.domain.service import Domain
from traceability.settings import Settings


def register_demo_places(settings: Settings) -> int:
    """Record the demo's organisations and sites through the rules; the log's size after."""
    with Domain(settings) as domain:
        results = seed_events(domain, len(registrations()))
        assert all(r.status == "accepted" for r in results), results
        return domain.ledger.size()


def enrol_fleet(
    engine: Engine, broker: BrokerFixture, root: Path, scenario: str, devices: int
) -> dict[str, str]:
    """Create devices 0 … devices-1 in `root` and enrol each in its scenario party's
    organisation, site and role; return device ID → broker password."""
    chosen = SCENARIOS[scenario]
    passwords = {}
    for index, identity in enumerate(prepare_devices(root, 0, devices)):
        enrolment = chosen.enrolment(index)
        credentials = broker.enrol(
            engine,
            identity.public_key,
            organisation=enrolment.organisation,
            site=enrolment.site,
            role=enrolment.role,
        )
        passwords[identity.device_id] = credentials.password
    return passwords


def handheld_bodies(lane: int, count: int) -> list[dict[str, Any]]:
    """The first `count` bodies of lane `lane` of the `handheld` scenario: valid under the
    rules for a device enrolled as `handheld_enrolment()` says, waiting for no other."""
    script = LaneScript(SCENARIOS["handheld"], lane, {"fusong"}, 0)
    bodies = []
    for n in range(1, count + 1):
        item = script.event("fusong", n)
        assert item is not None
        bodies.append(item.event.body)
    return bodies


def handheld_enrolment() -> dict[str, str]:
    """The organisation and site a `handheld` device is enrolled in."""
    enrolment = SCENARIOS["handheld"].enrolment(0)
    return {"organisation": enrolment.organisation, "site": enrolment.site}
