"""Alerts: stored beside the log, read and listed for regulators, and themselves logged.

Rules raise alerts while applying an entry (stored with the entry's projection, IDs
`AL-<index>-<n>`); refusals that look like fraud, and findings from outside the rules
(device gaps, counterfeit scans), are stored afterwards (IDs `AX-<24 hex>`, derived from
the content so a retry stores nothing new). Every stored alert is then appended to the log
as an `alert` envelope signed by the rules signer, never inside the append that raised it.

An alert envelope is a function of the alert and the signer's chain head alone (its `time`
is the alert's `raised_at`; Ed25519 is deterministic), so two processes logging the same
pending alerts from the same head produce the same envelopes: the second copy is a
duplicate, not an equivocation. Pending alerts and the head are read in one snapshot.

Alerts are listed newest first (raised time, then ID, both descending) and page on with
`after`, an alert ID: the next page holds older alerts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection, Engine

from schemas.events import parse_body
from traceability.canonical import canonical_bytes
from traceability.domain import state
from traceability.domain.batches import held_by
from traceability.domain.paging import check_limit
from traceability.domain.policy import Finding
from traceability.domain.projection import validation_message
from traceability.domain.rules_signer import RulesSigner
from traceability.envelope import GENESIS_PREV, envelope_hash, sign_envelope
from traceability.errors import InvalidInput, NotFound
from traceability.ledger import Ledger
from traceability.log.entry import format_time
from traceability.log.results import AppendResult
from traceability.log.sequencing import signer_heads
from traceability.storage.db import WRITE

SEVERITY = "warning"
"""Severity of an alert about a refused envelope."""


@dataclass(frozen=True)
class AlertView:
    """An alert for regulators; `logged_index` is its own log entry once logged."""

    id: str
    kind: str
    severity: str
    batch: str | None
    subject: str | None
    detail: str
    evidence: dict[str, Any]
    envelopes: list[str]
    raised_at: str
    source_index: int | None
    logged_index: int | None

    def to_json(self) -> dict[str, Any]:
        """The alert as JSON data."""
        return asdict(self)


def _alert(row: sa.Row[Any]) -> AlertView:
    m = dict(row._mapping)
    m["evidence"] = json.loads(m["evidence"])
    m["envelopes"] = json.loads(m["envelopes"])
    return AlertView(**m)


def alert_exists(conn: Connection, kind: str, subject: str) -> bool:
    """Whether an alert of `kind` about `subject` is stored."""
    a = state.alerts
    query = sa.select(a.c.id).where(a.c.kind == kind, a.c.subject == subject).limit(1)
    return conn.execute(query).first() is not None


def get_alert(conn: Connection, alert_id: str) -> AlertView:
    """One alert; NotFound if unknown."""
    row = conn.execute(sa.select(state.alerts).where(state.alerts.c.id == alert_id)).first()
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return _alert(row)


def alert_concerns(conn: Connection, alert: AlertView, organisation: str) -> bool:
    """Whether an alert is about `organisation`: its subject, or its batch's owner or holder."""
    if alert.subject == organisation:
        return True
    if alert.batch is None:
        return False
    batch = state.get_batch(conn, alert.batch)
    return batch is not None and organisation in (batch.owner, batch.custodian)


