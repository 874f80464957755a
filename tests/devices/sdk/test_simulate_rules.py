"""Simulations through the gateway with the domain rules on, set up as an operator would.

The log is created and the demo's organisations and sites registered with the CLI, each
simulated device enrolled with `herbtrace device enroll` as `device simulate --init-only`
says, and `herbtrace ingest` runs with its rules. Every receipt is `accepted`, and
afterwards the log verifies and its rebuilt indexes equal the gateway's.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest_helpers import GatewayProcess, gateway_env
from mqtt_helpers import BrokerFixture
from sdk_log_checks import assert_complete_chain
from sim_fleet import enrol_fleet
from support import run_herbtrace

from devices.simulate.runner import planned_events
from traceability.storage.db import make_engine

EVENTS = 30


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a command that must succeed."""
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _enrol_by_cli(
    tmp_path: Path, env: dict[str, str], scenario: str, devices: int, folder: str
) -> dict[str, str]:
    """`device simulate --init-only`, then `device enroll` as each line says; the passwords."""
    args = ["device", "simulate", "--init-only", "--scenario", scenario]
    args += ["--devices", str(devices), "--dir", folder]
    lines = _ok(run_herbtrace(args, tmp_path)).splitlines()
    passwords = {}
    for line in map(json.loads, lines):
        args = ["device", "enroll", "--public-key", line["public_key"]]
        args += ["--organisation", line["organisation"], "--site", line["site"]]
        args += ["--role", line["role"], "--name", line["name"]]
        enrolled = _ok(run_herbtrace(args, tmp_path, **env))
        found = re.search(r"broker password: (\S+)", enrolled)
        assert found is not None, enrolled
        passwords[line["device_id"]] = found.group(1)
    return passwords


def _simulate(
    tmp_path: Path, broker: BrokerFixture, log_key: str, scenario: str, devices: int, folder: str
) -> dict[str, Any]:
    credentials = tmp_path / f"{folder}.json"
    args = ["device", "simulate", "--dir", folder, "--scenario", scenario]
    args += ["--devices", str(devices), "--events", str(EVENTS), "--rate", "0"]
    args += ["--broker-port", str(broker.port), "--log-key", log_key]
    args += ["--credentials", credentials.name, "--timeout", "100", "--json"]
    report: dict[str, Any] = json.loads(_ok(run_herbtrace(args, tmp_path)).splitlines()[-1])
    return report


def _run_fleets(
    tmp_path: Path,
    broker: BrokerFixture,
    url: str,
    gateway_processes: Callable[..., GatewayProcess],
    fleets: list[tuple[str, int]],
    by_cli: bool,
) -> None:
    """Register, enrol (with the CLI when `by_cli`), run each fleet, then check the log."""
    env = gateway_env(broker, url)
    log_key = _ok(run_herbtrace(["init"], tmp_path, **env)).split("log key: ")[1].split()[0]
    _ok(run_herbtrace(["seed", "--registrations"], tmp_path, **env))
    again = _ok(run_herbtrace(["seed", "--registrations"], tmp_path, **env))
    assert "appended 0 of 0" in again
    engine = make_engine(url)
    for scenario, devices in fleets:
        if by_cli:
            passwords = _enrol_by_cli(tmp_path, env, scenario, devices, scenario)
        else:
            passwords = enrol_fleet(engine, broker, tmp_path / scenario, scenario, devices)
        (tmp_path / f"{scenario}.json").write_text(json.dumps(passwords))
    gateway = gateway_processes(env)
    gateway.wait_ready()
    expected = 0
    try:
        for scenario, devices in fleets:
            report = _simulate(tmp_path, broker, log_key, scenario, devices, scenario)
            assert report["drained"], report
            assert report["rejected"] == 0, report
            for device in report["devices"]:
                planned = planned_events(scenario, tmp_path / scenario, device["index"], EVENTS)
                assert device["head_seq"] == device["delivered"] == planned, device
                assert_complete_chain(engine, device["device_id"], planned)
                expected += planned
    finally:
        engine.dispose()
        assert gateway.stop() == 0
    assert gateway.counted("rejected") == 0
    assert gateway.counted("accepted") == expected
    verified = run_herbtrace(["verify"], tmp_path, **env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    reindexed = run_herbtrace(["reindex", "--check"], tmp_path, **env)
    assert reindexed.returncode == 0, reindexed.stdout + reindexed.stderr


def test_a_demo_fleet_tells_stories_the_rules_accept(
    tmp_path: Path,
    broker: BrokerFixture,
    db_url: str,
    gateway_processes: Callable[..., GatewayProcess],
) -> None:
    """A lane of the demo's field devices through the rules: every receipt accepted, every
    chain whole, then `verify` and `reindex --check` pass."""
    _run_fleets(tmp_path, broker, db_url, gateway_processes, [("demo", 10)], by_cli=True)


def test_every_scenario_tells_stories_the_rules_accept_on_one_log(
    tmp_path: Path,
    broker: BrokerFixture,
    sqlite_url: str,
    gateway_processes: Callable[..., GatewayProcess],
) -> None:
    """Handhelds, drying rooms and cold-chain loggers, two lanes each, one after another on
    one log (no two share a batch): every receipt accepted, `verify` and `reindex --check`
    pass."""
    fleets = [("handheld", 2), ("drying-room", 4), ("cold-chain", 4)]
    _run_fleets(tmp_path, broker, sqlite_url, gateway_processes, fleets, by_cli=False)
