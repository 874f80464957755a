"""`herbtrace export …`: write the log out for others to verify."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from traceability.cli.common import console, handles_errors, load_settings, open_engine
from traceability.log.bundle import export_bundle
from traceability.log.log_key import load_log_verifier

app = typer.Typer(help="Export the log.", no_args_is_help=True)


@app.command()
@handles_errors
def bundle(
    out: Annotated[Path, typer.Option(help="File to write (.jsonl, or .jsonl.gz to compress)")],
) -> None:
    """Write an audit bundle: every entry, checkpoint and signer key, verifiable offline."""
    settings = load_settings()
    with open_engine(settings) as engine:
        with engine.connect() as conn:
            verifier = load_log_verifier(conn, settings.log_origin)
        count = export_bundle(engine, verifier, out)
    console.print(f"wrote {count} entries to {out}")
    console.print(f"verify it with: herbtrace verify --bundle {out} --log-key {verifier.to_vkey()}")
