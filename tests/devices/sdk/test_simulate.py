"""The simulators: valid domain bodies per scenario, device preparation, and clear CLI errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mqtt_helpers import BrokerFixture
from support import run_herbtrace

from devices.simulate import SCENARIOS, SimulationPlan, load_credentials, prepare_devices
from devices.simulate.runner import device_dir
from devices.simulate.scenarios import LaneScript
from schemas.events import parse_body
from traceability.errors import InvalidInput
from traceability.log.note import NoteSigner


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario_bodies_are_valid_domain_events(scenario: str) -> None:
    """Every body a scenario's devices record validates as a domain event, the same each time."""
    chosen = SCENARIOS[scenario]
    labels = {p.label for p in chosen.parties}
    types = set()
    for lane in range(2):
        script, again = (LaneScript(chosen, lane, labels, 40) for _ in range(2))
        for party in chosen.parties:
            for n in range(1, 41):
                item = script.event(party.label, n)
                if item is None:
                    break
                parse_body(item.event.body)
                twin = again.event(party.label, n)
                assert twin is not None
                assert twin.event.body == item.event.body
                types.add(item.event.body["type"])
    grower = {"planting", "cultivation_input", "harvest", "fresh_processing", "ship"}
    expected = {
        "handheld": grower,
        "drying-room": grower | {"sensor_reading"},
        "cold-chain": grower | {"sensor_reading"},
        "demo": grower
        | {"receive", "processing", "quality_test", "split", "pack", "sensor_reading"}
        | {"retail_sale", "merge", "husbandry"},
    }
    assert types == expected[scenario]


def _batches(body: dict[str, Any]) -> set[str]:
    named = [body.get("batch"), body.get("origin"), *body.get("batches", [])]
    named += [b["batch"] for key in ("inputs", "outputs") for b in body.get(key, [])]
    return {b for b in named if isinstance(b, str)}


def test_lanes_and_scenarios_never_share_a_batch() -> None:
    """Two lanes of a scenario, and two scenarios, record on batches of their own."""
    seen: dict[tuple[str, int], set[str]] = {}
    for name, chosen in SCENARIOS.items():
        for lane in (0, 1):
            script = LaneScript(chosen, lane, {p.label for p in chosen.parties}, 30)
            batches: set[str] = set()
            for party in chosen.parties:
                n = 1
                while (item := script.event(party.label, n)) is not None:
                    batches |= _batches(item.event.body)
                    n += 1
            assert batches
            for other, theirs in seen.items():
                assert not batches & theirs, (name, lane, other)
            seen[(name, lane)] = batches


def test_a_sensor_reads_only_batches_its_own_side_recorded_before() -> None:
    """A sensor's reading waits for its lane's handheld, which recorded the batch it names."""
    for name in ("drying-room", "cold-chain"):
        chosen = SCENARIOS[name]
        handheld, sensor = (p.label for p in chosen.parties)
        script = LaneScript(chosen, 0, {handheld, sensor}, 100)
        recorded: set[str] = set()
        n = 1
        while (item := script.event(handheld, n)) is not None:
            recorded |= _batches(item.event.body)
            n += 1
        n = 1
        while (item := script.event(sensor, n)) is not None:
            body = item.event.body
            assert body["type"] == "sensor_reading"
            assert set(body["batches"]) <= recorded
            assert item.after is not None
            assert item.after.party == handheld
            n += 1
        assert n > 10
        assert chosen.enrolment(1).organisation == chosen.enrolment(0).organisation


def test_a_device_stops_where_its_story_cannot_go_on() -> None:
    """Without the laboratory's device, the demo's processor stops before the events that
    wait for a test; the grower, who waits for no one, records all its events."""
    chosen = SCENARIOS["demo"]
    present = {"fusong", "jian"}
    assert LaneScript(chosen, 0, present, 50).planned("fusong") == 50
    stopped = LaneScript(chosen, 0, present, 50).planned("jian")
    assert 0 < stopped < 10
    assert LaneScript(chosen, 0, present, 50).planned("lab") == 0


def test_prepare_devices_is_idempotent(tmp_path: Path) -> None:
    """Preparing devices twice keeps their keys; only missing devices get new ones."""
    first = prepare_devices(tmp_path, 0, 2)
    again = prepare_devices(tmp_path, 0, 3)
    assert again[:2] == first
    assert len({i.device_id for i in again}) == 3
    assert (device_dir(tmp_path, 2) / "device.key").exists()


def test_plan_refuses_unknown_scenarios(tmp_path: Path) -> None:
    """An unknown scenario or a negative rate is InvalidInput naming the choices."""
    with pytest.raises(InvalidInput, match="handheld"):
        SimulationPlan(root=tmp_path, log_key=None, credentials={}, scenario="tractor")
    with pytest.raises(InvalidInput, match="rate"):
        SimulationPlan(root=tmp_path, log_key=None, credentials={}, rate=-1)


def test_credentials_file_must_map_ids_to_passwords(tmp_path: Path) -> None:
    """A credentials file that is not a JSON object of strings is refused clearly."""
    path = tmp_path / "credentials.json"
    path.write_text('{"' + "a" * 32 + '": "pw"}')
    assert load_credentials(path) == {"a" * 32: "pw"}
    for text in ("[1, 2]", '{"id": 5}', "not json"):
        path.write_text(text)
        with pytest.raises(InvalidInput, match="credentials"):
            load_credentials(path)


def test_init_only_prints_the_devices(tmp_path: Path) -> None:
    """`device simulate --init-only` creates the keys and prints one JSON line per device,
    with the organisation, site and role to enrol it with."""
    result = run_herbtrace(
        ["device", "simulate", "--dir", "sim", "--devices", "3", "--first", "2", "--init-only"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["index"] for line in lines] == [2, 3, 4]
    expected = prepare_devices(tmp_path / "sim", 2, 3)
    assert [line["device_id"] for line in lines] == [i.device_id for i in expected]
    assert [line["public_key"] for line in lines] == [i.public_key_b64 for i in expected]
    demo = SCENARIOS["demo"]
    for line in lines:
        party = demo.party(line["index"])
        assert line["organisation"] == party.signer.organisation
        assert line["site"] == party.site
        assert line["role"] == party.signer.role


def test_simulate_without_credentials_for_a_device(tmp_path: Path, broker: BrokerFixture) -> None:
    """A device missing from the credentials file stops the run with a clear error."""
    (tmp_path / "credentials.json").write_text("{}")
    args = ["device", "simulate", "--dir", "sim", "--credentials", "credentials.json"]
    args += ["--broker-port", str(broker.port), "--log-key", "test.herbtrace/log+0+AA"]
    result = run_herbtrace(args, cwd=tmp_path)
    assert result.returncode == 1
    assert "not a log verifier key" in result.stderr
    key = NoteSigner.generate("test.herbtrace/log").verifier().to_vkey()
    result = run_herbtrace([*args[:-1], key], cwd=tmp_path)
    assert result.returncode == 1
    assert "no broker credentials for device 0" in result.stderr
