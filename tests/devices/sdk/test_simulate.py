"""The simulators: valid domain bodies per scenario, device preparation, and clear CLI errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mqtt_helpers import BrokerFixture
from support import run_herbtrace

from devices.simulate import SCENARIOS, SimulationPlan, load_credentials, prepare_devices
from devices.simulate.runner import device_dir
from schemas.events import parse_body
from traceability.errors import InvalidInput
from traceability.log.note import NoteSigner

NOW = "2026-09-20T08:30:00.250Z"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario_bodies_are_valid_domain_events(scenario: str) -> None:
    """Every body a scenario makes validates as a domain event, the same on every call."""
    make = SCENARIOS[scenario].make
    device_id = "4e46f732106148cb04d355983d546c8b"
    types = set()
    for index in range(3):
        for n in range(1, 41):
            body = make(index, device_id, n, NOW)
            parse_body(body)
            assert make(index, device_id, n, NOW) == body
            types.add(body["type"])
    expected = {
        "handheld": {"planting", "cultivation_input", "harvest", "ship"},
        "drying-room": {"sensor_reading"},
        "cold-chain": {"sensor_reading"},
        "demo": {"planting", "cultivation_input", "harvest", "ship", "sensor_reading"},
    }
    assert types == expected[scenario]


def test_handheld_story_links_its_batches() -> None:
    """A handheld's harvest names the planting it recorded, and its shipment that harvest."""
    make = SCENARIOS["handheld"].make
    device_id = "ab" * 16
    planting, _, harvest, ship = (make(0, device_id, n, NOW) for n in range(1, 5))
    assert harvest["origin"] == planting["batch"]
    assert ship["batches"] == [harvest["batch"]]
    assert device_id[:12] in planting["batch"]


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
    """`device simulate --init-only` creates the keys and prints one JSON line per device."""
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
