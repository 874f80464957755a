"""The ledger's entry policy for the domain: an envelope enters the log only if the rules allow."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection, Engine

from schemas.events import EventBody
from traceability.domain import state
from traceability.domain.herbs import CatalogueRules, HerbRules
from traceability.domain.projection import Projector, prefetch
from traceability.domain.reindex import replay
from traceability.domain.rules_signer import rules_key_id
from traceability.domain.units import subject_of
from traceability.domain.working_set import WorkingSet
from traceability.envelope import ParsedEnvelope
from traceability.errors import ConfigurationError, RuleViolation
from traceability.log.reading import log_size
from traceability.log.signers import SignerInfo
from traceability.settings import Settings
from traceability.storage.db import write_transaction

ALERTING = {
    "mass_balance": "mass_balance",
    "growing_age": "growing_age",
    "custody": "custody",
    "batch_recalled": "recalled_batch",
    "quality_failed": "quality_failed",
    "unit_sold_twice": "counterfeit_scan",
}
"""Refusals that look like fraud or danger, and the kind of alert each raises.

A unit sold twice is signed evidence that its code was copied: it raises the unit's
`counterfeit_scan` alert (subject `(01)<GTIN>(21)<serial>`, as scans would), which no
anonymous client can forge. Sensor readings are left out: a logger that keeps reporting on
a batch it may not (or a recalled one) would raise an alert per message, and its readings
are not custody."""


MAX_FINDINGS = 10_000
"""Refusals kept for alerts until drained; beyond this the oldest are dropped."""


@dataclass(frozen=True)
class Finding:
    """A refusal worth an alert: what was refused and why (kept until the service logs it)."""

    kind: str
    reason: str
    detail: str
    envelope_hash: str
    signer: str
    signer_organisation: str
    evidence: dict[str, str | int] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        """What the alert is about: the unit for a counterfeit, else the signer's organisation."""
        gtin, serial = self.evidence.get("gtin"), self.evidence.get("serial")
        if self.kind == "counterfeit_scan" and isinstance(gtin, str) and isinstance(serial, str):
            return subject_of(gtin, serial)
        return self.signer_organisation

    @property
    def batch(self) -> str | None:
        """The batch the refusal is about, when the evidence names one."""
        value = self.evidence.get("batch", self.evidence.get("origin"))
        return value if isinstance(value, str) else None


@dataclass
class _Batch:
    """The append batch in progress: its working set, parsed bodies, and the last entry indexed."""

    state: WorkingSet
    began: int
    parsed: dict[bytes, tuple[dict[str, Any], EventBody | RuleViolation]] = field(
        default_factory=dict
    )
    through: int = -2

    def __post_init__(self) -> None:
        self.through = self.began


