"""`herbtrace import …`: bring another EPCIS system's events into the log, signed by an importer."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from traceability.cli.common import console, fail, handles_errors, load_settings, open_engine
from traceability.epcis.import_key import create_import_key, load_import_key, upgrade_import_key
from traceability.epcis.importer import import_document
from traceability.epcis.jsonout import loads
from traceability.errors import InvalidInput
from traceability.key_wrapping import COSTS
from traceability.keys import raw_public_key
from traceability.log.signers import register_signer

app = typer.Typer(help="Import events from other systems.", no_args_is_help=True)

KeyOption = Annotated[
    Path, typer.Option("--key", help="The import signer's key file (see `import keygen`)")
]


@app.command()
@handles_errors
def keygen(
    key: KeyOption,
    name: Annotated[str, typer.Option(help="Who runs the import")],
    organisation: Annotated[str, typer.Option(help="The organisation it acts for")],
) -> None:
    """Create an import signer: write its key (encrypted) and register it with role importer."""
    settings = load_settings()
    private = create_import_key(key, settings.import_key_passphrase, COSTS[settings.key_kdf_cost])
    public = raw_public_key(private)
    with open_engine(settings) as engine:
        info = register_signer(
            engine, public_key=public, name=name, organisation=organisation, role="importer"
        )
    console.print(f"import signer {info.key_id} registered; key written to {key}")
    console.print(f"public key: {base64.b64encode(public).decode()}")


@app.command()
@handles_errors
def epcis(
    file: Annotated[Path, typer.Argument(help="An EPCIS 2.0 JSON-LD EPCISDocument")],
    key: KeyOption,
) -> None:
    """Record the document's events as the import signer's envelopes, through the rules.

    Reports what did not map and what the rules refused.
    """
    from traceability.domain.service import Domain

    settings = load_settings()
    cost = COSTS[settings.key_kdf_cost]
    upgraded = upgrade_import_key(key, settings.import_key_passphrase, cost)
    if upgraded is not None:
        console.print(f"import key {key} re-encrypted in place (the same key): {upgraded}")
    private = load_import_key(key, settings.import_key_passphrase)
    try:
        document = loads(file.read_bytes())
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}") from exc
    if not isinstance(document, dict):
        raise InvalidInput(f"{file} is not a JSON object")
    with open_engine(settings) as engine, Domain(settings, engine) as domain:
        outcomes = import_document(
            domain.ledger, private, document, settings.digital_link_host, append=domain.record
        )
        domain.ledger.checkpointer.issue(engine)
    counts = Counter(o.status for o in outcomes)
    console.print(
        f"appended {counts['appended']}, already logged {counts['duplicate']}, "
        f"skipped {counts['skipped']}, refused {counts['rejected']}"
    )
    for outcome in outcomes:
        if outcome.status == "skipped":
            console.print(f"skipped {outcome.source}: {outcome.reason}")
        elif outcome.status == "rejected":
            console.print(f"refused {outcome.source} ({outcome.code}): {outcome.reason}")
    if counts["skipped"] or counts["rejected"]:
        raise fail("some events were not imported (listed above); everything else was", 1)
