"""Fault trials with real processes: gateway SIGKILL, broker restart, device kill, device offline.

Simulated devices (`herbtrace device simulate`, lanes of the demo's field devices), the
gateway (`herbtrace ingest`, its domain rules on, as in production) and Mosquitto all run
as their own processes. Whatever is killed or cut, once the outboxes drain every event is
in the log exactly once, accepted by the rules, and `herbtrace verify` and
`herbtrace reindex --check` pass.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from mqtt_helpers import BrokerFixture
from sdk_log_checks import assert_complete_chain, log_seqs
from sdk_processes import Herbtrace, NetworkLink
from sim_fleet import enrol_fleet, register_demo_places
from sqlalchemy.engine import Engine
from support import run_herbtrace

from devices.simulate import prepare_devices
from devices.simulate.runner import planned_events
from traceability.ledger import initialise
from traceability.settings import Settings
from traceability.storage.db import make_engine

ORIGIN = "test.herbtrace/log"


@dataclass(frozen=True)
class Trial:
    """How big a trial is and which faults it injects (seconds after the first event is in)."""

    devices: int
    events: int
    """Events per device at most: a device's story may end sooner (`planned_events`)."""
    rate: float
    gateway_kill: tuple[float, float] | None = None
    device_kill: tuple[float, float] | None = None
    broker_restart: float | None = None
    offline: tuple[float, float] | None = None


