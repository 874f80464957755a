"""`herbtrace device init`, `simulate`, `status` and `requeue`: the device side."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from devices.cli import device_app
from devices.sdk.config import RetryPolicy
from devices.sdk.device import init_device
from devices.sdk.keystore import DeviceFiles, parse_log_key
from devices.sdk.outbox import Outbox
from devices.simulate import SCENARIOS, SimulationPlan, load_credentials, run_simulation
from devices.simulate import prepare_devices as prepare_simulated
from traceability.cli.common import console, fail, handles_errors

PASSPHRASE_ENV = "HERBTRACE_DEVICE_KEY_PASSPHRASE"  # noqa: S105 - a variable name

CaFile = Annotated[
    Path | None,
    typer.Option(
        "--ca-file",
        help="CA certificate (PEM) that verifies the broker's TLS certificate: with it the "
        "device connects over TLS only, to a broker that CA vouches for",
    ),
]

LogKey = Annotated[
    str | None,
    typer.Option(help="The log's verifier key, which signs receipts (`herbtrace init` prints it)"),
]


@device_app.command("init")
@handles_errors
def init(
    directory: Annotated[Path, typer.Option("--dir", help="The device's directory")] = Path(
        "herbtrace-device"
    ),
    log_key: LogKey = None,
    ca_file: CaFile = None,
) -> None:
    """Create this device's Ed25519 key (it never leaves the device); print its ID and key.

    The key file is encrypted with HERBTRACE_DEVICE_KEY_PASSPHRASE when that is set. With
    --ca-file, the broker's CA is kept in the device's directory and used on every connect.
    """
    passphrase = _passphrase()
    identity = init_device(
        directory, passphrase, parse_log_key(log_key) if log_key else None, ca_file=ca_file
    )
    console.print(f"device ID: {identity.device_id}")
    console.print(f"public key: {identity.public_key_b64}")
    console.print(f"key file: {DeviceFiles(directory).key} (mode 0600)")


@device_app.command("status")
@handles_errors
def status(
    directory: Annotated[
        Path, typer.Option("--dir", help="A device's directory, or a folder of them")
    ] = Path("herbtrace-device"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines")] = False,
    show_rejected: Annotated[
        bool, typer.Option("--rejected", help="List every rejected event")
    ] = False,
) -> None:
    """Show each device's outbox: chain head, pending, delivered and rejected events."""
    paths = _device_dirs(directory)
    table = Table("head seq", "pending", "delivered", "rejected", "oldest pending")
    table.columns.insert(0, Table("device").columns[0])
    table.columns[0].no_wrap = True
    for path in paths:
        outbox = Outbox(DeviceFiles(path).outbox)
        try:
            counts = outbox.counts()
            rejected = outbox.rejected() if show_rejected else []
        finally:
            outbox.close()
        if as_json:
            record = {"dir": str(path), **counts.to_json()}
            record["rejected_events"] = [
                {"seq": r.seq, "envelope_hash": r.envelope_hash.hex(), "reason": r.reason}
                | {"detail": r.detail}
                for r in rejected
            ]
            print(json.dumps(record, ensure_ascii=False))  # noqa: T201 - JSON lines
            continue
        oldest = "—" if counts.oldest_pending_seq is None else f"seq {counts.oldest_pending_seq}"
        table.add_row(
            counts.signer,
            str(counts.head_seq),
            str(counts.pending),
            str(counts.delivered),
            f"[red]{counts.rejected}[/]" if counts.rejected else "0",
            oldest,
        )
        for r in rejected:
            table.add_row("", f"  seq {r.seq}", "", "", f"[red]{r.reason}[/]", r.detail or "")
    if not as_json:
        console.print(table)


@device_app.command("requeue")
@handles_errors
def requeue(
    seq: Annotated[int, typer.Argument(help="Sequence number of the rejected event")],
    directory: Annotated[Path, typer.Option("--dir", help="The device's directory")] = Path(
        "herbtrace-device"
    ),
) -> None:
    """Send a rejected event again, unchanged (e.g. after the device has been enrolled).

    Later events are chained onto it, so its sequence number stays a gap in the log until
    this very envelope is accepted (docs/protocol.md §2, "After a refusal").
    """
    outbox = Outbox(DeviceFiles(directory).outbox)
    try:
        event = outbox.requeue(seq)
    finally:
        outbox.close()
    console.print(f"event {event.seq} ({event.hash_hex}) is pending again")


