"""`herbtrace ingest`, `herbtrace device enroll/revoke` and `herbtrace bench ingest`."""

from __future__ import annotations

import json
import logging
import signal
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from devices.broker import TLS_PORT, BrokerAccounts, TlsFiles, new_password, prepare_directory
from devices.broker.dynsec import check_username
from devices.broker.revocations import disable_revoked
from devices.cli import device_app
from traceability.cli.bench import DEFAULT_PG
from traceability.cli.common import (
    console,
    fail,
    handles_errors,
    load_settings,
    open_engine,
    require_database,
)
from traceability.domain.sites import get_site
from traceability.enrolment import enrol_device, revoke_device
from traceability.errors import NotFound
from traceability.keys import parse_public_key_b64
from traceability.log.signers import ROLES
from traceability.settings import Settings


def register(root: typer.Typer, bench: typer.Typer) -> None:
    """Add the gateway's commands to the root app and the bench group."""
    root.command()(ingest)
    bench.command("ingest")(bench_ingest)


@handles_errors
def ingest(
    workers: Annotated[
        int, typer.Option(min=1, max=16, help="Threads checking batches while one commits")
    ] = 2,
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, max=10_000, help="Most envelopes per append transaction"),
    ] = None,
    linger_ms: Annotated[
        float, typer.Option(min=0, max=1000, help="Wait this long for a batch to fill")
    ] = 5.0,
    client_id: Annotated[
        str | None,
        typer.Option(
            help="MQTT client ID (default, and the only one the broker accepts: "
            "the gateway's username; each gateway process has an account of its own)"
        ),
    ] = None,
    ca_file: Annotated[
        str | None,
        typer.Option(
            help="CA file that verifies the broker's TLS certificate "
            "(default HERBTRACE_MQTT_CA_FILE; set, the gateway connects over TLS)"
        ),
    ] = None,
    session_expiry: Annotated[
        int, typer.Option(min=0, help="Seconds the broker keeps this gateway's session")
    ] = 300,
    receive_maximum: Annotated[
        int, typer.Option(min=1, max=65535, help="Most unacknowledged messages held")
    ] = 2000,
    gap_grace: Annotated[
        float, typer.Option(min=0, help="Seconds before an open sequence gap is alerted")
    ] = 5.0,
    rules: Annotated[
        bool,
        typer.Option(help="Apply the domain rules (event schemas, mass balance, custody, …)"),
    ] = True,
    partition: Annotated[
        str,
        typer.Option(
            envvar="HERBTRACE_INGEST_PARTITION",
            help="k/N: answer for partition k of N of the devices (each device's events all "
            "go to one gateway, in order); run one gateway per partition, 1/N to N/N. "
            "Default 1/1: every device, through the shared subscription",
        ),
    ] = "1/1",
) -> None:
    """Append the events devices publish over MQTT and answer each with a signed receipt."""
    from devices.gateway import Gateway, GatewayConfig, Partition

    part = Partition.parse(partition)
    settings = load_settings()
    require_database(settings)  # `herbtrace init` sets it up; ingest creates nothing
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = GatewayConfig.from_settings(
        settings,
        workers=workers,
        batch_size=batch_size,
        linger=linger_ms / 1000,
        client_id=client_id,
        session_expiry=session_expiry,
        receive_maximum=receive_maximum,
        gap_grace=gap_grace,
        ca_file=ca_file,
        partition=part,
    )
    accounts = BrokerAccounts.from_settings(settings)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    domain = None
    if rules:
        from traceability.domain.service import Domain

        domain = Domain(settings)
    gateway = Gateway(settings, config, domain=domain, broker_accounts=accounts)
    try:
        gateway.start()
        while not stop.wait(1.0):
            pass
    finally:
        gateway.stop()
        if domain is not None:
            domain.close()


