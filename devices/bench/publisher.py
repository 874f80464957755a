"""A benchmark publisher process: simulated devices that publish pre-signed envelopes.

Each device is its own paho MQTT 5 connection (username = device ID, as the ACL requires),
publishes at QoS 1 to its events topic and takes its receipts. One thread serves all of a
process's connections through paho's external-loop calls, so the load generator spends
its CPU on MQTT rather than on threads contending for the GIL. Latency is measured in
this process, from just before `publish()` to the receipt's arrival, on one clock.

With the domain rules on, the devices tell the demo stories (`devices.bench.stories`): an
envelope that needs another device's earlier one waits for that one's receipt, so every
story's devices share a process.
"""

from __future__ import annotations

import json
import selectors
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from devices.bench.stories import lane_envelopes
from devices.mqtt_client import Client, pending
from schemas.mqtt import events_topic, receipts_topic
from traceability.canonical import canonical_bytes
from traceability.envelope import GENESIS_PREV, envelope_hash, sign_envelope
from traceability.keys import key_id_for, raw_public_key

WINDOW = 64
"""Envelopes a device has published but holds no receipt for, at most (its outbox window)."""


@dataclass(frozen=True)
class DeviceSpec:
    """One simulated device: its key seed and broker password."""

    seed: bytes
    password: str


@dataclass(frozen=True)
class PublisherSpec:
    """What one publisher process does."""

    host: str
    port: int
    devices: list[DeviceSpec]
    burst: int
    """Envelopes per device sent as fast as the window allows (the throughput phase)."""
    paced: int
    """Envelopes per device sent at `rate` (the latency phase)."""
    rate: float
    """This process's share of the steady rate, envelopes per second."""
    lanes: tuple[int, ...] = ()
    """With the rules on: the story lanes this process tells (`devices` are theirs, lane by
    lane), and `burst` and `paced` count envelopes per lane."""
    of_lanes: int = 0
    """How many lanes the run has."""


@dataclass
class _Shared:
    """What a process's devices share: the receipts taken, and who waits for which."""

    track: bool = False
    received: set[bytes] = field(default_factory=set)
    waiting: dict[bytes, set[_Device]] = field(default_factory=dict)


@dataclass
class PhaseResult:
    """What one phase measured in one publisher process (monotonic clock times)."""

    sent: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    first_send: float = 0.0
    last_receipt: float = 0.0
    latencies: list[float] = field(default_factory=list)


def merge_results(results: list[PhaseResult]) -> PhaseResult:
    """One result of several: sends and latencies added up, status counts summed, the first
    send of any process that sent, and the last receipt of all."""
    merged = PhaseResult()
    sends = [r.first_send for r in results if r.sent]
    merged.first_send = min(sends) if sends else 0.0
    merged.last_receipt = max((r.last_receipt for r in results), default=0.0)
    for r in results:
        merged.sent += r.sent
        merged.latencies.extend(r.latencies)
        for status, n in r.statuses.items():
            merged.statuses[status] = merged.statuses.get(status, 0) + n
    return merged


def sign_chain(seed: bytes, count: int, start: int = 1, prev: str = GENESIS_PREV) -> list[bytes]:
    """Sign `count` consecutive envelopes of the device with key `seed`, from seq `start`."""
    key = Ed25519PrivateKey.from_private_bytes(seed)
    kid = key_id_for(raw_public_key(key))
    out = []
    for seq in range(start, start + count):
        payload = {
            "v": 1,
            "signer": kid,
            "seq": seq,
            "prev": prev,
            "time": "2026-09-20T08:30:00Z",
            "body": {
                "type": "sensor.reading",
                "batch": f"FS-RS-2026-{seq:07d}",
                "site": "吉林省白山市抚松县 3 号晾晒棚",
                "temperature": {"value": f"{18 + seq % 7}.{seq % 10}", "unit": "Cel"},
                "humidity": {"value": f"{55 + seq % 20}.0", "unit": "%"},
            },
        }
        out.append(json.dumps(sign_envelope(key, payload), ensure_ascii=False).encode())
        prev = envelope_hash(canonical_bytes(payload)).hex()
    return out


