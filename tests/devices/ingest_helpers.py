"""Gateway test helpers: a test log's settings, a running gateway, and enrolled devices."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import support
from mqtt_helpers import BrokerFixture, TestClient
from sqlalchemy.engine import Engine

from devices.broker import Credentials
from devices.gateway import Gateway, GatewayConfig, Partition
from schemas.mqtt import ReceiptPayload, events_topic, receipts_topic
from traceability.bench.child_process import HerbtraceProcess
from traceability.canonical import canonical_bytes
from traceability.ingest.receipts import verify_receipt
from traceability.log.note import NoteVerifier
from traceability.settings import Settings

ORIGIN = "test.herbtrace/log"


def log_settings(url: str) -> Settings:
    """Settings for a test log on `url`."""
    return Settings(database_url=url, log_origin=ORIGIN, checkpoint_interval=0.05)


def gateway_config(
    broker: BrokerFixture, client_id: str = "test-gateway", partition: Partition | None = None
) -> GatewayConfig:
    """A gateway config for the test's broker, with short batching and gap grace; the
    gateway logs in with an account of its own named `client_id`, and answers for
    `partition` of the devices (all by default)."""
    account = broker.add_gateway(client_id)
    return GatewayConfig(
        host=broker.host,
        port=broker.port,
        username=account.username,
        password=account.password,
        client_id=client_id,
        linger=0.002,
        gap_grace=0.3,
        partition=partition or Partition(),
    )


@dataclass
class Device:
    """An enrolled test device: its signing key, broker credentials and a connected client
    subscribed to its own receipts."""

    signer: support.TestSigner
    credentials: Credentials
    client: TestClient
    sent: list[bytes] = field(default_factory=list)

    @property
    def device_id(self) -> str:
        return self.signer.key_id

    def publish(self, payload: bytes, correlation: bytes | None = None) -> None:
        """Publish raw bytes on this device's events topic; the broker must take them."""
        assert self.client.publish(events_topic(self.device_id), payload, correlation) in (0, 16)

    def send_next(self) -> bytes:
        """Sign, publish and return this device's next envelope."""
        data = canonical_bytes(self.signer.next())
        self.publish(data)
        self.sent.append(data)
        return data

    def receipt(self, timeout: float = 10.0) -> bytes:
        """Return the next receipt this device receives."""
        return bytes(self.client.next_message(timeout).payload)


@dataclass
class Ingest:
    """A running gateway on its own SQLite log, and a way to enrol devices on it."""

    broker: BrokerFixture
    settings: Settings
    engine: Engine
    gateway: Gateway
    verifier: NoteVerifier

    def device(self, enrolled: bool = True) -> Device:
        """A device with broker credentials, enrolled on the log unless `enrolled` is False."""
        return new_device(self.broker, self.engine, enrolled)


def new_device(
    broker: BrokerFixture,
    engine: Engine,
    enrolled: bool = True,
    role: str = "device",
    signer: support.TestSigner | None = None,
    **where: str,
) -> Device:
    """A connected device subscribed to its receipts; enrolled on the log in `engine` with
    `role` (and `organisation`, `site` if given) unless `enrolled` is False (then it has
    broker credentials only). Its key is `signer`'s, or a new one."""
    signer = signer or support.TestSigner()
    if enrolled:
        credentials = broker.enrol(engine, signer.public_key, role=role, **where)
    else:
        credentials = broker.add_client(signer.key_id)
    client = broker.client(credentials)
    assert client.subscribe(receipts_topic(signer.key_id)) == [1]
    return Device(signer, credentials, client)


class GatewayProcess(HerbtraceProcess):
    """`herbtrace ingest` running as a real process; its log lines are collected as they come.

    It runs in a session of its own, so `close()` also ends the signature-checking worker
    processes a SIGKILLed gateway leaves behind.
    """

    def __init__(self, env: dict[str, str], cwd: Path, *args: str) -> None:
        super().__init__(["ingest", *args], env, ready="ingesting from", cwd=cwd)

    def kill(self) -> None:
        """SIGKILL the gateway process alone: it gets no chance to finish anything."""
        self.process.kill()
        self.process.wait(30)

    def stop(self) -> int:
        """SIGTERM and wait: the gateway answers what it took in, then exits."""
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(60)
        self._reader.join(10)
        return code

    def close(self) -> None:
        """End the gateway's whole session (orphaned workers too) and its output pipe."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self._reader.join(10)
        if self.process.stdout is not None and not self._reader.is_alive():
            self.process.stdout.close()

    def counted(self, status: str) -> int:
        """How many receipts of `status` the stopped gateway reported sending."""
        for line in reversed(self.lines):
            match = re.search(r"stopped: (\d+) accepted, (\d+) duplicate, (\d+) rejected", line)
            if match:
                return int(match.group(("accepted", "duplicate", "rejected").index(status) + 1))
        raise AssertionError("no summary line:\n" + "\n".join(self.lines))


def gateway_env(broker: BrokerFixture, database_url: str) -> dict[str, str]:
    """Environment for `herbtrace` processes on the test's log and broker."""
    return {
        "HERBTRACE_DATABASE_URL": database_url,
        "HERBTRACE_LOG_ORIGIN": ORIGIN,
        "HERBTRACE_CHECKPOINT_INTERVAL": "0.2",
        **broker.env(),
    }


class ReceiptCollector:
    """Collects a device's receipts (verified with the log key) by envelope hash."""

    def __init__(self, device: Device, log_key: bytes) -> None:
        self.device = device
        self.log_key = log_key
        self.by_hash: dict[str, list[ReceiptPayload]] = {}

    def take(self, timeout: float) -> bool:
        """Take the next receipt; False if none comes within `timeout` seconds."""
        try:
            message = self.device.client.next_message(timeout)
        except queue.Empty:
            return False
        receipt = verify_receipt(bytes(message.payload), self.log_key)
        assert receipt.envelope_hash is not None, receipt
        self.by_hash.setdefault(receipt.envelope_hash, []).append(receipt)
        return True

    def drain(self, timeout: float) -> None:
        """Take every receipt arriving within `timeout` seconds of the last one."""
        while self.take(timeout):
            pass

    def wait_for(self, hashes: set[str], timeout: float) -> set[str]:
        """Wait until every hash in `hashes` has a receipt; return those still without."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            missing = hashes - set(self.by_hash)
            if not missing:
                return set()
            self.drain(0.2)
        return hashes - set(self.by_hash)


def signer_in(partition: Partition) -> support.TestSigner:
    """A new signing key whose device ID falls in `partition`."""
    while True:
        signer = support.TestSigner()
        if partition.owns_device(signer.key_id):
            return signer


def envelope_hash_hex(data: bytes) -> str:
    """The envelope hash (hex) of an envelope's JSON bytes."""
    payload = json.loads(data)["payload"]
    return hashlib.sha256(canonical_bytes(payload)).hexdigest()