class DomainPolicy:
    """`EntryPolicy` applying the domain rules (traceability.log.policy) and indexing events.

    Constructible from (settings, engine) alone; `begin`, `apply` and `finish` run only
    under the appender's lock, inside the append transaction. `begin` parses the batch's
    bodies and reads ahead the state they need into one `WorkingSet`; each `apply` decides
    in memory; `finish` writes the batch's index rows at once. If entries reached the log
    without this policy (another process's plain ledger), the indexes first catch up with
    them, in log order. Refusals worth an alert are kept in memory until `drain_findings`
    (thread-safe).

    Alerts are logged after the append commits, never inside it: a caller appending through
    a ledger with this policy but without `Domain.record` (e.g. `Ledger.prepare/commit`)
    should use `Domain(settings, engine).ledger` and call `Domain.log_alerts()` after commits.
    """

    def __init__(
        self, settings: Settings, engine: Engine | None = None, *, herbs: HerbRules | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.projector = Projector(
            herbs or CatalogueRules(settings), self._rules_key_id, clock_skew=settings.clock_skew
        )
        self._key_id: str | None = None
        self._findings: deque[Finding] = deque(maxlen=MAX_FINDINGS)
        self._lock = threading.Lock()
        self._batch: _Batch | None = None
        self.alerts_raised = 0
        """How many alerts the rules have raised and stored through this policy (it only grows)."""

    def _rules_key_id(self, conn: Connection) -> str | None:
        if self._key_id is None:
            self._key_id = rules_key_id(conn, self.settings)
        return self._key_id

    def begin(self, conn: Connection, size: int, envelopes: Sequence[ParsedEnvelope]) -> None:
        """Start an append batch whose first entry would be `size`: catch the indexes up
        with the log, parse the envelopes' bodies and read ahead the state they need."""
        parsed: dict[bytes, tuple[dict[str, Any], EventBody | RuleViolation]] = {}
        for env in envelopes:
            payload = json.loads(env.payload_bytes)
            try:
                body: EventBody | RuleViolation = self.projector.parse(payload)
            except RuleViolation as exc:
                body = exc
            parsed[env.envelope_hash] = (payload, body)
        bodies = [b for _, b in parsed.values() if not isinstance(b, RuleViolation)]
        working = WorkingSet(conn)
        prefetch(working, bodies, meta=[state.PROJECTED_THROUGH])
        value = working.get_meta(state.PROJECTED_THROUGH)
        through = -1 if value is None else int(value)
        if through < size - 1:  # entries appended without the policy: index them first
            if replay(conn, self.projector, through + 1, size).applied:
                self.alerts_raised += 1  # the replayed entries' rules may have raised some
            through = size - 1
            working = WorkingSet(conn)
            prefetch(working, bodies)
        self._batch = _Batch(working, through, parsed)

    def finish(self, conn: Connection) -> None:
        """End the append batch: write its index rows and how far the indexes reach."""
        batch, self._batch = self._batch, None
        if batch is None or batch.state.conn is not conn:
            return
        if batch.through != batch.began:
            batch.state.set_meta(state.PROJECTED_THROUGH, str(batch.through))
        batch.state.flush()

    def apply(
        self,
        conn: Connection,
        index: int,
        env: ParsedEnvelope,
        signer: SignerInfo,
        received: str,
    ) -> None:
        """Check the envelope's rules and index it as entry `index`, or raise RuleViolation.

        Outside `begin` … `finish` it is a batch of its own.
        """
        batch = self._batch
        if batch is None or batch.state.conn is not conn:
            self.begin(conn, index, [env])
            try:
                self.apply(conn, index, env, signer, received)
            finally:
                self.finish(conn)
            return
        payload, body = batch.parsed.get(env.envelope_hash) or (json.loads(env.payload_bytes), None)
        try:
            if isinstance(body, RuleViolation):
                raise body
            raised = self.projector.apply(
                batch.state,
                index,
                payload,
                signer,
                received,
                env.envelope_hash.hex(),
                admission=True,
                body=body,
            )
        except RuleViolation as exc:
            event_type = str((payload.get("body") or {}).get("type", ""))
            kind = ALERTING.get(exc.reason) if event_type != "sensor_reading" else None
            if kind is not None:
                finding = Finding(
                    kind=kind,
                    reason=exc.reason,
                    detail=exc.detail,
                    envelope_hash=env.envelope_hash.hex(),
                    signer=signer.key_id,
                    signer_organisation=signer.organisation,
                    evidence={"event": event_type[:200] or "-", **exc.evidence},
                )
                with self._lock:
                    self._findings.append(finding)
            raise
        batch.through = index
        self.alerts_raised += len(raised)

    def catch_up(self) -> int:
        """Apply the entries the indexes do not reflect yet (appended without this policy),
        in log order under the append lock; return how many were read (0: already current).

        Alerts their rules raise are stored pending, for the next `Domain.log_alerts`.
        """
        if self.engine is None:
            raise ConfigurationError("DomainPolicy.catch_up needs the policy's engine")
        with self.engine.connect() as conn:
            if state.projected_through(conn) >= log_size(conn) - 1:
                return 0
        with write_transaction(self.engine) as conn:
            return replay(conn, self.projector, state.projected_through(conn) + 1).entries

    def has_findings(self) -> bool:
        """Whether refusals worth an alert are waiting for `drain_findings`."""
        with self._lock:
            return bool(self._findings)

    def drain_findings(self) -> list[Finding]:
        """Take the refusals worth an alert collected since the last call."""
        with self._lock:
            out = list(self._findings)
            self._findings.clear()
        return out
