"""The main job on its embedded default: SQLite, a local Mosquitto, the gateway, the API and
simulated devices telling the demo stories over MQTT."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from itertools import islice
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa
import uvicorn

from devices.broker import LocalBroker
from devices.gateway import Gateway, GatewayConfig
from devices.sdk import BrokerConfig, Device, RetryPolicy
from devices.sdk.device import init_device
from traceability.demo.parties import FUSONG_COOP, SIGNERS, DemoSigner
from traceability.demo.seed import register_demo_signers, sign_events
from traceability.demo.stories import events_from
from traceability.demo.story import Event, utc_text
from traceability.domain.alerts import list_alerts
from traceability.domain.service import Domain
from traceability.enrolment import enrol_device
from traceability.errors import ConfigurationError
from traceability.ledger import initialise
from traceability.log.note import NoteVerifier
from traceability.settings import Settings
from traceability.users import create_user, issue_token

log = logging.getLogger("herbtrace.demo")

MARKER = ".herbtrace-demo"
"""Marks a directory the demo made, so it only ever clears its own scratch space."""
LOCK = ".herbtrace-demo.lock"
"""Locked by the running demo (`lock_directory`), so a second one clears nothing."""
DEMO_REGULATOR = "demo.regulator"
"""The demo's regulator user, whose token the demo prints for the regulator page."""
DEMO_OPERATOR = "demo.fusong"
"""The demo's operator of the ginseng co-operative, who enrols phones on the handheld page."""
FIELD_ROLES = ("device", "inspector")
"""Parties that record through a device over MQTT; the registrar and regulator use the API."""


@dataclass
class DemoReport:
    """What a demo run did."""

    events: int = 0
    over_mqtt: int = 0
    direct: int = 0
    rejected: list[str] = field(default_factory=list)
    log_size: int = 0
    alerts: int = 0