@device_app.command("simulate")
@handles_errors
def simulate(
    devices: Annotated[int, typer.Option(min=1, max=10_000, help="How many devices")] = 1,
    rate: Annotated[
        float, typer.Option(min=0, help="Events per second per device; 0 = as fast as possible")
    ] = 1.0,
    scenario: Annotated[str, typer.Option(help=f"One of: {', '.join(SCENARIOS)}")] = "demo",
    events: Annotated[
        int,
        typer.Option(
            min=0,
            help="Events per device in all, at most: a device stops sooner where its story "
            "cannot go on (0 = until interrupted)",
        ),
    ] = 100,
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder of the simulated devices' directories")
    ] = Path("herbtrace-sim"),
    first: Annotated[int, typer.Option(min=0, help="Index of the first device to run")] = 0,
    broker_host: Annotated[str, typer.Option(help="MQTT broker host")] = "127.0.0.1",
    broker_port: Annotated[int, typer.Option(min=1, max=65535, help="MQTT broker port")] = 1883,
    credentials: Annotated[
        Path | None,
        typer.Option(help="JSON object: device ID → broker password (from enrolment)"),
    ] = None,
    log_key: LogKey = None,
    ca_file: CaFile = None,
    init_only: Annotated[
        bool,
        typer.Option(
            help="Only create the devices' keys and print them as JSON lines, each with the "
            "organisation, site, role and name to enrol it with (`herbtrace device enroll`)"
        ),
    ] = False,
    window: Annotated[int, typer.Option(min=1, help="Events awaiting a receipt, at most")] = 20,
    ack_timeout: Annotated[
        float, typer.Option(min=0.01, help="Seconds to wait for a receipt before resending")
    ] = 10.0,
    backoff_max: Annotated[
        float, typer.Option(min=0.01, help="Longest pause between resend rounds (s)")
    ] = 30.0,
    reconnect_max: Annotated[
        int, typer.Option(min=1, help="Longest wait between reconnection attempts (s)")
    ] = 30,
    timeout: Annotated[
        float | None, typer.Option(min=0, help="Give up after this many seconds")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log retries")] = False,
) -> None:
    """Run simulated devices: record events at a rate and send them until all are in the log.

    The devices tell the scenario's stories on the demo's organisations and sites, which
    must be registered first (`herbtrace seed --registrations`); each device must be
    enrolled as --init-only says. Device i keeps its key and outbox in DIR/device-<i>; run
    the command again after a crash and each device continues its story and sends what is
    still pending. Device keys are opened with HERBTRACE_DEVICE_KEY_PASSPHRASE when set.
    """
    passphrase = _passphrase()
    if scenario not in SCENARIOS:
        raise fail(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    identities = prepare_simulated(directory, first, devices, passphrase)
    if init_only:
        for index, identity in enumerate(identities, start=first):
            line = {"index": index, "device_id": identity.device_id}
            line |= {"public_key": identity.public_key_b64}
            enrolment = SCENARIOS[scenario].enrolment(index)
            print(json.dumps(line | asdict(enrolment), ensure_ascii=False))  # noqa: T201
        return
    if credentials is None:
        raise fail("--credentials is required to connect (or use --init-only)")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    plan = SimulationPlan(
        root=directory,
        log_key=parse_log_key(log_key) if log_key else None,
        credentials=load_credentials(credentials),
        broker_host=broker_host,
        broker_port=broker_port,
        ca_file=str(_readable(ca_file)) if ca_file else None,
        first=first,
        devices=devices,
        events=events,
        rate=rate,
        scenario=scenario,
        passphrase=passphrase,
        policy=RetryPolicy(
            window=window,
            ack_timeout=ack_timeout,
            backoff_base=min(0.5, backoff_max),
            backoff_max=backoff_max,
            reconnect_max=reconnect_max,
        ),
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    report = run_simulation(plan, stop, timeout)
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))  # noqa: T201
    else:
        for d in report.devices:
            c = d.counts
            console.print(
                f"device {d.index} {c.signer}: seq {c.head_seq}, delivered {c.delivered}, "
                f"pending {c.pending}, rejected {c.rejected}"
            )
    if report.rejected:
        raise fail(f"the log rejected {report.rejected} events: see `herbtrace device status`")
    if not report.drained:
        raise fail("stopped before every event was in the log; run again to continue")


def _readable(path: Path) -> Path:
    """`path`, if it is a readable file; else a one-line error."""
    try:
        path.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from exc
    return path


def _passphrase() -> str | None:
    """The device key passphrase: from the environment only, never from the command line."""
    return os.environ.get(PASSPHRASE_ENV) or None


def _device_dirs(directory: Path) -> list[Path]:
    if DeviceFiles(directory).outbox.exists():
        return [directory]
    found = sorted(p.parent for p in directory.glob("*/outbox.db"))
    if not found:
        raise fail(f"no device outbox in {directory}")
    return found
