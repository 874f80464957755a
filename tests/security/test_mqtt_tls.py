"""A hostile network between devices and the broker: MQTT over TLS, verified by devices.

The operator's CA and server certificate are made at test time. The broker rendered with
them listens with TLS only; devices (the SDK, the simulator, `herbtrace device init`),
gateways and the broker's admin verify its certificate with the CA they are given. Judged
by effect: events go the whole way over TLS and into the log (SQLite, PostgreSQL); a
client that does not trust the CA gets no session; a plain-text client gets none either;
an impostor broker never receives a device's password.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mqtt_parties import Session, running_instance
from support import run_herbtrace, settings_for
from tls_material import Authority

from devices.broker import Credentials, LocalBroker, TlsFiles, new_password
from devices.gateway import Gateway, GatewayConfig
from devices.sdk import BrokerConfig, Device, RetryPolicy
from devices.sdk.device import init_device
from devices.simulate import prepare_devices
from traceability.enrolment import enrol_device
from traceability.errors import ConfigurationError
from traceability.ledger import initialise
from traceability.log.note import NoteSigner

HOSTS = ["localhost", "127.0.0.1"]
EVENTS = 12
BODY = {"type": "harvest", "batch": "FS-RS-2026-00001", "quantity": {"value": "1", "unit": "kg"}}


@pytest.fixture(name="pki")
def _pki(tmp_path: Path) -> tuple[Authority, TlsFiles]:
    """The operator's CA and the broker's certificate for this host, issued by it."""
    ca = Authority.create(tmp_path / "pki", "operator-ca")
    return ca, ca.server(tmp_path / "pki", "broker", HOSTS)


def test_the_whole_device_path_runs_over_tls(
    db_url: str, tmp_path: Path, pki: tuple[Authority, TlsFiles]
) -> None:
    """A device created with `init_device(ca_file=…)` sends its events through the TLS
    broker to the gateway (also on TLS), they are appended, and the receipts come back
    and settle its outbox."""
    ca, files = pki
    with running_instance(db_url, tmp_path, tls=files) as instance:
        root = tmp_path / "device"
        init_device(root, log_key=instance.verifier, ca_file=ca.path)
        with Device(root) as device:
            password = enrol_device(
                instance.engine,
                public_key=device.identity.public_key,
                organisation="抚松县参业合作社",
                site="基地",
            ).broker_password
            instance.broker.add_client(device.device_id, password)
            device.connect(
                BrokerConfig("localhost", instance.broker.port, password),
                policy=RetryPolicy(ack_timeout=3.0),
            )
            for _ in range(EVENTS):
                device.record(BODY)
            assert device.client is not None
            assert device.client.wait_drained(30), device.client.stats
            assert device.counts().delivered == EVENTS
        assert instance.entries_of_id(device.device_id) == EVENTS


def plain_connack(port: int, credentials: Credentials) -> int | None:
    """The CONNACK a plain-text MQTT client gets on `port`, or None when it gets none."""
    session = Session(port, credentials, credentials.username)
    try:
        return session.connect(timeout=3.0)
    except (TimeoutError, OSError):
        return None
    finally:
        session.close()


def tls_connack(port: int, credentials: Credentials, ca_file: str | None) -> int | None:
    """The CONNACK a TLS client trusting `ca_file` (None: the system's CAs) gets, or None
    when the handshake fails."""
    session = Session(port, credentials, credentials.username, ca_file=None)
    if ca_file is None:
        session.client.tls_set()
    else:
        session.client.tls_set(ca_certs=ca_file)
    try:
        return session.connect(timeout=3.0)
    except (ssl.SSLError, TimeoutError, OSError):
        return None
    finally:
        session.close()


# paho leaves the socket of a failed TLS handshake for the garbage collector to close
PAHO_HANDSHAKE_LEAK = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning"
)


@PAHO_HANDSHAKE_LEAK
def test_only_clients_that_verify_the_broker_get_a_session(
    tmp_path: Path, pki: tuple[Authority, TlsFiles]
) -> None:
    """With the right password, a client on TLS trusting the operator's CA is accepted;
    the same client in plain text, trusting only the system's CAs, or trusting another CA
    gets no session; a gateway or admin with the wrong CA cannot start."""
    ca, files = pki
    rogue = Authority.create(tmp_path / "rogue", "rogue-ca")
    with LocalBroker(tmp_path / "broker", tls=files) as broker:
        device = broker.add_client("d" * 32)
        assert tls_connack(broker.port, device, str(ca.path)) == 0
        assert plain_connack(broker.port, device) is None
        assert tls_connack(broker.port, device, None) is None
        assert tls_connack(broker.port, device, str(rogue.path)) is None
        settings = settings_for(f"sqlite:///{tmp_path / 'log.db'}")
        initialise(settings)
        config = GatewayConfig(
            port=broker.port,
            username=broker.gateway.username,
            password=broker.gateway.password,
            ca_file=str(rogue.path),
        )
        with pytest.raises(ConfigurationError):
            Gateway(settings, config).start()
        conf = (broker.directory / "mosquitto.conf").read_text()
        listeners = [line for line in conf.splitlines() if line.startswith("listener")]
        assert listeners == [f"listener {broker.port} 127.0.0.1"]


class Impostor:
    """A TLS server posing as the broker: records every byte a client sends it after the
    handshake (an MQTT CONNECT carries the password)."""

    def __init__(self, files: TlsFiles) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(files.cert_file, files.key_file)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.handshakes = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    self.handshakes += 1
                    tls.settimeout(2)
                    self.received += tls.recv(4096)
            except (ssl.SSLError, OSError):
                conn.close()

    def close(self) -> None:
        self.sock.close()


@PAHO_HANDSHAKE_LEAK
@pytest.mark.parametrize("impostor", ["rogue CA", "right CA, other host"])
def test_a_device_never_hands_its_password_to_an_impostor_broker(
    tmp_path: Path, pki: tuple[Authority, TlsFiles], impostor: str
) -> None:
    """An SDK device that trusts the operator's CA refuses an impostor whose certificate
    another CA issued, or the operator's CA issued for another host: the impostor never
    sees its password, and the event stays in the outbox. A device trusting the rogue CA
    would have sent it (the control that shows the impostor works)."""
    ca, _ = pki
    rogue = Authority.create(tmp_path / "rogue", "rogue-ca")
    issuer, hosts = (rogue, HOSTS) if impostor == "rogue CA" else (ca, ["mqtt.elsewhere.example"])
    fake = Impostor(issuer.server(tmp_path / "rogue", "impostor", hosts))
    log_key = NoteSigner("test.herbtrace/log", Ed25519PrivateKey.generate()).verifier()
    password = new_password()
    cases = [(ca.path, False)] + ([(rogue.path, True)] if impostor == "rogue CA" else [])
    try:
        for n, (trusted, leaks) in enumerate(cases):
            root = tmp_path / f"device-{n}"
            init_device(root, log_key=log_key, ca_file=trusted)
            with Device(root) as device:
                device.record(BODY)
                device.connect(
                    BrokerConfig("127.0.0.1", fake.port, password),
                    policy=RetryPolicy(reconnect_max=1),
                )
                time.sleep(2.5)
                assert device.counts().pending == 1
            assert (password.encode() in fake.received) == leaks, fake.received[:80]
    finally:
        fake.close()


@PAHO_HANDSHAKE_LEAK
def test_device_init_and_simulate_take_a_ca_file(
    tmp_path: Path, pki: tuple[Authority, TlsFiles]
) -> None:
    """`herbtrace device init --ca-file` keeps the CA with the device (a file that is no
    CA is refused, exit 1), and `herbtrace device simulate --ca-file` delivers over TLS."""
    ca, files = pki
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("hello")
    done = run_herbtrace(
        ["device", "init", "--dir", str(tmp_path / "x"), "--ca-file", str(bad)], tmp_path
    )
    assert done.returncode == 1
    assert "not a PEM CA certificate" in done.stderr
    done = run_herbtrace(
        ["device", "init", "--dir", str(tmp_path / "y"), "--ca-file", str(ca.path)], tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "y" / "broker-ca.pem").read_bytes() == ca.path.read_bytes()

    url = f"sqlite:///{tmp_path / 'log.db'}"
    with running_instance(url, tmp_path, tls=files) as instance:
        root = tmp_path / "sim"
        (identity,) = prepare_devices(root, 0, 1)
        password = enrol_device(
            instance.engine,
            public_key=identity.public_key,
            organisation="抚松县参业合作社",
            site="基地",
        ).broker_password
        instance.broker.add_client(identity.device_id, password)
        credentials = tmp_path / "credentials.json"
        credentials.write_text(json.dumps({identity.device_id: password}))
        args = [
            "device",
            "simulate",
            "--dir",
            str(root),
            "--devices",
            "1",
            "--events",
            "5",
            "--rate",
            "0",
            "--broker-host",
            "localhost",
            "--broker-port",
            str(instance.broker.port),
            "--credentials",
            str(credentials),
            "--log-key",
            instance.verifier.to_vkey(),
            "--timeout",
            "60",
        ]
        without = run_herbtrace([*args, "--timeout", "3"], tmp_path)
        assert without.returncode == 1  # plain text: no session, nothing delivered
        done = run_herbtrace([*args, "--ca-file", str(ca.path)], tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "delivered 5" in done.stdout
