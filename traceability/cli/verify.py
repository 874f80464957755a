"""`herbtrace verify`: the full audit of the database, or of an exported bundle."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from sqlalchemy.engine import Engine

from traceability.cli.common import (
    console,
    err_console,
    fail,
    handles_errors,
    load_settings,
    open_engine,
    shown_url,
)
from traceability.ingest.rejections import list_rejections
from traceability.log.audit import Auditor, AuditReport, AuditSource
from traceability.log.audit_sources import DatabaseSource
from traceability.log.bundle import BundleSource
from traceability.log.log_key import load_log_verifier
from traceability.log.note import NoteVerifier


@handles_errors
def verify(
    bundle: Annotated[
        Path | None,
        typer.Option(help="Verify this exported bundle instead of the database (no server needed)"),
    ] = None,
    log_key: Annotated[
        str | None,
        typer.Option(help="The log's verifier key, obtained independently; pins the bundle"),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Signature-checking processes")] = (
        os.cpu_count() or 2
    ),
) -> None:
    """Audit every signature, link, leaf hash, tree node and checkpoint; exit 1 on a fault.

    Registered keys are audited too: a weak (small-order or non-canonical) key is a fault,
    and so is a demo key when HERBTRACE_ENVIRONMENT is production (in development, a warning).
    """
    from traceability.demo.parties import published_demo_keys

    settings = load_settings()

    def auditor(verifier: NoteVerifier) -> Auditor:
        return Auditor(
            verifier,
            workers,
            published_keys=published_demo_keys(),
            published_keys_fail=settings.environment == "production",
        )

    if bundle is not None:
        if not bundle.is_file():
            raise fail(f"no bundle at {bundle}", 2)
        bundle_source = BundleSource(bundle)
        key = log_key or str(bundle_source.header.get("log_key", ""))
        if log_key is None:
            err_console.print(
                "[yellow]note:[/] trusting the log key inside the bundle; pass --log-key "
                "with the key published by the log to pin it"
            )
        verifier = NoteVerifier.from_vkey(key)
        report = _run(auditor(verifier), bundle_source, bundle_source.size())
        refusals = None
    else:
        with open_engine(settings) as engine:
            console.print(f"auditing {shown_url(settings.database_url)}", highlight=False)
            with engine.connect() as conn:
                verifier = load_log_verifier(conn, settings.log_origin)
            if log_key is not None and NoteVerifier.from_vkey(log_key) != verifier:
                raise fail("the database's log key is not the one given with --log-key")
            source = DatabaseSource(engine)
            report = _run(auditor(verifier), source, source.size())
            refusals = _refusals_for(engine, report.gaps)
    _print(report, refusals)
    if not report.ok:
        raise typer.Exit(1)


def _run(auditor: Auditor, source: AuditSource, total: int) -> AuditReport:
    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("verifying entries", total=total)
        return auditor.run(source, lambda n: progress.advance(task, n))


Refusals = dict[tuple[str, int], list[str]]
"""The reasons on record for each refused (signer, seq), of the signers with gaps."""


def _refusals_for(engine: Engine, gaps: list[tuple[str, int, int]]) -> Refusals:
    """The refusals kept as evidence (rejected messages) for the sequence numbers missing."""
    wanted = {signer for signer, _, _ in gaps}
    found: Refusals = {}
    after = 0
    while wanted and (page := list_rejections(engine, after_id=after, limit=1000)):
        for refusal in page:
            if refusal.signer in wanted and refusal.seq is not None:
                found.setdefault((refusal.signer, refusal.seq), []).append(refusal.reason)
        after = page[-1].id or after
    return found


def _gap_line(signer: str, low: int, high: int, refusals: Refusals | None) -> str:
    """One gap, and what the refusals on record say about it (protocol.md §2)."""
    span = f"{low}" if low == high else f"{low}–{high}"
    line = f"[yellow]gap:[/] signer {signer} has no envelope {span}"
    if refusals is None:
        return line + " (a bundle carries no refusals: ask the log's operator)"
    reasons = {
        seq: refusals[(signer, seq)] for seq in range(low, high + 1) if (signer, seq) in refusals
    }
    if len(reasons) == high - low + 1:
        said = ", ".join(sorted({r for rs in reasons.values() for r in rs}))
        return (
            line + f": refused ({said}), kept as evidence; only the same envelope, resent, fills it"
        )
    if reasons:
        return line + f": {len(reasons)} of them refused, the others never received"
    return line + ": never received (in transit, lost or withheld)"


def _print(report: AuditReport, refusals: Refusals | None = None) -> None:
    rate = report.entries / report.seconds if report.seconds else 0.0
    console.print(
        f"checked {report.entries} entries, {report.checkpoints} checkpoints and "
        f"{report.nodes} tree nodes in {report.seconds:.1f} s ({rate:,.0f} entries/s)"
    )
    for signer, low, high in report.gaps[:10]:
        console.print(_gap_line(signer, low, high, refusals), highlight=False)
    if len(report.gaps) > 10:
        console.print(f"  … {len(report.gaps) - 10} more gaps")
    for warning in report.key_warnings:
        err_console.print(f"[yellow]warning ({warning.kind}):[/] {warning.what}")
    for key in report.key_findings:
        err_console.print(f"[red]FAILED ({key.kind}):[/] {key.what}")
    first = report.first()
    if first is None:
        if report.ok and report.entries == 0:
            console.print("[green]OK[/]: the log verifies; it has no entries yet")
        elif report.ok:
            console.print("[green]OK[/]: the log verifies")
        return
    err_console.print(f"[red]FAILED[/] at entry {first.index}: {first.what}")
    for finding in report.findings[1:10]:
        err_console.print(f"  also entry {finding.index}: {finding.what}")
    if len(report.findings) > 10:
        err_console.print(f"  … {len(report.findings) - 10} more findings")