@device_app.command("enroll")
@handles_errors
def enroll(
    public_key: Annotated[str, typer.Option(help="base64 of the device's raw Ed25519 public key")],
    organisation: Annotated[str, typer.Option(help="The organisation operating the device")],
    site: Annotated[str, typer.Option(help="Where it works (planting base, workshop, store)")],
    name: Annotated[str | None, typer.Option(help="A name for the device")] = None,
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}")] = "device",
    valid_from: Annotated[
        datetime | None, typer.Option(help="When the key starts being accepted (UTC)")
    ] = None,
    valid_until: Annotated[
        datetime | None, typer.Option(help="When the key stops being accepted (UTC)")
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object (device_id, organisation, site, role, broker_username, "
            "broker_password, broker_password_installed) instead of prose",
        ),
    ] = False,
) -> None:
    """Enrol a device for a registered site of its organisation: register its key and
    create its broker credentials (the password is shown once)."""
    settings = load_settings()
    key = parse_public_key_b64(public_key)
    with open_engine(settings) as engine:
        _check_site(engine, organisation, site)
        enrolment = enrol_device(
            engine,
            public_key=key,
            organisation=organisation,
            site=site,
            name=name,
            role=role,
            valid_from=valid_from,
            valid_until=valid_until,
        )
    device = enrolment.device
    installed, said = _update_broker(settings, device.broker_username, enrolment.broker_password)
    if as_json:
        record = {
            "device_id": device.device_id,
            "organisation": device.organisation,
            "site": device.site,
            "role": device.signer.role,
            "broker_username": device.broker_username,
            "broker_password": enrolment.broker_password,
            "broker_password_installed": installed,
        }
        print(json.dumps(record, ensure_ascii=False))  # noqa: T201 - plain stdout for scripts
        return
    console.print(f"device {device.device_id} enrolled ({device.organisation}, {device.site})")
    console.print(f"broker username: {device.broker_username}")
    console.print(f"broker password: {enrolment.broker_password}")
    console.print(said)


def _check_site(engine: Engine, organisation: str, site: str) -> None:
    """Exit 1 unless `site` is registered and belongs to `organisation` (the API's check)."""
    try:
        with engine.connect() as conn:
            owner = get_site(conn, site).organisation
    except NotFound as exc:
        raise fail(
            f"site {site} is not registered: register the organisation and its site first "
            '(docs/api.md, "The first organisation and site")'
        ) from exc
    if owner != organisation:
        raise fail(f"site {site} belongs to {owner}, not {organisation}")


@device_app.command("revoke")
@handles_errors
def revoke(device_id: Annotated[str, typer.Argument(help="The device ID (its key ID)")]) -> None:
    """Revoke a device: the log refuses its envelopes from now on, the broker its login."""
    settings = load_settings()
    with open_engine(settings) as engine:
        device = revoke_device(engine, device_id)
        console.print(f"device {device.device_id} revoked at {device.signer.revoked_at}")
        accounts = BrokerAccounts.from_settings(settings)
        if accounts is None:
            console.print(
                "no broker admin (HERBTRACE_BROKER_DIR or HERBTRACE_MQTT_ADMIN_PASSWORD): a "
                "gateway with admin rights disables the device's broker account"
            )
            return
        _, unknown = disable_revoked(engine, accounts)
    if device.broker_username in unknown:
        console.print(f"the broker has no account {device.broker_username}")
    else:
        console.print(f"broker account {device.broker_username} disabled")


@device_app.command("broker-config")
@handles_errors
def broker_config(
    directory: Annotated[
        Path, typer.Option("--dir", help="The broker's directory (created if missing)")
    ],
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Listener port (default 8883 with TLS, else 1883)"),
    ] = None,
    bind_address: Annotated[str, typer.Option(help="Address the listener binds")] = "127.0.0.1",
    tls_ca: Annotated[
        Path | None, typer.Option(help="The CA file devices and gateways trust (TLS)")
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="The broker's certificate, naming its host (TLS)")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="The certificate's private key")] = None,
    admin_host: Annotated[
        str | None, typer.Option(help="The host name the admin connects to (the certificate's)")
    ] = None,
) -> None:
    """Render the broker's configuration into a directory: mosquitto.conf, data/, the
    dynamic security state with the admin account (first time only; later runs keep every
    account) and admin.json (mode 0600). Then run `mosquitto -c DIR/mosquitto.conf`."""
    tls_files = (tls_ca, tls_cert, tls_key)
    if any(tls_files) and not all(tls_files):
        raise fail("TLS needs all of --tls-ca, --tls-cert and --tls-key", 2)
    tls = TlsFiles(*(_readable(p) for p in tls_files if p is not None)) if all(tls_files) else None
    listen = port or (TLS_PORT if tls else 1883)
    conf = prepare_directory(
        directory.resolve(), listen, bind_address=bind_address, tls=tls, admin_host=admin_host
    )
    console.print(f"broker configuration: {conf}")
    console.print(f"listener: {'mqtts' if tls else 'mqtt'}://{bind_address}:{listen}")
    console.print(
        f"admin access: {conf.parent / 'admin.json'} (HERBTRACE_BROKER_DIR={conf.parent})"
    )
    console.print(f"start it: mosquitto -c {conf}")


