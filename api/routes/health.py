"""Liveness and readiness: the service answers and its database can be read."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import LedgerDep
from api.errors import error_responses
from traceability.errors import ConfigurationError

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    """The service is up and its log can be read."""

    status: str = Field(examples=["ok"])
    tree_size: int = Field(description="number of entries in the log", examples=[40])


@router.get("/healthz", responses=error_responses(503))
def read_health(ledger: LedgerDep) -> HealthOut:
    """Report that the service is up, with the log's current size; 503 if the database is not."""
    try:
        size = ledger.size()
    except sa.exc.SQLAlchemyError as exc:
        raise ConfigurationError("the log's database cannot be read") from exc
    return HealthOut(status="ok", tree_size=size)
