"""`herbtrace ingest`, `herbtrace device enroll/revoke` and `herbtrace bench ingest`."""

from __future__ import annotations

import logging
import signal
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from devices.broker import PasswordFile, reload_broker
from devices.cli import device_app
from traceability.cli.bench import DEFAULT_PG
from traceability.cli.common import console, fail, handles_errors, load_settings, open_engine
from traceability.enrolment import enrol_device, revoke_device
from traceability.keys import parse_public_key_b64
from traceability.ledger import initialise
from traceability.settings import Settings
from traceability.signers import ROLES


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
        typer.Option(help="MQTT client ID, one per gateway process (default: per host)"),
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
) -> None:
    """Append the events devices publish over MQTT and answer each with a signed receipt."""
    from devices.gateway import Gateway, GatewayConfig

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = load_settings()
    initialise(settings)
    config = GatewayConfig.from_settings(
        settings,
        workers=workers,
        batch_size=batch_size,
        linger=linger_ms / 1000,
        client_id=client_id,
        session_expiry=session_expiry,
        receive_maximum=receive_maximum,
        gap_grace=gap_grace,
    )
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    domain = None
    if rules:
        from traceability.domain.service import Domain

        domain = Domain(settings)
    gateway = Gateway(settings, config, domain=domain)
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
) -> None:
    """Enrol a device: register its key and create its broker credentials."""
    settings = load_settings()
    with open_engine(settings) as engine:
        enrolment = enrol_device(
            engine,
            public_key=parse_public_key_b64(public_key),
            organisation=organisation,
            site=site,
            name=name,
            role=role,
            valid_from=valid_from,
            valid_until=valid_until,
        )
    device = enrolment.device
    console.print(f"device {device.device_id} enrolled ({device.organisation}, {device.site})")
    console.print(f"broker username: {device.broker_username}")
    console.print(f"broker password: {enrolment.broker_password}")
    _update_broker(settings, device.broker_username, enrolment.broker_password)


@device_app.command("revoke")
@handles_errors
def revoke(device_id: Annotated[str, typer.Argument(help="The device ID (its key ID)")]) -> None:
    """Revoke a device: the log refuses its envelopes from now on, the broker its login."""
    settings = load_settings()
    with open_engine(settings) as engine:
        device = revoke_device(engine, device_id)
    console.print(f"device {device.device_id} revoked at {device.signer.revoked_at}")
    _update_broker(settings, device.broker_username, None)


def _update_broker(settings: Settings, username: str, password: str | None) -> None:
    """Write (or, without a password, remove) the credentials in the local broker's files."""
    if settings.broker_dir is None:
        action = "add these credentials to" if password else "remove this device from"
        console.print(f"HERBTRACE_BROKER_DIR is not set: {action} the broker's password file")
        return
    directory = Path(settings.broker_dir)
    passwords = PasswordFile(directory / "passwd")
    if password is None:
        passwords.remove(username)
    else:
        passwords.set(username, password)
    reloaded = reload_broker(directory)
    state = "reloaded" if reloaded else "not running; it reads the file when it starts"
    console.print(f"broker password file {directory / 'passwd'} updated; broker {state}")


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
) -> None:
    """Sustained ingest rate until receipt, latency at a steady rate, and gateway memory."""
    from devices.bench.ingest import IngestPlan, measure_ingest
    from devices.bench.report import print_figures
    from traceability.bench.scratch_db import scratch_postgres

    plan = IngestPlan(devices, events, rate, seconds, gateways, publishers)
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
