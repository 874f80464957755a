"""One field device: its key, its outbox and its MQTT client behind `Device.record(body)`."""

from __future__ import annotations

import dataclasses
import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices.sdk.client import DeviceClient
from devices.sdk.config import BrokerConfig, RetryPolicy
from devices.sdk.keystore import (
    DeviceFiles,
    DeviceIdentity,
    create_device_key,
    identity_of,
    load_broker_ca,
    load_device_key,
    load_log_key,
    save_broker_ca,
    save_log_key,
)
from devices.sdk.outbox import Outbox, OutboxCounts, QueuedEvent
from traceability.errors import ConfigurationError
from traceability.log.note import NoteVerifier


def init_device(
    root: Path,
    passphrase: str | None = None,
    log_key: NoteVerifier | None = None,
    key: Ed25519PrivateKey | None = None,
    ca_file: Path | None = None,
) -> DeviceIdentity:
    """Create a device in `root`: its key (`key`, or a new one) and its empty outbox.

    If given, the log's key and the CA that verifies the broker's TLS certificate go there too.
    """
    identity = create_device_key(root, passphrase, key)
    if ca_file is not None:
        save_broker_ca(root, ca_file)
    Outbox(DeviceFiles(root).outbox, signer=identity.device_id).close()
    if log_key is not None:
        save_log_key(root, log_key.to_vkey())
    return identity


class Device:
    """A device directory opened for recording and sending (see `devices.sdk.keystore`).

    Only one process may open a device at a time: it holds an exclusive lock on
    ``device.lock`` until `close` (the kernel drops it if the process dies). Recording
    works offline; `connect` starts sending the outbox, and keeps sending what is
    recorded afterwards.
    """

    def __init__(self, root: Path, passphrase: str | None = None) -> None:
        self.files = DeviceFiles(root)
        self._lock_fd = _lock(self.files.lock)
        try:
            key = load_device_key(root, passphrase)
            self.identity = identity_of(key)
            self.outbox = Outbox(self.files.outbox, key)
        except BaseException:
            os.close(self._lock_fd)
            raise
        self.client: DeviceClient | None = None

    @property
    def device_id(self) -> str:
        return self.identity.device_id

    def record(self, body: dict[str, Any], at: str | None = None) -> QueuedEvent:
        """Sign and store the next event (InvalidInput if the body is unusable) and send it."""
        event = self.outbox.record(body, at)
        if self.client is not None:
            self.client.wake()
        return event

    def connect(
        self,
        broker: BrokerConfig,
        log_key: NoteVerifier | None = None,
        policy: RetryPolicy | None = None,
    ) -> DeviceClient:
        """Start sending the outbox to `broker`; receipts must be signed by `log_key`.

        `log_key` defaults to the one stored by `herbtrace device init --log-key`; the
        broker's CA (TLS) to the one stored by `herbtrace device init --ca-file`: a device
        with a stored CA connects over TLS only.
        """
        if self.client is not None:
            raise ConfigurationError(f"device {self.device_id} is already connected")
        log_key = log_key or load_log_key(self.files.root)
        if log_key is None:
            raise ConfigurationError(
                f"device {self.device_id} has no log key to check receipts with: "
                "pass --log-key (the output of `herbtrace init` or GET /v1/log/key)"
            )
        if broker.tls_ca is None:
            broker = dataclasses.replace(broker, tls_ca=load_broker_ca(self.files.root))
        self.client = DeviceClient(self.outbox, log_key, broker, policy)
        self.client.start()
        return self.client

    def counts(self) -> OutboxCounts:
        """Return the outbox's counts."""
        return self.outbox.counts()

    def close(self) -> None:
        """Stop sending, close the outbox and release the device (again: nothing)."""
        if self._lock_fd < 0:
            return
        if self.client is not None:
            self.client.stop()
            self.client = None
        self.outbox.close()
        os.close(self._lock_fd)
        self._lock_fd = -1

    def __enter__(self) -> Device:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _lock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise ConfigurationError(f"device {path.parent} is in use by another process") from exc
    return fd
