"""Applying one log entry to the indexes: validate the body, check its rules, write its rows.

The policy (at append) and reindex (replaying the log) both call `Projector.apply`, so the
indexes a live log builds and the ones a replay builds cannot diverge. A handler checks
every rule before it writes anything, so a refused event leaves no trace; the alerts it
raised are stored last, with IDs `AL-<log index>-<n>`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Connection

from schemas.events import parse_body
from traceability.canonical import canonical_bytes
from traceability.domain import state
from traceability.domain.context import Context, NewAlert
from traceability.domain.handlers import custody, evidence, origin, registry, transform
from traceability.domain.herbs import HerbRules
from traceability.domain.rules import plausibility
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

    def apply(
        self,
        conn: Connection,
        index: int,
        payload: dict[str, Any],
        signer: SignerInfo,
        received: str,
        envelope_hash: str,
        *,
        admission: bool = False,
    ) -> list[NewAlert]:
        """Apply entry `index` or raise RuleViolation having written nothing; the alerts raised.

        With `admission` (the policy, appending) the event must also be plausible
        (rules.plausibility); a replay of the log skips that check.
        """
        raw = payload.get("body")
        try:
            body = parse_body(raw if isinstance(raw, dict) else {})
        except ValidationError as exc:
            raise RuleViolation("invalid_event", validation_message(exc)) from exc
        ctx = Context(
            conn=conn,
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
        if ctx.alerts:
            conn.execute(
                state.alerts.insert(),
                [
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
                    for n, a in enumerate(ctx.alerts, start=1)
                ],
            )
        return ctx.alerts