def log_size(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM log_entries").scalar_one())


def wait_for_connects(broker: BrokerFixture, device_id: str, count: int, timeout: float) -> None:
    """Wait until the broker has logged `count` connections of `device_id`."""
    deadline = time.monotonic() + timeout
    line = f" as {device_id} "
    while broker.local.log_path.read_text(errors="replace").count(line) < count:
        assert time.monotonic() < deadline, f"{device_id} did not connect in {timeout} s"
        time.sleep(0.05)


def run_trial(tmp_path: Path, broker: BrokerFixture, trial: Trial) -> dict[str, float]:
    """Run `trial` to the end, check the log, and return measured figures."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    settings = Settings(database_url=url, log_origin=ORIGIN, checkpoint_interval=0.2)
    log_key = initialise(settings).to_vkey()
    env = {
        "HERBTRACE_DATABASE_URL": url,
        "HERBTRACE_LOG_ORIGIN": ORIGIN,
        "HERBTRACE_CHECKPOINT_INTERVAL": "0.2",
        **broker.env("fault-gateway"),
    }
    prologue = register_demo_places(settings)
    engine = make_engine(url)
    root = tmp_path / "sim"
    passwords = enrol_fleet(engine, broker, root, "demo", trial.devices)
    identities = prepare_devices(root, 0, trial.devices)
    planned = [planned_events("demo", root, i, trial.events) for i in range(trial.devices)]
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps(passwords))

    def gateway() -> Herbtrace:
        process = Herbtrace(["ingest"], tmp_path, env, tmp_path / "gateway.log")
        process.wait_for_output("ingesting from", 60)
        return process

    def simulate(first: int, count: int, port: int, name: str) -> Herbtrace:
        args = ["device", "simulate", "--dir", str(root), "--first", str(first)]
        args += ["--devices", str(count), "--events", str(trial.events), "--rate", str(trial.rate)]
        args += ["--scenario", "demo", "--broker-port", str(port), "--log-key", log_key]
        args += ["--credentials", str(credentials), "--ack-timeout", "3", "--backoff-max", "2"]
        args += ["--reconnect-max", "2", "--window", "50", "--json"]
        return Herbtrace(args, tmp_path, {}, tmp_path / f"{name}.log")

    link = NetworkLink(broker.port)
    restarted: str | None = None  # the device killed and started again
    ingest = gateway()
    launched = time.monotonic()
    solo = [i for i, fault in [(1, trial.device_kill), (2, trial.offline)] if fault]
    bulk = trial.devices - len(solo)
    fleet = {"bulk": simulate(0, bulk, broker.port, "bulk")}
    if trial.device_kill:
        fleet["killed"] = simulate(bulk, 1, broker.port, "killed")
    if trial.offline:
        fleet["offline"] = simulate(trial.devices - 1, 1, link.port, "offline")

    actions: list[tuple[float, str]] = []
    if trial.gateway_kill:
        actions += [(trial.gateway_kill[0], "kill gateway"), (trial.gateway_kill[1], "gateway")]
    if trial.device_kill:
        actions += [(trial.device_kill[0], "kill device"), (trial.device_kill[1], "device")]
    if trial.broker_restart is not None:
        actions.append((trial.broker_restart, "restart broker"))
    if trial.offline:
        actions += [(trial.offline[0], "cut link"), (trial.offline[1], "restore link")]
    try:
        while log_size(engine) == prologue:  # the clock starts with a device's first event
            assert time.monotonic() < launched + 60, "no event reached the log in 60 s"
            time.sleep(0.05)
        started = time.monotonic()
        for at, action in sorted(actions):
            time.sleep(max(0.0, started + at - time.monotonic()))
            if action == "kill gateway":
                ingest.kill()
                at_kill = log_size(engine)
                assert prologue < at_kill < prologue + sum(planned), "kill it mid-stream"
            elif action == "gateway":
                ingest = gateway()
            elif action == "kill device":
                assert fleet["killed"].process.poll() is None, "killed too late: it had finished"
                fleet["killed"].kill()
            elif action == "device":
                restarted = identities[bulk].device_id
                fleet["killed"] = simulate(bulk, 1, broker.port, "killed")
            elif action == "restart broker":
                if restarted is not None:  # the restart must cut it too, however slow its
                    wait_for_connects(broker, restarted, 2, timeout=60)  # start was
                broker.local.stop()
                broker.local.start()
            elif action == "cut link":
                link.cut()
            else:
                link.restore()
        for name, process in fleet.items():
            code = process.wait(240)
            assert code == 0, f"{name} devices exited {code}:\n{process.output()[-3000:]}"
        elapsed = time.monotonic() - launched
    finally:
        for process in fleet.values():
            if process.process.poll() is None:
                process.kill()
        ingest.stop()
        link.cut()

    reports = {name: json.loads(p.output().splitlines()[-1]) for name, p in fleet.items()}
    assert all(r["drained"] and r["rejected"] == 0 for r in reports.values()), reports
    clients = {name: [d["client"] for d in r["devices"]] for name, r in reports.items()}
    if trial.broker_restart is not None:  # every device lost the broker and came back
        assert all(c["connects"] >= 2 for cs in clients.values() for c in cs), clients
    if trial.offline:
        (offline,) = clients["offline"]
        assert offline["disconnects"] >= 1, offline
        assert offline["connects"] >= 2, offline
    size = sum(len(log_seqs(engine, i.device_id)) for i in identities)
    assert size == sum(planned), "an event is missing or in the log twice"
    for identity, events in zip(identities, planned, strict=True):
        assert_complete_chain(engine, identity.device_id, events)
    engine.dispose()
    for check in (["verify"], ["reindex", "--check"]):
        done = run_herbtrace(check, cwd=tmp_path, environ=None, **env)
        assert done.returncode == 0, done.stdout + done.stderr
    resent = sum(c["published"] for cs in clients.values() for c in cs) - size
    return {"seconds": elapsed, "events": size, "resent": resent}


def test_gateway_killed_mid_stream(tmp_path: Path, broker: BrokerFixture) -> None:
    """A lane of 10 devices, up to 100 events each, gateway SIGKILLed and restarted: each
    event once and accepted, log verifies."""
    trial = Trial(devices=10, events=100, rate=40, gateway_kill=(1.0, 2.0))
    figures = run_trial(tmp_path, broker, trial)
    assert figures["events"] > 500


@pytest.mark.slow
def test_twenty_devices_through_every_fault(tmp_path: Path, broker: BrokerFixture) -> None:
    """Two lanes of 10 devices, up to 1,000 events each, through a gateway SIGKILL, a broker
    restart, a device SIGKILL and a device offline for a while: each event once and
    accepted, chains whole, log verifies."""
    trial = Trial(
        devices=20,
        events=1000,
        rate=25,
        gateway_kill=(6.0, 9.0),
        device_kill=(12.0, 14.0),
        broker_restart=18.0,
        offline=(4.0, 26.0),
    )
    figures = run_trial(tmp_path, broker, trial)
    print(f"fault trial: {figures}")  # noqa: T201 - the measured figures, shown with -s
    assert figures["events"] > 10_000
