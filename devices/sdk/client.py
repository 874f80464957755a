"""The device's MQTT publisher: sends the outbox oldest first and settles it by signed receipts.

Threads: paho's network thread runs the callbacks, which only note what happened and wake
the worker (a slow callback would stall the network loop); the worker thread alone reads
the outbox, publishes and settles. Flow:

- Connect as MQTT 5 with ``clean_start=False`` and a ``SessionExpiryInterval``, so the
  broker keeps the receipts subscription and queues receipts while the device is away.
  Username and client ID are the device ID.
- Once subscribed to ``receipts_topic(device_id)``, publish pending events in ``seq``
  order, QoS 1, to ``events_topic(device_id)``, with correlation data = the 32-byte
  envelope hash and response topic = the receipts topic. At most ``window`` events are
  awaiting a receipt at any time.
- A PUBACK only means the broker has the message: it is counted, nothing else. A receipt
  that parses and verifies against the log key settles its event (see `Outbox.settle`);
  any other message on the receipts topic is counted as bad and ignored.
- An event without a receipt after ``ack_timeout`` leaves the window and is sent again,
  oldest first. Each round of timeouts pauses sending for an exponential, jittered
  backoff; any receipt resets it.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices.mqtt_client import Client
from devices.sdk.config import BrokerConfig, RetryPolicy
from devices.sdk.outbox import Outbox, VerifiedReceipt
from schemas.mqtt import events_topic, receipts_topic
from traceability.errors import TraceabilityError
from traceability.ingest.receipts import verify_receipt
from traceability.log.note import NoteVerifier

log = logging.getLogger("herbtrace.device")


@dataclass
class ClientStats:
    """Counters of what the client has seen, for status output and tests."""

    connects: int = 0
    disconnects: int = 0
    published: int = 0
    pubacks: int = 0
    denied: int = 0
    delivered: int = 0
    rejected: int = 0
    stale: int = 0
    bad_receipts: int = 0
    timeouts: int = 0
    max_in_flight: int = 0
    last_error: str | None = None


@dataclass
class _Flight:
    seq: int
    deadline: float


@dataclass
class _Signals:
    """What paho's network thread hands to the worker, under a lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    connected: bool = False
    subscribed: bool = False
    reconnected: bool = False


