"""Running simulated devices: each records its scenario's events at a rate and sends them.

Device `i` of a simulation lives in ``<root>/device-<i, 4 digits>/`` (a device directory,
see `devices.sdk.keystore`), so a simulation stopped or killed at any point continues
where its outboxes stand when it is run again: a device records until its chain holds
`events` events, or its story ends (`devices.simulate.scenarios`), then the run ends once
every outbox is empty.

The simulation's devices are those whose directories hold a key when the run starts (all
of them, not only the ones this run opens): a fleet created at once (`--init-only`) may
run in several processes, each a part of it. An event that waits for another device's is
recorded once that device's outbox holds its receipt, read from the other device's
directory when another process runs it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from devices.sdk import BrokerConfig, ClientStats, Device, RetryPolicy
from devices.sdk.device import init_device
from devices.sdk.keystore import (
    DeviceFiles,
    DeviceIdentity,
    identity_of,
    load_device_key,
)
from devices.sdk.outbox import EventState, Outbox, OutboxCounts, rfc3339_now
from devices.simulate.scenarios import SCENARIOS, LaneScript, Scenario
from traceability.errors import ConfigurationError, InvalidInput
from traceability.log.note import NoteVerifier

BATCH = 100
"""Events recorded per transaction when the rate is unlimited."""


def device_dir(root: Path, index: int) -> Path:
    """Return the directory of simulated device `index`."""
    return root / f"device-{index:04d}"


def prepare_devices(
    root: Path, first: int, count: int, passphrase: str | None = None
) -> list[DeviceIdentity]:
    """Create the keys of devices first … first+count-1 that have none; return all identities."""
    identities = []
    for index in range(first, first + count):
        path = device_dir(root, index)
        if DeviceFiles(path).key.exists():
            identities.append(identity_of(load_device_key(path, passphrase)))
        else:
            identities.append(init_device(path, passphrase))
    return identities


def load_credentials(path: Path) -> dict[str, str]:
    """Read a credentials file: a JSON object mapping device IDs to broker passwords."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read credentials {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise InvalidInput(f"{path} must be a JSON object of device ID → broker password")
    return data


@dataclass
class SimulationPlan:
    """What to simulate and where to send it."""

    root: Path
    log_key: NoteVerifier | None
    credentials: dict[str, str]
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    ca_file: str | None = None
    """CA that verifies the broker's TLS certificate (None: plain MQTT, unless a device
    directory holds its own CA from `herbtrace device init --ca-file`)."""
    first: int = 0
    devices: int = 1
    events: int = 100
    rate: float = 10.0
    scenario: str = "demo"
    passphrase: str | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise InvalidInput(
                f"unknown scenario {self.scenario!r}; choose one of {', '.join(SCENARIOS)}"
            )
        if self.devices < 1 or self.first < 0 or self.events < 0 or self.rate < 0:
            raise InvalidInput("devices must be ≥ 1, and first, events and rate ≥ 0")


@dataclass(frozen=True)
class DeviceReport:
    """One simulated device at the end of a run."""

    index: int
    counts: OutboxCounts
    stats: ClientStats

    def to_json(self) -> dict[str, Any]:
        """Return the report as JSON data."""
        return {"index": self.index, **self.counts.to_json(), "client": vars(self.stats)}


@dataclass(frozen=True)
class SimulationReport:
    """Every device of a run, and whether all their outboxes emptied."""

    devices: list[DeviceReport]
    drained: bool

    @property
    def rejected(self) -> int:
        return sum(d.counts.rejected for d in self.devices)

    def to_json(self) -> dict[str, Any]:
        """Return the report as JSON data."""
        return {
            "drained": self.drained,
            "rejected": self.rejected,
            "devices": [d.to_json() for d in self.devices],
        }


def run_simulation(
    plan: SimulationPlan, stop: threading.Event, timeout: float | None = None
) -> SimulationReport:
    """Record and send until every device has `plan.events` events delivered or rejected.

    Ends early when `stop` is set or after `timeout` seconds; events not yet delivered stay
    in the outboxes for the next run. `plan.events == 0` records until stopped.
    """
    devices = _open_devices(plan)
    lanes = _Lanes(plan, {plan.first + i: d for i, d in enumerate(devices)})
    deadline = None if timeout is None else time.monotonic() + timeout
    failures: list[BaseException] = []
    recorders = [
        threading.Thread(
            target=_record,
            args=(device, plan.first + i, lanes, plan, stop, failures),
            daemon=True,
        )
        for i, device in enumerate(devices)
    ]
    try:
        for thread in recorders:
            thread.start()
        drained = False
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            if not any(t.is_alive() for t in recorders) and _all_sent(devices):
                drained = True
                break
            stop.wait(0.1)
        stop.set()
        for thread in recorders:
            thread.join()
        if failures:
            raise failures[0]
        return SimulationReport(
            [
                DeviceReport(
                    plan.first + i,
                    d.counts(),
                    d.client.stats if d.client else ClientStats(),
                )
                for i, d in enumerate(devices)
            ],
            drained,
        )
    finally:
        stop.set()
        lanes.close()
        for device in devices:
            device.close()


def fleet(root: Path) -> set[int]:
    """The indices of the simulated devices in `root` (those whose directory holds a key)."""
    found = set()
    for path in root.glob("device-*"):
        suffix = path.name.removeprefix("device-")
        if suffix.isdigit() and DeviceFiles(path).key.exists():
            found.add(int(suffix))
    return found


