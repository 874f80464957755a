"""`herbtrace signer …`: register, list and revoke the keys allowed to append."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from traceability.cli.common import console, handles_errors, open_engine
from traceability.keys import parse_public_key_b64
from traceability.log.signers import ROLES, list_signers, register_signer, revoke_signer

app = typer.Typer(help="Manage the signer registry.", no_args_is_help=True)


@app.command("add")
@handles_errors
def add(
    public_key: Annotated[str, typer.Option(help="base64 of the raw 32-byte Ed25519 public key")],
    name: Annotated[str, typer.Option(help="Who or what holds the key")],
    organisation: Annotated[str, typer.Option(help="The organisation it acts for")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}")] = "device",
    valid_until: Annotated[
        datetime | None, typer.Option(help="When the key stops being accepted (UTC)")
    ] = None,
) -> None:
    """Register a signer's public key."""
    with open_engine() as engine:
        info = register_signer(
            engine,
            public_key=parse_public_key_b64(public_key),
            name=name,
            organisation=organisation,
            role=role,
            valid_until=valid_until,
        )
    console.print(f"signer {info.key_id} ({info.name}, {info.organisation}) is {info.status}")


@app.command("list")
@handles_errors
def list_() -> None:
    """List every registered signer."""
    table = Table("key ID", "name", "organisation", "role", "status")
    with open_engine() as engine:
        signers = list_signers(engine)
    for s in signers:
        table.add_row(s.key_id, s.name, s.organisation, s.role, s.status)
    console.print(table)


@app.command()
@handles_errors
def revoke(key_id: Annotated[str, typer.Argument(help="The signer's key ID")]) -> None:
    """Revoke a signer: the log refuses its envelopes from now on."""
    with open_engine() as engine:
        info = revoke_signer(engine, key_id)
    console.print(f"signer {info.key_id} revoked at {info.revoked_at}")