def list_alerts(
    conn: Connection,
    *,
    organisation: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
    batch: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[AlertView]:
    """Alerts newest first, older than the alert `after`; at most `limit`.

    With `organisation`, only the alerts about it (see `alert_concerns`). InvalidInput when
    `after` names no alert.
    """
    check_limit(limit)
    t = state.alerts
    query = sa.select(t)
    if organisation is not None:
        held = held_by(organisation)
        query = query.where(sa.or_(t.c.subject == organisation, t.c.batch.in_(held)))
    for column, value in (("kind", kind), ("severity", severity), ("batch", batch)):
        if value is not None:
            query = query.where(t.c[column] == value)
    if after is not None:
        anchor = conn.execute(sa.select(t.c.raised_at, t.c.id).where(t.c.id == after)).first()
        if anchor is None:
            raise InvalidInput(f"after: no alert {after} to page on from")
        raised_at, anchor_id = anchor
        query = query.where(
            sa.or_(
                t.c.raised_at < raised_at,
                sa.and_(t.c.raised_at == raised_at, t.c.id < anchor_id),
            )
        )
    rows = conn.execute(query.order_by(t.c.raised_at.desc(), t.c.id.desc()).limit(limit))
    return [_alert(r) for r in rows]


def body_of(row: dict[str, Any]) -> dict[str, Any]:
    """The `alert` event body that logs a stored alert row."""
    body: dict[str, Any] = {
        "type": "alert",
        "id": row["id"],
        "kind": row["kind"],
        "severity": row["severity"],
        "detail": row["detail"],
        "evidence": json.loads(row["evidence"]),
        "envelopes": json.loads(row["envelopes"]),
    }
    for name in ("batch", "subject"):
        if row[name] is not None:
            body[name] = row[name]
    return body


def raise_external(
    engine: Engine,
    *,
    kind: str,
    severity: str,
    detail: str,
    batch: str | None,
    subject: str | None,
    evidence: dict[str, str | int],
    envelopes: list[str],
) -> str:
    """Store an alert found outside the rules (pending until logged); return its ID.

    InvalidInput names the fault when the alert would not be a valid `alert` body.
    """
    content = {
        "kind": kind,
        "severity": severity,
        "detail": detail,
        "evidence": evidence,
        "envelopes": envelopes,
        **({"batch": batch} if batch is not None else {}),
        **({"subject": subject} if subject is not None else {}),
    }
    alert_id = "AX-" + hashlib.sha256(canonical_bytes(content)).hexdigest()[:24]
    try:
        parse_body({"type": "alert", "id": alert_id, **content})
    except ValidationError as exc:
        raise InvalidInput(validation_message(exc).replace("event body", "alert")) from exc
    t = state.alerts
    # Write-locked from the start: on SQLite a read that later writes fails ("database is
    # locked") when another connection (the checkpoint ticker) wrote in between.
    with engine.connect() as raw, raw.execution_options(**{WRITE: True}).begin():
        conn = raw
        if conn.execute(sa.select(t.c.id).where(t.c.id == alert_id)).first() is None:
            conn.execute(
                t.insert().values(
                    id=alert_id,
                    kind=kind,
                    severity=severity,
                    batch=batch,
                    subject=subject,
                    detail=detail,
                    evidence=canonical_bytes(evidence).decode(),
                    envelopes=json.dumps(envelopes),
                    raised_at=format_time(datetime.now(UTC)),
                    source_index=None,
                    logged_index=None,
                )
            )
    return alert_id


def store_findings(engine: Engine, findings: Iterable[Finding]) -> list[str]:
    """Store an alert for each refusal worth one; return their IDs."""
    ids = []
    for f in findings:
        evidence: dict[str, str | int] = {k: v for k, v in list(f.evidence.items())[:16] if v != ""}
        evidence.update(reason=f.reason, signer=f.signer, organisation=f.signer_organisation)
        ids.append(
            raise_external(
                engine,
                kind=f.kind,
                severity=SEVERITY,
                detail=f"refused ({f.reason}): {f.detail}"[:1000],
                batch=f.batch,
                subject=f.subject[:200],
                evidence=evidence,
                envelopes=[f.envelope_hash],
            )
        )
    return ids


def pending_envelopes(engine: Engine, signer: RulesSigner) -> list[dict[str, Any]]:
    """Sign an `alert` envelope for every stored alert not yet logged, oldest first.

    The envelopes depend only on the pending alerts and the signer's head, read together.
    """
    t = state.alerts
    with engine.connect() as raw:
        snapshot = raw.dialect.name == "postgresql"
        conn = raw.execution_options(isolation_level="REPEATABLE READ") if snapshot else raw
        with conn.begin():
            query = sa.select(t).where(t.c.logged_index.is_(None))
            rows = [dict(r._mapping) for r in conn.execute(query.order_by(t.c.raised_at, t.c.id))]
            head = signer_heads(conn, {signer.key_id}).get(signer.key_id) if rows else None
    seq, prev = (head.seq, head.envelope_hash.hex()) if head else (0, GENESIS_PREV)
    envelopes = []
    for row in rows:
        seq += 1
        payload = {
            "v": 1,
            "signer": signer.key_id,
            "seq": seq,
            "prev": prev,
            "time": row["raised_at"],
            "body": body_of(row),
        }
        envelopes.append(sign_envelope(signer.key, payload))
        prev = envelope_hash(canonical_bytes(payload)).hex()
    return envelopes


def log_pending(engine: Engine, ledger: Ledger, signer: RulesSigner) -> list[AppendResult]:
    """Append an `alert` envelope for every stored alert not yet logged, oldest first."""
    envelopes = pending_envelopes(engine, signer)
    return ledger.append(envelopes) if envelopes else []