class _Device:
    """One connection, its envelopes, and the receipts it is waiting for.

    Driven by `_Loop` in the publisher's single thread: paho's external-loop calls
    (`loop_read`, `loop_write`, `loop_misc`) instead of a network thread per device.
    """

    def __init__(
        self,
        spec: DeviceSpec,
        host: str,
        port: int,
        envelopes: list[bytes],
        shared: _Shared,
        after: list[bytes | None] | None = None,
    ) -> None:
        self.shared = shared
        self.key_id = key_id_for(raw_public_key(Ed25519PrivateKey.from_private_bytes(spec.seed)))
        self.topic = events_topic(self.key_id)
        self.result = PhaseResult()
        self.sent_at: dict[bytes, float] = {}
        self.subscribed = False
        self.pace = False
        self._load(envelopes, after)
        client = Client(CallbackAPIVersion.VERSION2, client_id=self.key_id, protocol=mqtt.MQTTv5)
        client.username_pw_set(self.key_id, spec.password)
        client.max_inflight_messages_set(0)  # publish_next keeps to WINDOW; paho's own
        # limit would walk every unacknowledged message on each PUBACK
        client.on_connect = lambda c, *_: c.subscribe(receipts_topic(self.key_id), qos=1)
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_receipt
        client.connect(host, port, keepalive=60, clean_start=True)
        self.client = client

    def _load(self, envelopes: list[bytes], after: list[bytes | None] | None = None) -> None:
        self.envelopes = envelopes
        self.after = after or [None] * len(envelopes)
        self.hashes = [_hash_of(e) for e in envelopes]
        self.next = 0
        self.result = PhaseResult()

    def _on_subscribe(self, *_: Any) -> None:
        self.subscribed = True

    def publish_next(self) -> bool:
        """Publish the next envelope if the window allows; False if it does not."""
        if self.next >= len(self.envelopes) or len(self.sent_at) >= WINDOW:
            return False
        needs = self.after[self.next]
        if needs is not None and needs not in self.shared.received:
            self.shared.waiting.setdefault(needs, set()).add(self)
            return False
        k = self.next
        self.next += 1
        now = time.monotonic()
        self.sent_at[self.hashes[k]] = now
        if not self.result.sent:
            self.result.first_send = now
        self.result.sent += 1
        self.client.publish(self.topic, self.envelopes[k], qos=1)
        return True

    def _on_receipt(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        correlation = bytes(getattr(msg.properties, "CorrelationData", b""))
        status = _status(bytes(msg.payload))
        result = self.result
        result.statuses[status] = result.statuses.get(status, 0) + 1
        result.last_receipt = now
        sent = self.sent_at.pop(correlation, None)
        if sent is not None:
            result.latencies.append(now - sent)
        waiting: set[_Device] = set()
        if self.shared.track:
            self.shared.received.add(correlation)
            waiting = self.shared.waiting.pop(correlation, set())
        if not self.pace:
            self.publish_next()  # the burst: keep the window full
            for device in waiting:  # and let those waiting for this receipt go on
                while device.publish_next():
                    pass

    def done(self) -> bool:
        """Whether every envelope of the phase has its receipt."""
        return self.next >= len(self.envelopes) and not self.sent_at


class _Loop:
    """Every device's socket in one selector, served from one thread."""

    def __init__(self, devices: list[_Device]) -> None:
        self.devices = devices
        self.selector = selectors.DefaultSelector()
        for device in devices:
            sock = device.client.socket()
            assert sock is not None  # noqa: S101 - connect() opened it
            self.selector.register(sock, selectors.EVENT_READ, device)
        self._misc = 0.0

    def turn(self, timeout: float) -> None:
        """Wait up to `timeout` for traffic, read it, and write whatever is queued."""
        for key, _ in self.selector.select(timeout):
            client = key.data.client
            client.loop_read()
            while pending(client):  # whole packets read already: select() won't report them
                client.loop_read()
        now = time.monotonic()
        for device in self.devices:
            if device.client.want_write():
                device.client.loop_write()
        if now - self._misc > 1.0:
            self._misc = now
            for device in self.devices:
                device.client.loop_misc()

    def close(self) -> None:
        """Disconnect every device."""
        for device in self.devices:
            device.client.disconnect()
            device.client.loop_write()
        self.selector.close()


Load = tuple[list[bytes], list[bytes | None]]
"""A device's envelopes for one phase, and what each waits for."""


def run_publisher(spec: PublisherSpec, pipe: Connection) -> None:
    """Process entry point: sign, connect, then run each phase when the parent says so."""
    shared = _Shared(track=bool(spec.lanes))
    if spec.lanes:
        loads = _story_loads(spec)
    else:
        chains = [sign_chain(d.seed, spec.burst + spec.paced) for d in spec.devices]
        loads = [((c[: spec.burst], []), (c[spec.burst :], [])) for c in chains]
    devices = [
        _Device(d, spec.host, spec.port, burst[0], shared, burst[1])
        for d, (burst, _) in zip(spec.devices, loads, strict=True)
    ]
    loop = _Loop(devices)
    deadline = time.monotonic() + 60
    while not all(d.subscribed for d in devices) and time.monotonic() < deadline:
        loop.turn(0.05)
    pipe.send("ready")
    _wait_for_go(pipe, loop)
    for device in devices:  # the burst: fill each window; receipts refill it
        while device.publish_next():
            pass
    while not all(d.done() for d in devices):
        loop.turn(0.05)
    pipe.send(merge_results([d.result for d in devices]))
    for device, (_, paced) in zip(devices, loads, strict=True):
        device._load(*paced)
        device.pace = True
    _wait_for_go(pipe, loop)
    start = time.monotonic()
    total = sum(len(d.envelopes) for d in devices)
    k = 0
    while k < total:
        due = start + k / spec.rate
        now = time.monotonic()
        if now >= due:
            turn = k % len(devices)
            # a story's envelope may wait for another device's: then the next device sends
            order = devices[turn:] + devices[:turn] if spec.lanes else devices[turn : turn + 1]
            if any(device.publish_next() for device in order):
                k += 1
                continue
            due = now + 0.001  # that device's window is full: let receipts in
        loop.turn(max(0.0, due - time.monotonic()))
    deadline = time.monotonic() + 60
    while not all(d.done() for d in devices) and time.monotonic() < deadline:
        loop.turn(0.05)
    pipe.send(merge_results([d.result for d in devices]))
    loop.close()


def _story_loads(spec: PublisherSpec) -> list[tuple[Load, Load]]:
    """Each device's envelopes of the lanes' stories, burst then steady phase."""
    keys = [
        key_id_for(raw_public_key(Ed25519PrivateKey.from_private_bytes(d.seed)))
        for d in spec.devices
    ]
    phases: dict[str, tuple[Load, Load]] = {k: (([], []), ([], [])) for k in keys}
    for lane in spec.lanes:
        for k, e in enumerate(lane_envelopes(lane, spec.of_lanes, spec.burst + spec.paced)):
            envelopes, after = phases[e.device][0 if k < spec.burst else 1]
            envelopes.append(e.envelope)
            after.append(e.after)
    return [phases[k] for k in keys]


def _wait_for_go(pipe: Connection, loop: _Loop) -> None:
    """Serve the connections (keep-alives, stray receipts) until the parent says go."""
    while not pipe.poll(0):
        loop.turn(0.05)
    pipe.recv()


def _hash_of(envelope: bytes) -> bytes:
    return bytes(envelope_hash(canonical_bytes(json.loads(envelope)["payload"])))


def _status(receipt: bytes) -> str:
    for status in ("accepted", "duplicate", "rejected"):
        if f'"status":"{status}"'.encode() in receipt:
            return status
    return "unreadable"
