"""Response models of the batch resources: a batch, its history and its traces."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from traceability.domain.batches import BatchRecord
from traceability.domain.history import HistoryEntry
from traceability.domain.lineage import (
    BackwardTrace,
    ForwardTrace,
    TraceEdge,
    TraceEvent,
    TraceUnit,
)


class BatchOut(BaseModel):
    """A batch as the indexes hold it: what, how much, who owns and holds it, its state."""

    id: str = Field(examples=["FS-RS-2026-001"])
    herb: str = Field(examples=["renshen"])
    kind: str = Field(description="planting herd harvest processed split merged packed")
    origin_site: str | None = Field(examples=["site-fusong-wanliang"])
    owner: str = Field(description="the organisation that made it", examples=["org-fusong-coop"])
    custodian: str = Field(description="the organisation holding it now")
    quantity: str = Field(examples=["180.500"])
    unit: str = Field(examples=["kg"])
    remaining: str = Field(examples=["4.500"])
    status: str = Field(description="active, consumed or recalled", examples=["active"])
    quality: str = Field(description="untested, passed or failed", examples=["untested"])
    in_transit: str | None = Field(description="the shipment carrying it, while in transit")
    gtin: str | None = Field(examples=["06901234567892"])
    lot: str | None = Field(examples=["JA2026HS001"])
    planted_on: str | None = Field(examples=["2020-04-25"])
    harvested_on: str | None = Field(examples=["2026-09-15"])
    growing_years: int | None = Field(examples=[6])
    created_index: int = Field(description="log index of the event that made it")


def batch_out(record: BatchRecord) -> BatchOut:
    """The response model of a batch (its `shipment` shown as `in_transit`)."""
    data = record.to_json()
    data["in_transit"] = data.pop("shipment")
    return BatchOut(**data)


class BatchEventOut(BaseModel):
    """A log entry recorded on the batch, with its signed event body."""

    index: int = Field(description="log index", examples=[41])
    type: str = Field(examples=["harvest"])
    received: str = Field(description="when the log received it", examples=["2026-09-15T02:30:01Z"])
    time: str = Field(description="when the signer says it happened")
    signer: str = Field(description="the signer's key ID")
    seq: int
    body: dict[str, Any] = Field(description="the event body, as signed")


def event_out(entry: HistoryEntry) -> BatchEventOut:
    """The response model of a history entry."""
    return BatchEventOut(**entry.to_json())


class TraceBatch(BaseModel):
    """A batch on a trace."""

    id: str
    herb: str
    kind: str
    origin_site: str | None
    owner: str
    custodian: str
    quantity: str
    unit: str
    status: str
    quality: str
    created_index: int


class TraceOut(BaseModel):
    """A backward trace (to every origin, with every event) or a forward one (to every
    downstream batch and unit: what a recall reaches). Fields of the other direction are
    empty."""

    batch: str = Field(examples=["JA-HS-2026-001"])
    direction: str = Field(examples=["backward"])
    batches: list[TraceBatch]
    origins: list[TraceBatch] = Field(description="backward: the batches without parents")
    edges: list[TraceEdge]
    events: list[TraceEvent] = Field(description="backward: every event on the way")
    units: list[TraceUnit] = Field(description="forward: every unit packed downstream")


def trace_out(trace: BackwardTrace | ForwardTrace) -> TraceOut:
    """The response model of a trace."""
    data = trace.to_json()
    direction = "backward" if isinstance(trace, BackwardTrace) else "forward"
    return TraceOut(
        direction=direction,
        **{"origins": [], "events": [], "units": [], **data},
    )
