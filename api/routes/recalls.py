"""Recalls: a signed-in regulator recalls a batch; the regulator office key signs the event."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, organisation_param, require
from api.errors import error_responses
from api.pagination import MAX_ID, Limit, Page, page_of
from api.services import DomainDep, RecallOfficeDep
from traceability.domain import recalls as recall_store
from traceability.domain.batches import read_batch
from traceability.domain.lineage import trace_forward
from traceability.errors import RuleViolation
from traceability.users import Principal

router = APIRouter(prefix="/v1/recalls", tags=["recalls"])

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class RecallIn(BaseModel):
    """A recall of a batch and everything made from it (召回)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "batch": "FS-RS-2026-00001",
                    "level": "II",
                    "reason": "农药残留超标 (lab report 17)",
                }
            ]
        },
    )

    batch: Identifier = Field(description="the batch to recall")
    level: Literal["I", "II", "III"] = Field(description="召回级别 一级/二级/三级")
    reason: str = Field(
        min_length=1,
        max_length=160,
        description="why; the server appends `[regulator #<user id>]` (never the name: "
        "the reason is logged, and the log is public)",
    )


class RecallOut(BaseModel):
    """The recorded recall: its log entry, the signed envelope and what it reached."""

    batch: str = Field(examples=["FS-RS-2026-00001"])
    level: str = Field(examples=["II"])
    reason: str = Field(examples=["农药残留超标 (lab report 17) [regulator #4]"])
    regulator: str = Field(
        description="the signed-in regulator the office signed for (this answer only; the "
        "logged reason carries the user ID)",
        examples=["li.jian"],
    )
    index: int = Field(description="the recall's log index", examples=[120])
    signer: str = Field(description="key ID of the regulator office key that signed it")
    envelope: dict[str, Any] = Field(description="the signed `recall` envelope, as logged")
    batches: list[str] = Field(description="every batch the recall reached, itself included")
    units: int = Field(description="packed units the recall reached")


class RecallEntryOut(BaseModel):
    """A recall in the log."""

    index: int = Field(examples=[120])
    batch: str = Field(examples=["FS-RS-2026-00001"])
    level: str = Field(examples=["II"])
    reason: str
    signer: str
    received: str = Field(examples=["2026-05-02T08:00:00.000000Z"])


@router.post(
    "",
    status_code=201,
    responses=error_responses(401, 403, 404, 409, 422),
)
def create_recall(
    principal: Annotated[Principal, require("regulator")],  # first: decided before the office
    domain: DomainDep,
    office: RecallOfficeDep,
    recall: RecallIn,
) -> RecallOut:
    """Recall a batch and everything downstream of it. The server signs the `recall` event
    with its regulator office key on behalf of the signed-in regulator, whose user ID (not
    name: the log is public) ends the logged reason (see docs/api.md on what that attribution
    proves). 404 for an
    unknown batch; 409 when the rules refuse (already recalled: `batch_recalled`)."""
    with domain.engine.connect() as conn:
        batch = read_batch(conn, recall.batch)  # NotFound before anything is signed
    if batch.status == "recalled":  # refused here, so the office raises no alert about itself
        raise RuleViolation("batch_recalled", f"batch {batch.id} is already recalled")
    signed = office.recall(
        domain,
        batch=recall.batch,
        level=recall.level,
        reason=recall.reason,
        user_id=principal.user_id,
    )
    result = signed.result
    if result.status == "rejected" or result.index is None:
        raise RuleViolation(result.reason or "refused", result.detail or "the recall was refused")
    with domain.engine.connect() as conn:
        reached = trace_forward(conn, recall.batch)
    body = signed.envelope["payload"]["body"]
    return RecallOut(
        batch=recall.batch,
        level=recall.level,
        reason=body["reason"],
        regulator=principal.name,
        index=result.index,
        signer=office.key_id,
        envelope=signed.envelope,
        batches=[b.id for b in reached.batches],
        units=len(reached.units),
    )


@router.get(
    "",
    dependencies=[require("admin", "regulator", "operator", owner=organisation_param())],
    responses=error_responses(401, 403, 422),
)
async def list_recalls(
    engine: EngineDep,
    organisation: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
            description="only recalls reaching this organisation's batches (operators: own)",
        ),
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="only recalls after this log index")
    ] = None,
    limit: Limit = 50,
) -> Page[RecallEntryOut]:
    """List recalls in log order; operators pass `?organisation=` their own and see the
    recalls that reached batches it owns or holds."""

    def read(e: Engine) -> list[recall_store.RecallEntry]:
        with e.connect() as conn:
            return recall_store.list_recalls(
                conn, organisation=organisation, after=after, limit=limit + 1
            )

    rows = await run_in_threadpool(read, engine)
    return page_of(rows, limit, lambda r: r.index, lambda r: RecallEntryOut(**r.to_json()))