class DeviceClient:
    """Publishes one device's outbox over MQTT and settles it by verified receipts."""

    def __init__(
        self,
        outbox: Outbox,
        log_key: NoteVerifier,
        broker: BrokerConfig,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.outbox = outbox
        self.device_id = outbox.signer
        self.log_key = log_key
        self.broker = broker
        self.policy = policy or RetryPolicy()
        self.stats = ClientStats()
        self._events_topic = events_topic(self.device_id)
        self._receipts_topic = receipts_topic(self.device_id)
        self._receipts: queue.SimpleQueue[tuple[bytes, bytes | None]] = queue.SimpleQueue()
        self._signals = _Signals()
        self._wakeup = threading.Event()
        self._stop = threading.Event()
        self._in_flight: dict[bytes, _Flight] = {}
        self._failures = 0
        self._paused_until = 0.0
        self._rng = random.Random()  # noqa: S311 - jitter, not a secret
        self._mqtt = self._make_client()
        self._worker = threading.Thread(
            target=self._run, name=f"outbox-{self.device_id[:8]}", daemon=True
        )

    def _make_client(self) -> mqtt.Client:
        client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.device_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.username_pw_set(self.device_id, self.broker.password)
        if self.broker.tls_ca:
            client.tls_set(ca_certs=self.broker.tls_ca)
        client.max_inflight_messages_set(self.policy.window)
        client.max_queued_messages_set(self.policy.window * 4)
        client.reconnect_delay_set(1, self.policy.reconnect_max)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (retrying until the broker answers) and start sending."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.policy.session_expiry
        self._mqtt.connect_async(
            self.broker.host,
            self.broker.port,
            self.broker.keepalive,
            clean_start=False,
            properties=properties,
        )
        self._mqtt.loop_start()
        self._worker.start()

    def stop(self) -> None:
        """Stop sending and disconnect; whatever is pending stays in the outbox."""
        self._stop.set()
        self._wakeup.set()
        if self._worker.is_alive():
            self._worker.join()
        self._mqtt.disconnect()
        self._mqtt.loop_stop()

    def wake(self) -> None:
        """Tell the worker that new events are in the outbox."""
        self._wakeup.set()

    @property
    def connected(self) -> bool:
        """Whether the client is connected and subscribed to its receipts."""
        with self._signals.lock:
            return self._signals.connected and self._signals.subscribed

    @property
    def in_flight(self) -> int:
        """How many events are awaiting a receipt now."""
        return len(self._in_flight)

    def wait_drained(self, timeout: float) -> bool:
        """Wait until the outbox has nothing pending; return whether it got there in time."""
        deadline = time.monotonic() + timeout
        while self.outbox.counts().pending:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    # -- paho's network thread: note and wake, never block -------------------------------

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            self.stats.last_error = f"broker refused the connection: {reason}"
            log.warning("device %s: %s", self.device_id, self.stats.last_error)
            return
        client.subscribe(self._receipts_topic, qos=1)
        with self._signals.lock:
            self._signals.connected = True
            self._signals.reconnected = True
        self.stats.connects += 1
        self._wakeup.set()

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        with self._signals.lock:
            self._signals.connected = False
            self._signals.subscribed = False
        self.stats.disconnects += 1
        if reason.is_failure:
            self.stats.last_error = f"disconnected: {reason}"
        self._wakeup.set()

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: list[Any], _props: Any
    ) -> None:
        if any(r.is_failure for r in reasons):
            self.stats.last_error = f"cannot subscribe to {self._receipts_topic}: {reasons}"
            log.warning("device %s: %s", self.device_id, self.stats.last_error)
            return
        with self._signals.lock:
            self._signals.subscribed = True
        self._wakeup.set()

    def _on_publish(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reason: Any, _props: Any
    ) -> None:
        self.stats.pubacks += 1
        if reason.is_failure:  # e.g. 0x87 not authorised: the broker dropped the event
            self.stats.denied += 1
            self.stats.last_error = f"broker refused a publish: {reason}"

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        correlation = getattr(message.properties, "CorrelationData", None)
        self._receipts.put((bytes(message.payload), correlation))
        self._wakeup.set()

    # -- the worker -----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wakeup.wait(self._sleep_time())
            self._wakeup.clear()
            try:
                self._step(time.monotonic())
            except Exception as exc:  # keep sending: the outbox is the truth, retry later
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("device %s: worker step failed", self.device_id)
                self._stop.wait(1.0)

    def _step(self, now: float) -> None:
        with self._signals.lock:
            ready = self._signals.connected and self._signals.subscribed
            reconnected, self._signals.reconnected = self._signals.reconnected, False
        if reconnected:  # events in flight had no chance while away: give them a full timeout
            for flight in self._in_flight.values():
                flight.deadline = now + self.policy.ack_timeout
            self._failures, self._paused_until = 0, 0.0
        self._settle()
        self._expire(now)
        if ready and now >= self._paused_until:
            self._fill_window(now)

    def _sleep_time(self) -> float:
        now = time.monotonic()
        wake = now + 1.0
        if self._in_flight:
            wake = min(wake, min(f.deadline for f in self._in_flight.values()))
        if self._paused_until > now:
            wake = min(wake, self._paused_until)
        return max(0.0, wake - now)

    def _settle(self) -> None:
        batch: list[VerifiedReceipt] = []
        while len(batch) < 1000:
            try:
                raw, correlation = self._receipts.get_nowait()
            except queue.Empty:
                break
            checked = self._check_receipt(raw, correlation)
            if checked is not None:
                batch.append(checked)
        if not batch:
            return
        for receipt, outcome in zip(batch, self.outbox.settle(batch), strict=True):
            self._in_flight.pop(receipt.envelope_hash, None)
            if outcome == "delivered":
                self.stats.delivered += 1
            elif outcome == "rejected":
                self.stats.rejected += 1
                log.warning(
                    "device %s: the log rejected event %s (%s); kept in the outbox's "
                    "rejected table",
                    self.device_id,
                    receipt.envelope_hash.hex(),
                    receipt.reason,
                )
            else:
                self.stats.stale += 1
        self._failures, self._paused_until = 0, 0.0
        if not self._receipts.empty():
            self._wakeup.set()

    def _check_receipt(self, raw: bytes, correlation: bytes | None) -> VerifiedReceipt | None:
        try:
            payload = verify_receipt(raw, self.log_key.public_key)
        except TraceabilityError as exc:
            return self._bad_receipt(str(exc))
        if payload.log != self.log_key.name:
            return self._bad_receipt(
                f"receipt names log {payload.log!r}, not {self.log_key.name!r}"
            )
        if payload.envelope_hash is None:
            return self._bad_receipt(f"receipt without an envelope hash: {payload.detail}")
        envelope_hash = bytes.fromhex(payload.envelope_hash)
        if payload.signer not in (None, self.device_id):
            return self._bad_receipt(f"receipt is about signer {payload.signer}")
        if correlation is not None and correlation != envelope_hash:
            return self._bad_receipt("receipt's correlation data is not its envelope hash")
        return VerifiedReceipt(envelope_hash, payload.status, payload.reason, payload.detail, raw)

    def _bad_receipt(self, why: str) -> VerifiedReceipt | None:
        """Count and log a message on the receipts topic that settles nothing; return None."""
        self.stats.bad_receipts += 1
        self.stats.last_error = f"ignored a receipt: {why}"
        log.warning("device %s: ignored a receipt: %s", self.device_id, why)
        return None

    def _expire(self, now: float) -> None:
        expired = [h for h, f in self._in_flight.items() if f.deadline <= now]
        if not expired:
            return
        for envelope_hash in expired:
            del self._in_flight[envelope_hash]
        self.stats.timeouts += len(expired)
        self._failures += 1
        self._paused_until = now + self.policy.backoff(self._failures, self._rng)
        log.info(
            "device %s: %d events without a receipt; resending in %.2fs",
            self.device_id,
            len(expired),
            self._paused_until - now,
        )

    def _fill_window(self, now: float) -> None:
        room = self.policy.window - len(self._in_flight)
        if room <= 0:
            return
        for event in self.outbox.oldest(self.policy.window + len(self._in_flight)):
            if event.envelope_hash in self._in_flight:
                continue
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.CorrelationData = event.envelope_hash
            properties.ResponseTopic = self._receipts_topic
            info = self._mqtt.publish(self._events_topic, event.envelope, 1, properties=properties)
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                # paho's own queue is full (duplicates of slow messages): try again shortly
                self._paused_until = now + self.policy.backoff_base
                break
            self._in_flight[event.envelope_hash] = _Flight(event.seq, now + self.policy.ack_timeout)
            self.stats.published += 1
            room -= 1
            if room == 0:
                break
        self.stats.max_in_flight = max(self.stats.max_in_flight, len(self._in_flight))
