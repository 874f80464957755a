"""Applying one log entry to the indexes: validate the body, check its rules, write its rows.

The policy (at append) and reindex (replaying the log) both call `Projector.apply`, so the
indexes a live log builds and the ones a replay builds cannot diverge. Both apply a batch of
entries through one `WorkingSet`, read ahead for the whole batch (`prefetch`) and written
once at its end. A handler checks every rule before it writes anything, so a refused event
leaves no trace; the alerts it raised are stored last, with IDs `AL-<log index>-<n>`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Connection

from schemas.events import (
    Alert,
    CultivationInput,
    EventBody,
    FreshProcessing,
    Harvest,
    Husbandry,
    Merge,
    OrganisationRegistered,
    Pack,
    Planting,
    Processing,
    Recall,
    Receive,
    RetailSale,
    SensorReadings,
    Ship,
    SiteRegistered,
    Split,
    parse_body,
)
from schemas.events.quality import QualityTest
from traceability.canonical import canonical_bytes
from traceability.domain.context import Context, NewAlert
from traceability.domain.handlers import custody, evidence, origin, registry, transform
from traceability.domain.herbs import HerbRules
from traceability.domain.rules import plausibility
from traceability.domain.working_set import WorkingSet
from traceability.errors import RuleViolation
from traceability.log.signers import SignerInfo

Handler = Callable[[Context, Any], None]

HANDLERS: dict[str, Handler] = {
    "organisation": registry.organisation,
    "site": registry.site,
    "alert": registry.alert,
    "planting": origin.planting,
    "husbandry": origin.husbandry,
    "cultivation_input": origin.cultivation_input,
    "harvest": origin.harvest,
    "fresh_processing": transform.transform,
    "processing": transform.transform,
    "split": transform.split,
    "merge": transform.merge,
    "pack": transform.pack,
    "quality_test": evidence.quality_test,
    "sensor_reading": evidence.sensor_reading,
    "ship": custody.ship,
    "receive": custody.receive,
    "retail_sale": custody.retail_sale,
    "recall": custody.recall,
}
"""The handler of each event type (schemas.events.EVENT_TYPES)."""


def alert_id(index: int, n: int) -> str:
    """The ID of the n-th alert (from 1) raised by log entry `index`."""
    return f"AL-{index:012d}-{n}"


def validation_message(exc: ValidationError) -> str:
    """One line naming the first invalid field of an event body."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"invalid event body: {where}: {first['msg']}"


class Projector:
    """Applies log entries to the index tables; stateless apart from its settings."""

    def __init__(
        self,
        herbs: HerbRules,
        rules_key_id: Callable[[Connection], str | None],
        *,
        clock_skew: int = 600,
    ):
        self.herbs = herbs
        self._rules_key_id = rules_key_id
        self.clock_skew = clock_skew

    @staticmethod
    def parse(payload: dict[str, Any]) -> EventBody:
        """The payload's event body, validated; RuleViolation `invalid_event` when it is not one."""
        raw = payload.get("body")
        try:
            return parse_body(raw if isinstance(raw, dict) else {})
        except ValidationError as exc:
            raise RuleViolation("invalid_event", validation_message(exc)) from exc

    def apply(
        self,
        state: WorkingSet,
        index: int,
        payload: dict[str, Any],
        signer: SignerInfo,
        received: str,
        envelope_hash: str,
        *,
        admission: bool = False,
        body: EventBody | None = None,
    ) -> list[NewAlert]:
        """Apply entry `index` or raise RuleViolation having written nothing; the alerts raised.

        `body` is the payload's body when the caller has parsed it already (`parse`). With
        `admission` (the policy, appending) the event must also be plausible
        (rules.plausibility); a replay of the log skips that check.
        """
        if body is None:
            body = self.parse(payload)
        conn = state.conn
        ctx = Context(
            state=state,
            index=index,
            signer=signer,
            received=received,
            time=str(payload.get("time", received)),
            envelope_hash=envelope_hash,
            herbs=self.herbs,
            rules_key_id=self._rules_key_id(conn) if body.type == "alert" else None,
        )
        if admission:
            plausibility.check(ctx, body, self.clock_skew)
        HANDLERS[body.type](ctx, body)
        for n, a in enumerate(ctx.alerts, start=1):
            state.put_alert(
                {
                    "id": alert_id(index, n),
                    "kind": a.kind,
                    "severity": a.severity,
                    "batch": a.batch,
                    "subject": a.subject,
                    "detail": a.detail,
                    "evidence": canonical_bytes(a.evidence).decode(),
                    "envelopes": json.dumps([envelope_hash]),
                    "raised_at": received,
                    "source_index": index,
                    "logged_index": None,
                }
            )
        return ctx.alerts


def prefetch(state: WorkingSet, bodies: Iterable[EventBody], meta: Iterable[str] = ()) -> None:
    """Read ahead, one statement per table, the rows the rules of `bodies` will look up (and
    the bookkeeping values `meta`)."""
    batches: list[str] = []
    organisations: list[str] = []
    sites: list[str] = []
    shipments: list[str] = []
    units: list[tuple[str, str]] = []
    sales: list[tuple[str, list[str]]] = []
    excursions: list[tuple[str, str]] = []
    alerts: list[str] = []
    for body in bodies:
        match body:
            case OrganisationRegistered():
                organisations.append(body.id)
            case SiteRegistered():
                sites.append(body.id)
                organisations.append(body.organisation)
            case Alert():
                if body.id:
                    alerts.append(body.id)
                if body.batch:
                    batches.append(body.batch)
            case Planting():
                batches.append(body.batch)
                sites.append(body.site)
            case Husbandry():
                batches.append(body.herd)
                if body.site:
                    sites.append(body.site)
            case CultivationInput():
                batches.append(body.batch)
            case Harvest():
                batches += (body.origin, body.batch)
                sites.append(body.site)
            case FreshProcessing() | Processing():
                batches += [p.batch for p in body.inputs] + [o.batch for o in body.outputs]
                sites.append(body.site)
            case Split():
                batches += [body.batch, *(c.batch for c in body.children)]
            case Merge():
                batches += [*(p.batch for p in body.inputs), body.output.batch]
            case Pack():
                batches += (body.batch, body.packed_batch)
                units += [(body.product.gtin, s) for s in body.serials]
            case QualityTest():
                batches.append(body.batch)
                organisations.append(body.lab)
            case SensorReadings():
                batches += body.batches
                excursions += [(body.sensor, b) for b in body.batches]
            case Ship():
                batches += body.batches
                organisations.append(body.to)
                shipments.append(body.shipment)
                if body.to_site:
                    sites.append(body.to_site)
            case Receive():
                shipments.append(body.shipment)
                batches += body.batches
                sites.append(body.site)
            case RetailSale():
                batches.append(body.batch)
                sales.append((body.batch, body.serials))
            case Recall():
                batches.append(body.batch)
    state.prefetch(
        batches=batches,
        organisations=organisations,
        sites=sites,
        shipments=shipments,
        units=units,
        sales=sales,
        excursions=excursions,
        alerts=alerts,
        meta=meta,
    )
