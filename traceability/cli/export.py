"""`herbtrace export …`: write the log out for others to verify, or as GS1 EPCIS 2.0."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from traceability.cli.common import console, handles_errors, load_settings, open_engine
from traceability.epcis.export import export_epcis
from traceability.epcis.jsonout import dumps
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


@app.command()
@handles_errors
def epcis(
    out: Annotated[Path, typer.Option(help="File to write the EPCIS 2.0 JSON-LD document to")],
    batch: Annotated[
        str | None,
        typer.Option(
            help="Only this batch's lineage: the events on every batch it came from or went "
            "into (docs/epcis.md)"
        ),
    ] = None,
) -> None:
    """Write the log's domain events as an EPCISDocument, validated against GS1's schema."""
    settings = load_settings()
    with open_engine(settings) as engine:
        if batch is not None:  # the lineage comes from the domain indexes: bring them up to date
            from traceability.domain.policy import DomainPolicy

            DomainPolicy(settings, engine).catch_up()
        result = export_epcis(engine, settings.digital_link_host, batch)
    out.write_text(dumps(result.document) + "\n", encoding="utf-8")
    console.print(
        f"wrote {result.events} events and {result.registrations} registrations to {out} "
        "(valid EPCIS 2.0)"
    )
    for index, reason in result.skipped[:20]:
        console.print(f"left out entry {index}: {reason}")
    if len(result.skipped) > 20:
        console.print(f"… and {len(result.skipped) - 20} more entries left out")
