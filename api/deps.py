"""Injectable dependencies of the HTTP layer, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from traceability.errors import ConfigurationError
from traceability.ledger import Ledger


def get_ledger(request: Request) -> Ledger:
    """Return the ledger the app's lifespan opened; ConfigurationError if it is not open."""
    ledger = getattr(request.app.state, "ledger", None)
    if not isinstance(ledger, Ledger):
        raise ConfigurationError("the ledger is not open: the app's lifespan has not run")
    return ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
"""The open ledger, for route handlers."""
