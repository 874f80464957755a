"""`herbtrace ingest`, `herbtrace device enroll/revoke` and `herbtrace bench ingest`."""

from __future__ import annotations

import typer


def register(root: typer.Typer, bench: typer.Typer) -> None:
    """Add the gateway's commands to the root app and the bench group."""
