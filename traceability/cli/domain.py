"""`herbtrace reindex`: rebuild the domain indexes beside the log from the log itself."""

from __future__ import annotations

from typing import Annotated

import typer

from traceability.cli.common import (
    console,
    fail,
    handles_errors,
    load_settings,
    require_database,
)


@handles_errors
def reindex(
    check: Annotated[
        bool,
        typer.Option(help="Compare the rebuilt indexes with the old ones; exit 1 if they differ"),
    ] = False,
) -> None:
    """Rebuild batches, lineage, units, events and alerts by replaying every log entry."""
    from traceability.domain.service import Domain

    settings = load_settings()
    require_database(settings)
    with Domain(settings) as domain:
        report = domain.reindex(check=check)
    skipped = sum(report.skipped.values())
    console.print(
        f"replayed {report.entries:,} entries in {report.seconds:.1f} s: "
        f"{report.applied:,} applied, {skipped:,} skipped"
    )
    for reason, count in sorted(report.skipped.items()):
        console.print(f"  skipped {count:,}: {reason}")
    if report.changed is not None:
        if report.changed:
            raise fail(f"the rebuilt indexes differ in: {', '.join(report.changed)}")
        console.print("the rebuilt indexes equal the ones before")
