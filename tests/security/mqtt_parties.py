"""Parties on the MQTT side for the security tests: a running instance and raw sessions.

`running_instance` starts what an operator runs — the project's Mosquitto configuration,
a log on the test's database, the ingest gateway with broker admin rights — and `Session`
is one MQTT 5 connection that a device, honest or hostile, opens with any client ID.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.engine import Engine
from support import TestSigner, settings_for

from devices.broker import Credentials, LocalBroker, TlsFiles
from devices.gateway import Gateway, GatewayConfig
from schemas.mqtt import receipts_topic
from traceability.enrolment import enrol_device
from traceability.ledger import initialise
from traceability.log.note import NoteVerifier
from traceability.settings import Settings
from traceability.storage import tables
from traceability.storage.db import make_engine

NOT_AUTHORIZED = 135
"""MQTT 5 reason code 0x87: the broker refused a CONNECT, SUBSCRIBE or PUBLISH."""
GATEWAY_ID = "gateway-1"


class Session:
    """One MQTT 5 connection; every call waits for the broker's answer."""

    def __init__(
        self,
        port: int,
        credentials: Credentials | None,
        client_id: str,
        ca_file: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.host, self.port = host, port
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        if credentials is not None:
            self.client.username_pw_set(credentials.username, credentials.password)
        if ca_file is not None:
            self.client.tls_set(ca_certs=ca_file)
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.disconnects: list[int] = []
        self._lock = threading.Lock()
        self._connack = threading.Event()
        self._code = -1
        self._answers: dict[int, Any] = {}
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.on_message = lambda _c, _u, msg: self.messages.put(msg)

    def connect(self, persistent: bool = False, timeout: float = 5.0) -> int:
        """Connect (a persistent session if asked) and return the CONNACK reason code."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if persistent:
            props.SessionExpiryInterval = 3600
        self.client.connect(
            self.host, self.port, keepalive=30, clean_start=not persistent, properties=props
        )
        self.client.loop_start()
        if not self._connack.wait(timeout):
            raise TimeoutError("no CONNACK")
        if self._code != 0:
            self.close()
        return self._code

    @property
    def connected(self) -> bool:
        return self.client.is_connected()

    def subscribe(self, topic: str, timeout: float = 5.0) -> list[int]:
        """Subscribe at QoS 1; return the SUBACK's reason codes (< 128 granted)."""
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        codes: list[int] = self._wait(mid, timeout)
        return codes

    def publish(self, topic: str, payload: bytes, timeout: float = 5.0) -> int:
        """Publish at QoS 1; return the PUBACK's reason code."""
        info = self.client.publish(topic, payload, qos=1)
        code: int = self._wait(info.mid, timeout)
        return code

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _wait(self, mid: int, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if mid in self._answers:
                    return self._answers.pop(mid)
            time.sleep(0.005)
        raise TimeoutError(f"no answer to message {mid}")

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._code = int(reason.value)
        self._connack.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.disconnects.append(int(reason.value))

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, reasons: list[Any], _p: Any) -> None:
        with self._lock:
            self._answers[mid] = [int(r.value) for r in reasons]

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with self._lock:
            self._answers[mid] = int(reason.value)


@dataclass
class Instance:
    """A running broker, log and gateway, as an operator runs them."""

    broker: LocalBroker
    settings: Settings
    engine: Engine
    gateway: Gateway
    verifier: NoteVerifier
    gateway_account: Credentials

    def session(self, credentials: Credentials | None, client_id: str) -> Session:
        """An unconnected session to the broker (over TLS when the broker has it)."""
        return Session(self.broker.port, credentials, client_id, self.broker.ca_file)

    def enrol(self, signer: TestSigner) -> Credentials:
        """Enrol `signer` as a device on the log and give it its broker account."""
        enrolment = enrol_device(
            self.engine,
            public_key=signer.public_key,
            organisation="抚松县参业合作社",
            site="抚松基地",
        )
        return self.broker.add_client(signer.key_id, enrolment.broker_password)

    def device(self, signer: TestSigner) -> Session:
        """An enrolled device, connected under its own ID and subscribed to its receipts."""
        session = self.session(self.enrol(signer), signer.key_id)
        assert session.connect(persistent=True) == 0
        assert session.subscribe(receipts_topic(signer.key_id)) == [1]
        return session

    def entries_of(self, signer: TestSigner) -> int:
        """How many entries of `signer` the log holds."""
        return self.entries_of_id(signer.key_id)

    def entries_of_id(self, key_id: str) -> int:
        """How many entries of the signer `key_id` the log holds."""
        table = tables.log_entries
        query = sa.select(sa.func.count()).where(table.c.signer == key_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


@contextmanager
def running_instance(
    db_url: str,
    directory: Path,
    tls: TlsFiles | None = None,
    settings: Settings | None = None,
) -> Iterator[Instance]:
    """Broker (project configuration), log on `db_url` (initialised here unless `settings`
    of an initialised one are given), and a gateway with admin rights on the broker."""
    settings = settings or settings_for(db_url)
    verifier = initialise(settings)  # creates the log, or reads the key of the existing one
    engine = make_engine(db_url)
    broker = LocalBroker(directory / "broker", tls=tls)
    broker.start()
    try:
        account = broker.add_gateway(GATEWAY_ID)
        config = GatewayConfig(
            port=broker.port,
            username=account.username,
            password=account.password,
            ca_file=broker.ca_file,
            linger=0.002,
        )
        gateway = Gateway(settings, config, engine=engine, broker_accounts=broker.accounts)
        gateway.start()
        try:
            yield Instance(broker, settings, engine, gateway, verifier, account)
        finally:
            gateway.stop()
    finally:
        broker.stop()
        engine.dispose()