def _scripts(scenario: Scenario, plan: SimulationPlan) -> dict[int, LaneScript]:
    """A script for each lane of the run's devices."""
    present = fleet(plan.root) | set(range(plan.first, plan.first + plan.devices))
    run = range(plan.first, plan.first + plan.devices)
    scripts = {}
    for lane in sorted({scenario.lane(i) for i in run}):
        first = lane * scenario.width
        members = range(first, first + scenario.width)
        scripts[lane] = LaneScript(
            scenario,
            lane,
            {scenario.party(i).label for i in members if i in present},
            plan.events,
            {scenario.party(i).label for i in members if i in run},
        )
    return scripts


def planned_events(scenario: str, root: Path, index: int, events: int) -> int:
    """How many events simulated device `index` of `root` records in all (`events` > 0)."""
    chosen = SCENARIOS[scenario]
    lane = chosen.lane(index)
    members = range(lane * chosen.width, (lane + 1) * chosen.width)
    present = fleet(root)
    labels = {chosen.party(i).label for i in members if i in present}
    return LaneScript(chosen, lane, labels, events).planned(chosen.party(index).label)


class _Peers:
    """Where the events other devices wait for stand, read from the devices' outboxes."""

    def __init__(self, root: Path, own: dict[int, Device]) -> None:
        self.root = root
        self.own = own
        self.opened: dict[int, Outbox] = {}
        self.lock = threading.Lock()

    def state(self, index: int, seq: int) -> EventState:
        """Where device `index`'s event `seq` stands ("unrecorded" if it has no outbox yet)."""
        device = self.own.get(index)
        if device is not None:
            return device.outbox.state(seq)
        with self.lock:
            outbox = self.opened.get(index)
            if outbox is None:
                path = DeviceFiles(device_dir(self.root, index)).outbox
                if not path.exists():
                    return "unrecorded"
                outbox = self.opened[index] = Outbox(path)
        return outbox.state(seq)

    def close(self) -> None:
        with self.lock:
            for outbox in self.opened.values():
                outbox.close()
            self.opened.clear()


class _Lanes:
    """The run's lanes: which body each device records next, and whether it may yet."""

    def __init__(self, plan: SimulationPlan, own: dict[int, Device]) -> None:
        self.scenario = SCENARIOS[plan.scenario]
        self.scripts = _scripts(self.scenario, plan)
        self.peers = _Peers(plan.root, own)

    def next_body(self, index: int, n: int) -> dict[str, Any] | Literal[False] | None:
        """Device `index`'s n-th body; None when its story ends there; False while the event
        it waits for is not in the log yet."""
        script = self.scripts[self.scenario.lane(index)]
        item = script.event(self.scenario.party(index).label, n)
        if item is None:
            return None
        if item.after is not None:
            peer = self.scenario.device_of(script.lane, item.after)
            state = self.peers.state(peer, item.after.number)
            if state == "rejected":  # what it needs will never be in the log
                return None
            if state != "delivered":
                return False
        return item.event.body

    def close(self) -> None:
        self.peers.close()


def _open_devices(plan: SimulationPlan) -> list[Device]:
    devices: list[Device] = []
    try:
        for index in range(plan.first, plan.first + plan.devices):
            device = Device(device_dir(plan.root, index), plan.passphrase)
            devices.append(device)
            password = plan.credentials.get(device.device_id)
            if password is None:
                raise ConfigurationError(
                    f"no broker credentials for device {index} ({device.device_id}); "
                    "enrol it and add its password to the credentials file"
                )
            broker = BrokerConfig(plan.broker_host, plan.broker_port, password, tls_ca=plan.ca_file)
            device.connect(broker, plan.log_key, plan.policy)
    except BaseException:
        for device in devices:
            device.close()
        raise
    return devices


def _all_sent(devices: list[Device]) -> bool:
    return all(d.counts().pending == 0 for d in devices)


def _record(
    device: Device,
    index: int,
    lanes: _Lanes,
    plan: SimulationPlan,
    stop: threading.Event,
    failures: list[BaseException],
) -> None:
    """Record `device`'s next events at `plan.rate` per second until its story ends.

    An exception stops the whole run: it is kept in `failures` and `stop` is set.
    """
    try:
        _record_until_done(device, index, lanes, plan, stop)
    except BaseException as exc:
        failures.append(exc)
        stop.set()


WAIT = 0.05
"""Seconds between two looks at the event a device's next event waits for."""


def _record_until_done(
    device: Device,
    index: int,
    lanes: _Lanes,
    plan: SimulationPlan,
    stop: threading.Event,
) -> None:
    head = device.counts().head_seq
    interval = 1.0 / plan.rate if plan.rate else 0.0
    due = time.monotonic()
    while not stop.is_set():
        if not interval:
            bodies: list[dict[str, Any]] = []
            ended = False
            while len(bodies) < BATCH:
                body = lanes.next_body(index, head + len(bodies) + 1)
                ended = body is None
                if not isinstance(body, dict):
                    break
                bodies.append(body)
            if bodies:
                now = rfc3339_now()
                device.outbox.record_many(bodies, now)
                if device.client is not None:
                    device.client.wake()
                head += len(bodies)
            elif ended:
                return
            else:
                stop.wait(WAIT)
            continue
        body = lanes.next_body(index, head + 1)
        if body is None:
            return
        if body is False:
            stop.wait(WAIT)
            due = max(due, time.monotonic())
            continue
        if stop.wait(max(0.0, due - time.monotonic())):
            break
        now = rfc3339_now()
        head = device.record(body, now).seq
        due = max(due + interval, time.monotonic() - 1.0)  # catch up at most one second