def _readable(path: Path) -> Path:
    if not path.is_file():
        raise fail(f"cannot read {path}", 2)
    return path


@device_app.command("gateway-account")
@handles_errors
def gateway_account(
    username: Annotated[
        str, typer.Argument(help="The gateway's username, also its only client ID")
    ] = "herbtrace-gateway",
) -> None:
    """Create a broker account for one gateway process (or give it a new password); print it.

    Each `herbtrace ingest` process has its own account: the broker binds the account to
    one client ID, so no other client can take over a gateway's session.
    """
    check_username(username)
    accounts = BrokerAccounts.from_settings(load_settings())
    if accounts is None:
        raise fail("set HERBTRACE_BROKER_DIR or HERBTRACE_MQTT_ADMIN_PASSWORD to reach the broker")
    password = new_password()
    accounts.set_gateway(username, password)
    console.print(f"broker username: {username}")
    console.print(f"broker password: {password}")


def _update_broker(settings: Settings, username: str, password: str) -> tuple[bool, str]:
    """Create the device's broker account, when this command has admin rights on the broker;
    whether it did, and what to tell the operator."""
    accounts = BrokerAccounts.from_settings(settings)
    if accounts is None:
        return False, (
            "no broker admin (HERBTRACE_BROKER_DIR or HERBTRACE_MQTT_ADMIN_PASSWORD): create "
            "the device's broker account with these credentials"
        )
    accounts.set(username, password)
    state = "stopped; it reads the account when it starts" if accounts.offline else "running"
    return True, f"broker account {username} created (broker {state})"


@handles_errors
def bench_ingest(
    devices: Annotated[int, typer.Option(min=1, max=2000, help="Simulated devices")] = 50,
    events: Annotated[
        int, typer.Option(min=100, help="Envelopes in the burst phase (all devices)")
    ] = 20_000,
    backend: Annotated[str, typer.Option(help="sqlite or postgres")] = "sqlite",
    rate: Annotated[float, typer.Option(min=1, help="Steady phase: envelopes per second")] = 1000,
    seconds: Annotated[float, typer.Option(min=1, help="Steady phase: how long")] = 10,
    gateways: Annotated[int, typer.Option(min=1, max=8, help="Gateway processes")] = 1,
    publishers: Annotated[int, typer.Option(min=1, max=16, help="Publisher processes")] = 2,
    postgres_url: Annotated[
        str, typer.Option(envvar="HERBTRACE_BENCH_POSTGRES_URL", help="Server for a scratch DB")
    ] = DEFAULT_PG,
    rules: Annotated[
        bool,
        typer.Option(
            "--rules",
            help="The domain rules on, the devices telling the demo stories on real batches "
            "(one device per field party in each lane of stories); then audit and reindex --check",
        ),
    ] = False,
) -> None:
    """Sustained ingest rate until receipt, latency at a steady rate, and gateway memory."""
    from devices.bench.ingest import IngestPlan, measure_ingest
    from devices.bench.report import print_figures
    from traceability.bench.scratch_db import scratch_postgres

    plan = IngestPlan(devices, events, rate, seconds, gateways, publishers, rules=rules)
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            figures = measure_ingest(url, backend, plan, console.print)
    elif backend == "postgres":
        with scratch_postgres(postgres_url) as url:
            figures = measure_ingest(url, backend, plan, console.print)
    else:
        raise fail(f"unknown backend {backend!r}: use sqlite or postgres", 2)
    print_figures(figures, console.print)
