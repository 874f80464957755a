"""The gateway's MQTT 5 connection: device events in, receipts out, acks after commit.

paho's network thread (`loop_start`) only copies each message into the inbox; all work
happens in the pipeline's threads, which publish receipts and acknowledge messages from
there (paho serialises its outgoing packets under its own lock). Messages are acknowledged
manually, after their receipts are published, so a message in flight when the gateway
dies is redelivered by the broker when the gateway's session reconnects.

The subscription is its partition's (`devices.gateway.partition`): the ingest group's
shared subscription for a gateway answering for every device, or every device's events
for one of several partitions, which acknowledges the messages of other partitions in
the network thread, unprocessed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices.gateway.config import GatewayConfig
from devices.mqtt_client import Client
from traceability.errors import ConfigurationError

log = logging.getLogger("herbtrace.gateway")

MAX_INFLIGHT_RECEIPTS = 0
"""Receipts published but not yet acknowledged by the broker: 0, no limit (paho's default is
20). A limit would not hold fewer receipts in memory (paho queues those beyond it until the
broker acknowledges others), and with one paho walks every unacknowledged message on each
PUBACK looking for a queued one to send."""


class CorrelationData(Properties):
    """PUBLISH properties holding only Correlation Data, packed directly.

    paho's general Properties costs about 60 µs to build, fill and pack (measured; it
    rebuilds its name tables per instance), a third of a receipt's whole cost. Packed
    layout (MQTT 5 §2.2.2, §3.3.2.3.6): properties length (variable byte integer), 0x09,
    2-byte big-endian length, the bytes (at most 65,535).
    """

    data: bytes

    def __init__(self, data: bytes) -> None:
        if len(data) > 0xFFFF:
            raise ValueError("correlation data is at most 65,535 bytes")
        object.__setattr__(self, "packetType", PacketTypes.PUBLISH)
        object.__setattr__(self, "data", bytes(data))

    def pack(self) -> bytes:
        """Return the packed properties."""
        body = b"\x09" + len(self.data).to_bytes(2, "big") + self.data
        return _variable_byte_integer(len(body)) + body

    def __str__(self) -> str:
        return f"[CorrelationData : {self.data!r}]"


def _variable_byte_integer(value: int) -> bytes:
    """MQTT 5 §1.5.5: seven bits a byte, least significant first, high bit = more follow."""
    out = bytearray()
    while True:
        value, digit = divmod(value, 128)
        out.append(digit | (0x80 if value else 0))
        if not value:
            return bytes(out)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message as it arrived; `arrived` is time.monotonic() in the network thread."""

    topic: str
    payload: bytes
    correlation: bytes | None
    mid: int
    qos: int
    arrived: float


class Connection:
    """One MQTT 5 session of the gateway user, subscribed to its partition's devices' events."""

    def __init__(self, config: GatewayConfig, inbox: queue.SimpleQueue[Incoming]) -> None:
        self._config = config
        self._inbox = inbox
        self._accepting = True
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._failure: str | None = None
        self._lock = threading.Lock()
        self._unconfirmed = 0
        self._partition = config.partition
        self.passed_on = 0
        """Messages of other partitions acknowledged unprocessed (read by tests and logs)."""
        client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id or config.username,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        client.username_pw_set(config.username, config.password or None)
        if config.ca_file:
            client.tls_set(ca_certs=config.ca_file)
        client.max_inflight_messages_set(MAX_INFLIGHT_RECEIPTS)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        self._client = client

    def start(self, timeout: float = 10.0) -> None:
        """Connect, subscribe and start the network thread; ConfigurationError on failure."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self._config.session_expiry
        props.ReceiveMaximum = self._config.receive_maximum
        try:
            self._client.connect(
                self._config.host,
                self._config.port,
                keepalive=self._config.keepalive,
                clean_start=False,
                properties=props,
            )
        except OSError as exc:
            raise ConfigurationError(
                f"cannot reach the MQTT broker at {self._config.host}:{self._config.port}: {exc}"
            ) from exc
        self._client.loop_start()
        if not self._subscribed.wait(timeout) or self._failure:
            self._client.loop_stop()
            reason = self._failure or f"no subscription within {timeout}s"
            raise ConfigurationError(f"MQTT broker refused the gateway: {reason}")

    def pause(self) -> None:
        """Take no more messages: those arriving now stay unacknowledged, for redelivery."""
        self._accepting = False

    def publish(self, topic: str, payload: bytes, correlation: bytes | None) -> None:
        """Queue a receipt for publication at QoS 1 (from any thread)."""
        props = None if correlation is None else CorrelationData(correlation)
        with self._lock:
            self._unconfirmed += 1
        self._client.publish(topic, payload, qos=1, properties=props)

    def ack(self, message: Incoming) -> None:
        """Acknowledge a message: the broker forgets it (call only after its receipt)."""
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the broker has acknowledged every receipt published; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._unconfirmed <= 0:
                    return True
            time.sleep(0.01)
        return False

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self._failure = str(reason)
            log.error("broker refused the connection: %s", reason)
            self._subscribed.set()
            return
        self._connected.set()
        client.subscribe(self._partition.subscription, qos=1)
        # A session kept from a run with other partitioning may hold the other filter:
        # messages would arrive twice, or a share of the group meant for other gateways.
        client.unsubscribe(self._partition.other_subscription)

    def _on_subscribe(self, _c: Any, _u: Any, _mid: int, reasons: list[Any], _p: Any) -> None:
        topic = self._partition.subscription
        if any(r.is_failure for r in reasons):
            self._failure = f"subscription to {topic} refused: {reasons[0]}"
            log.error("%s", self._failure)
        else:
            log.info("subscribed to %s (partition %s)", topic, self._partition)
        self._subscribed.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
        if self._accepting:
            log.warning("disconnected from the broker (%s); reconnecting", reason)

    def _on_publish(self, _c: Any, _u: Any, _mid: int, _reason: Any, _p: Any) -> None:
        with self._lock:
            self._unconfirmed -= 1

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if not self._accepting:
            return
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = msg._topic.decode("utf-8", "replace")  # the raw bytes
        if not self._partition.owns_topic(topic):
            # Another partition's gateway takes it (its session has it queued too).
            self.passed_on += 1
            if msg.qos > 0:
                self._client.ack(msg.mid, msg.qos)
            return
        props = getattr(msg, "properties", None)
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        self._inbox.put(
            Incoming(
                topic=topic,
                payload=bytes(msg.payload),
                correlation=bytes(correlation) if correlation is not None else None,
                mid=msg.mid,
                qos=msg.qos,
                arrived=time.monotonic(),
            )
        )
