"""Alerts for regulators and operators: what the rules and the gateway found, newest first.

Each alert keeps its machine fields as logged (`kind`, `detail`, `evidence` …) and adds `zh`,
the same alert worded for a Chinese regulator from its kind and evidence
(`traceability/facts/alert_wording.py`): names, Beijing time, units and what to do.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection, Engine
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, SettingsDep, organisation_param, require
from api.errors import error_responses
from api.pagination import KeyAfter, KeyPage, Limit, key_page_of
from traceability.domain import alerts as alert_store
from traceability.domain.alerts import AlertView, alert_concerns, get_alert
from traceability.errors import NotFound
from traceability.facts.alert_wording import AlertWording, names_for, word_alert
from traceability.facts.quality import catalogue_for
from traceability.settings import Settings

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
OrganisationQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="only alerts about this organisation (operators must pass their own)",
        examples=["org-fusong-coop"],
    ),
]
Severity = Literal["info", "warning", "critical"]


class AlertZh(BaseModel):
    """The alert worded in Chinese for a regulator (made from its kind and evidence)."""

    title: str = Field(examples=["储存温湿度超限"])
    summary: str = Field(
        description="what happened, with names, Beijing time and units",
        examples=[
            "批次 JA-HS-2026-00001-P（人参）储存条件超出药材目录范围：记录仪 jian-logger-07 于 "
            "2026-10-09 11:00（北京时间）单次读数温度 23.5 °C，高于上限 20 °C（允许偏离 0 分钟）。"
        ],
    )
    action: str = Field(
        description="what the regulator may do about it",
        examples=["请联系持有方集安药材公司核查仓储或运输条件与记录仪；必要时对该批次抽样复检。"],
    )
    raised_at: str = Field(
        description="when it was raised, Beijing time (UTC+8), to the minute",
        examples=["2026-10-09 11:00"],
    )


class AlertOut(BaseModel):
    """An alert: what was found, about which batch, the evidence, and its own log entry."""

    id: str = Field(examples=["AL-41-0"])
    kind: str = Field(examples=["cold_chain"])
    severity: Severity
    batch: str | None = Field(examples=["FS-RS-2026-00001"])
    subject: str | None = Field(description="what it is about besides the batch, e.g. a device")
    detail: str = Field(examples=["温度 9.5 °C above 8 °C for 40 min (tolerance 30 min)"])
    evidence: dict[str, Any] = Field(examples=[{"sensor": "cold-1", "max": "9.5"}])
    envelopes: list[str] = Field(description="hex envelope hashes of the evidence")
    raised_at: str = Field(examples=["2026-05-02T08:00:00.000000Z"])
    source_index: int | None = Field(description="log index of the entry that raised it")
    logged_index: int | None = Field(description="log index of its own `alert` entry")
    zh: AlertZh = Field(description="the alert worded in Chinese for a regulator")


def alert_out(view: AlertView, wording: AlertWording) -> AlertOut:
    """The response model of an alert with its Chinese wording."""
    zh = AlertZh(
        title=wording.title,
        summary=wording.summary,
        action=wording.action,
        raised_at=wording.raised_at,
    )
    return AlertOut(**view.to_json(), zh=zh)


def worded(conn: Connection, settings: Settings, views: list[AlertView]) -> list[AlertOut]:
    """The alerts as response models, each worded in Chinese (names read in one go)."""
    names = names_for(conn, views, catalogue_for(settings))
    return [alert_out(v, word_alert(v, names)) for v in views]


def _alert_organisation() -> Any:
    """Owner lookup of one alert: `?organisation=` when the alert is about it, else None."""
    by_param = organisation_param()

    async def lookup(request: Request, engine: Engine) -> str | None:
        organisation = await by_param(request, engine)
        alert_id = request.path_params.get("alert_id", "")
        if organisation is None:
            return None

        def concerns() -> bool:
            with engine.connect() as conn:
                try:
                    return alert_concerns(conn, get_alert(conn, alert_id), organisation)
                except NotFound:
                    return False

        return organisation if await run_in_threadpool(concerns) else None

    return lookup


@router.get(
    "",
    dependencies=[require("admin", "regulator", "operator", owner=organisation_param())],
    responses=error_responses(400, 401, 403, 422),
)
def list_alerts(
    engine: EngineDep,
    settings: SettingsDep,
    organisation: OrganisationQuery = None,
    kind: Annotated[
        str | None, Query(max_length=32, description="only of this kind", examples=["cold_chain"])
    ] = None,
    severity: Annotated[Severity | None, Query(description="only of this severity")] = None,
    batch: Annotated[
        str | None, Query(max_length=64, description="only alerts on this batch")
    ] = None,
    after: KeyAfter = None,
    limit: Limit = 50,
) -> KeyPage[AlertOut]:
    """List alerts newest first. Regulators and admins see every alert; operators pass
    `?organisation=` their own and see the alerts about it (its batches, owned or held, and
    alerts whose subject it is)."""
    with engine.connect() as conn:
        rows = alert_store.list_alerts(
            conn,
            organisation=organisation,
            kind=kind,
            severity=severity,
            batch=batch,
            after=after,
            limit=limit + 1,
        )
        shown = rows[:limit]
        outs = dict(zip((r.id for r in shown), worded(conn, settings, shown), strict=True))
    return key_page_of(rows, limit, lambda a: a.id, lambda a: outs[a.id])


@router.get(
    "/{alert_id}",
    dependencies=[require("admin", "regulator", "operator", owner=_alert_organisation())],
    responses=error_responses(401, 403, 404, 422),
)
def read_alert(
    engine: EngineDep,
    settings: SettingsDep,
    alert_id: Annotated[str, Path(min_length=1, max_length=64, examples=["AL-41-0"])],
    organisation: OrganisationQuery = None,
) -> AlertOut:
    """One alert. Operators pass `?organisation=` their own, which the alert must be about."""
    del organisation  # read by the authoriser
    with engine.connect() as conn:
        [out] = worded(conn, settings, [get_alert(conn, alert_id)])
    return out
