"""MQTT test helpers: a plain paho MQTT 5 client, and the `broker` fixture's interface."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.engine import Engine

from devices.broker import Credentials, LocalBroker
from devices.mqtt_client import Client
from traceability.enrolment import enrol_device

NOT_AUTHORIZED = 135
"""MQTT 5 reason code 0x87, which Mosquitto puts in the PUBACK of a publish the ACL denies."""


class TestClient:
    """One MQTT 5 connection; every call waits for the broker's answer (or times out).

    `messages` receives every message of the client's subscriptions, in arrival order.
    """

    __test__ = False  # a helper, not a test class

    def __init__(
        self,
        host: str,
        port: int,
        credentials: Credentials | None,
        client_id: str | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or (credentials.username if credentials else uuid.uuid4().hex),
            protocol=mqtt.MQTTv5,
        )
        if credentials is not None:
            self.client.username_pw_set(credentials.username, credentials.password)
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._connack: int | None = None
        self._acks: dict[int, int] = {}
        self._subacks: dict[int, list[int]] = {}
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = lambda _c, _u, msg: self.messages.put(msg)

    def connect(self, timeout: float = 5.0) -> int:
        """Connect (clean start) and return the CONNACK reason code (0 = accepted)."""
        self.client.connect(self.host, self.port, keepalive=30, clean_start=True)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            raise TimeoutError("no CONNACK")
        assert self._connack is not None
        if self._connack != 0:
            self.client.disconnect()
            self.client.loop_stop()
        return self._connack

    def publish(
        self, topic: str, payload: bytes, correlation: bytes | None = None, timeout: float = 5.0
    ) -> int:
        """Publish at QoS 1 and return the PUBACK's reason code (0 or 16 = the broker took it)."""
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if correlation is not None:
            props.CorrelationData = correlation
        info = self.client.publish(topic, payload, qos=1, properties=props)
        code: int = self._wait(self._acks, info.mid, timeout)
        return code

    def publish_nowait(self, topic: str, payload: bytes, correlation: bytes | None = None) -> None:
        """Publish at QoS 1 without waiting for the PUBACK."""
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if correlation is not None:
            props.CorrelationData = correlation
        self.client.publish(topic, payload, qos=1, properties=props)

    def subscribe(self, topic: str, timeout: float = 5.0) -> list[int]:
        """Subscribe at QoS 1 and return the SUBACK's reason codes (< 128 = granted)."""
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        codes: list[int] = self._wait(self._subacks, mid, timeout)
        return codes

    def next_message(self, timeout: float = 10.0) -> mqtt.MQTTMessage:
        """Return the next message received, or raise queue.Empty after `timeout`."""
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def _wait(self, table: dict[int, Any], mid: int, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if mid in table:
                    return table.pop(mid)
            time.sleep(0.005)
        raise TimeoutError(f"no answer to message {mid}")

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connack = int(reason.value)
        self._connected.set()

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with self._lock:
            self._acks[mid] = int(reason.value)

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, reasons: list[Any], _p: Any) -> None:
        with self._lock:
            self._subacks[mid] = [int(r.value) for r in reasons]


@dataclass
class BrokerFixture:
    """A running Mosquitto for one test, and helpers to give clients credentials."""

    local: LocalBroker
    clients: list[TestClient] = field(default_factory=list)

    @property
    def host(self) -> str:
        return self.local.host

    @property
    def port(self) -> int:
        return self.local.port

    @property
    def directory(self) -> Path:
        return self.local.directory

    @property
    def gateway(self) -> Credentials:
        return self.local.gateway

    def add_client(self, username: str, password: str | None = None) -> Credentials:
        """Give `username` broker credentials (nothing in any database)."""
        return self.local.add_client(username, password)

    def add_gateway(self, username: str) -> Credentials:
        """Give one more gateway an account of its own (client ID = username)."""
        return self.local.add_gateway(username)

    def enrol(
        self,
        engine: Engine,
        public_key: bytes,
        *,
        organisation: str = "抚松县参业合作社",
        site: str = "抚松基地",
        role: str = "device",
    ) -> Credentials:
        """Enrol a device on the log in `engine` and give it broker credentials."""
        enrolment = enrol_device(
            engine, public_key=public_key, organisation=organisation, site=site, role=role
        )
        device = enrolment.device
        return self.local.add_client(device.broker_username, enrolment.broker_password)

    def client(
        self, credentials: Credentials | None = None, client_id: str | None = None
    ) -> TestClient:
        """Return a connected MQTT 5 client (it must be accepted), closed after the test."""
        client = TestClient(self.host, self.port, credentials, client_id)
        self.clients.append(client)
        code = client.connect()
        assert code == 0, f"connection refused with reason code {code}"
        return client

    def env(self, gateway: str | None = None) -> dict[str, str]:
        """Environment variables pointing the herbtrace CLI at this broker as the default
        gateway, or as gateway account `gateway` (created for it)."""
        account = self.gateway if gateway is None else self.add_gateway(gateway)
        return {
            "HERBTRACE_MQTT_HOST": self.host,
            "HERBTRACE_MQTT_PORT": str(self.port),
            "HERBTRACE_MQTT_USERNAME": account.username,
            "HERBTRACE_MQTT_PASSWORD": account.password,
            "HERBTRACE_BROKER_DIR": str(self.directory),
        }
