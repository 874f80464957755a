"""The CLI commands that speak MQTT: `herbtrace device …`, `herbtrace ingest`, `bench ingest`."""

from __future__ import annotations

import typer

device_app = typer.Typer(help="Field devices: keys, enrolment, simulation.", no_args_is_help=True)


def register(root: typer.Typer, bench: typer.Typer) -> None:
    """Add the device commands to the `herbtrace` CLI (the `herbtrace.cli` entry point)."""
    from devices.cli import device, gateway  # noqa: F401 - importing registers their commands

    root.add_typer(device_app, name="device")
    gateway.register(root, bench)