def check_port_free(host: str, port: int, what: str) -> None:
    """Refuse, before anything is touched, a port something already listens on."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigurationError(
                f"{what} port {host}:{port} is in use ({exc.strerror}); is another "
                "`herbtrace demo` running? Stop it, or pass another --port"
            ) from exc


def lock_directory(directory: Path) -> TextIO:
    """Take the demo directory's lock, or refuse if another demo holds it.

    The lock is an exclusive `flock` on a file inside the directory, held for as long as
    the returned file stays open (the whole run); the kernel releases it when the process
    ends, however it ends. Taken before anything is cleared, so a second demo in the same
    directory never deletes the running one's data. A non-empty directory the demo did
    not make is refused before anything is written to it.
    """
    if directory.exists() and any(directory.iterdir()) and not (directory / MARKER).exists():
        raise ConfigurationError(
            f"{directory} is not empty and was not made by `herbtrace demo`; "
            "pass another --data-dir"
        )
    directory.mkdir(parents=True, exist_ok=True)
    handle = (directory / LOCK).open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ConfigurationError(
            f"another `herbtrace demo` ({holder}) is running in {directory}; nothing was "
            "cleared. Stop it first, or pass another --data-dir"
        ) from exc
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return handle


def fresh_directory(directory: Path) -> None:
    """Empty the demo's own directory, whose lock the caller holds (`lock_directory`), and
    mark it as its own; the lock file itself stays."""
    for child in directory.iterdir():
        if child.name == LOCK:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    (directory / MARKER).write_text("scratch space of `herbtrace demo`, cleared on each run\n")


class DemoRun:
    """One demo: start everything, tell `events` story events, serve until stopped."""

    def __init__(
        self, directory: Path, settings: Settings, broker_port: int, api_host: str, api_port: int
    ) -> None:
        self.directory = directory
        self.settings = settings
        self.broker = LocalBroker(directory / "broker", port=broker_port)
        self.api_host = api_host
        self.api_port = api_port
        self.domain: Domain | None = None
        self.gateway: Gateway | None = None
        self.devices: dict[str, Device] = {}
        self._server: uvicorn.Server | None = None
        self._api_thread: threading.Thread | None = None

    # --- start and stop ----------------------------------------------------------------

    def start(self) -> None:
        """Create the database, start the broker and gateway, enrol the field devices."""
        verifier = initialise(self.settings)
        self.domain = Domain(self.settings)
        register_demo_signers(self.domain.engine)
        self.broker.start()
        config = GatewayConfig.from_settings(
            self.settings,
            host=self.broker.host,
            port=self.broker.port,
            username=self.broker.gateway.username,
            password=self.broker.gateway.password,
        )
        self.gateway = Gateway(
            self.settings, config, domain=self.domain, broker_accounts=self.broker.accounts
        )
        self.gateway.start()
        for party in SIGNERS:
            if party.role in FIELD_ROLES:
                self.devices[party.key_id] = self._device(party, verifier)

    @property
    def live(self) -> Domain:
        """The running demo's domain service."""
        if self.domain is None:
            raise ConfigurationError("the demo has not started")
        return self.domain

    def _device(self, party: DemoSigner, log_key: NoteVerifier) -> Device:
        root = self.directory / "devices" / party.label
        init_device(root, log_key=log_key, key=party.key)
        enrolment = enrol_device(
            self.live.engine,
            public_key=party.public_key,
            organisation=party.organisation,
            site=_site_of(party),
            name=party.name,
            role=party.role,
        )
        self.broker.add_client(enrolment.device.device_id, enrolment.broker_password)
        device = Device(root)
        device.connect(
            BrokerConfig(self.broker.host, self.broker.port, enrolment.broker_password),
            policy=RetryPolicy(window=50, ack_timeout=5.0),
        )
        return device

    def serve_api(self) -> None:
        """Serve the HTTP API in a background thread."""
        from api.main import create_app

        config = uvicorn.Config(
            create_app(self.settings),
            host=self.api_host,
            port=self.api_port,
            log_level="warning",
            proxy_headers=False,  # nothing stands in front of the demo's API
        )
        self._server = uvicorn.Server(config)
        self._api_thread = threading.Thread(target=self._server.run, name="api", daemon=True)
        self._api_thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._api_thread.is_alive() or time.monotonic() > deadline:
                raise ConfigurationError(f"the API did not start on port {self.api_port}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop everything started, in reverse order."""
        if self._server is not None:
            self._server.should_exit = True
            if self._api_thread is not None:
                self._api_thread.join(10)
        for device in self.devices.values():
            device.close()
        if self.gateway is not None:
            self.gateway.stop()
        self.broker.stop()
        if self.domain is not None:
            self.domain.close()

    # --- the stories -------------------------------------------------------------------

    def tell(self, count: int, timeout: float = 60.0) -> DemoReport:
        """Record the first `count` story events in order: field parties through their
        devices over MQTT (waiting for the receipt before another party acts), the
        registrar and regulator directly."""
        domain = self.live
        report = DemoReport()
        direct_state: dict[str, tuple[int, str]] = {}
        for event in islice(events_from(0), count):
            device = self.devices.get(event.party.key_id)
            if device is None:
                self._drain(timeout)
                envelope = next(sign_events([event], direct_state))
                result = domain.record([envelope])[0]
                report.direct += 1
                if result.status == "rejected":
                    report.rejected.append(f"{event.body['type']}: {result.reason}")
            else:
                if self._others_pending(device):
                    self._drain(timeout)
                device.record(event.body, at=utc_text(event.time.astimezone(UTC)))
                report.over_mqtt += 1
            report.events += 1
        self._drain(timeout)
        for device in self.devices.values():
            rejected = device.counts().rejected
            if rejected:
                report.rejected.append(f"{device.device_id}: {rejected} rejected")
        domain.log_alerts()
        report.log_size = domain.ledger.size()
        with domain.engine.connect() as conn:
            report.alerts = len(list_alerts(conn, limit=1000))
        return report

    def _others_pending(self, device: Device) -> bool:
        return any(d.counts().pending for d in self.devices.values() if d is not device)

    def _drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while any(d.counts().pending for d in self.devices.values()):
            if time.monotonic() > deadline:
                raise ConfigurationError(f"devices still had events pending after {timeout}s")
            time.sleep(0.005)

    def sign_ins(self) -> tuple[str, str]:
        """Bearer tokens for the demo's people: a regulator (for the regulator page) and an
        operator of the ginseng co-operative (who enrols a phone on the handheld page)."""
        engine = self.live.engine
        create_user(engine, DEMO_REGULATOR, "regulator")
        create_user(engine, DEMO_OPERATOR, "operator", FUSONG_COOP)
        regulator = issue_token(engine, DEMO_REGULATOR, "demo").token
        operator = issue_token(engine, DEMO_OPERATOR, "demo").token
        return regulator, operator

    def sample_links(self) -> Iterator[tuple[str, str]]:
        """A few pages worth opening: a sold unit, a recalled unit, the regulator's page."""
        domain = self.live
        base = f"http://{self.api_host}:{self.api_port}"
        units = sa.table(
            "units", sa.column("gtin"), sa.column("lot"), sa.column("serial"), sa.column("status")
        )
        with domain.engine.connect() as conn:
            for status in ("sold", "recalled"):
                row = conn.execute(
                    sa.select(units.c.gtin, units.c.lot, units.c.serial)
                    .where(units.c.status == status)
                    .limit(1)
                ).first()
                if row is not None:
                    yield status, f"{base}/01/{row[0]}/10/{row[1]}/21/{row[2]}"
        yield "regulator", f"{base}/regulator"
        yield "handheld", f"{base}/handheld"
        yield "API", f"{base}/docs"
        yield "log", f"{base}/v1/log/checkpoint"


def _site_of(party: DemoSigner) -> str:
    """The first site registered for the party's organisation (the device's place)."""
    for event in _registrations():
        body = event.body
        if body["type"] == "site" and body["organisation"] == party.organisation:
            return str(body["id"])
    return party.organisation


def _registrations() -> list[Event]:
    from traceability.demo.stories import registrations

    return registrations()


def demo_settings(directory: Path) -> Settings:
    """Settings of the demo: its SQLite file in `directory`, the rest from the environment."""
    os.environ["HERBTRACE_DATABASE_URL"] = f"sqlite:///{directory / 'herbtrace.db'}"
    return Settings()
