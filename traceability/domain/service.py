"""The supply chain as one service: record signed events through the rules, log alerts, query."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Engine

from traceability.domain import alerts as alert_store
from traceability.domain import queries
from traceability.domain.herbs import HerbRules
from traceability.domain.lineage import BackwardTrace, ForwardTrace, trace_backward, trace_forward
from traceability.domain.policy import DomainPolicy
from traceability.domain.reindex import ReindexReport, reindex
from traceability.domain.rules_signer import RulesSigner, ensure_rules_signer
from traceability.ledger import Ledger
from traceability.log.results import AppendResult
from traceability.settings import Settings
from traceability.storage.db import make_engine


class Domain:
    """Records domain events (signed envelopes) through the rules and answers trace queries.

    Stable interface::

        with Domain(settings) as domain:           # or Domain(settings, engine)
            results = domain.record([envelope, …])  # list[AppendResult], one per envelope
            domain.batch("JA-HS-2026-001")          # BatchView (NotFound if unknown)
            domain.unit("06901234567892", "0001")   # UnitView with its Digital Link
            domain.trace_back(gtin, serial)         # BackwardTrace: origins, batches, events
            domain.trace_forward("FS-RS-2026-001")  # ForwardTrace: downstream batches, units
            domain.alerts(kind="cold_chain")        # list[AlertView], newest first

    The database must be initialised (`traceability.ledger.initialise`); the rules signer
    (role `system`, the signer of `alert` envelopes) is created on first use. `record`
    appends through the ledger, whose entry policy is `DomainPolicy`: an envelope a rule
    refuses comes back `rejected` with the rule's reason code and nothing of it is kept.
    After the envelopes commit, every alert the rules raised is itself appended to the
    log as an `alert` envelope signed by the rules signer. Thread-safe.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        *,
        herbs: HerbRules | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.database_url)
        self.rules_signer: RulesSigner = ensure_rules_signer(settings, self.engine)
        self.policy = DomainPolicy(settings, self.engine, herbs=herbs)
        self.ledger = Ledger(settings, self.engine, policy=self.policy)
        self._alert_lock = threading.Lock()

    def close(self) -> None:
        """Stop the ledger's workers and release the database connections."""
        self.ledger.close()

    def __enter__(self) -> Domain:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def record(self, envelopes: Sequence[bytes | dict[str, Any]]) -> list[AppendResult]:
        """Append signed envelopes through the rules; one result per envelope, in order.

        Then log the alerts raised meanwhile (by these envelopes' rules, and for refusals
        that look like fraud: mass balance, growing age, custody, recalled or failed goods).
        """
        results = self.ledger.append(envelopes)
        self.log_alerts()
        return results

    def log_alerts(self) -> list[AppendResult]:
        """Append an `alert` envelope for every stored alert not yet in the log."""
        with self._alert_lock:
            alert_store.store_findings(self.engine, self.policy.drain_findings())
            return alert_store.log_pending(self.engine, self.ledger, self.rules_signer)

    def raise_alert(
        self,
        kind: str,
        severity: str,
        detail: str,
        *,
        batch: str | None = None,
        subject: str | None = None,
        evidence: dict[str, str | int] | None = None,
        envelopes: Sequence[str] = (),
    ) -> queries.AlertView:
        """Store an alert found outside the rules (a device gap, a counterfeit scan), log it."""
        alert_id = alert_store.raise_external(
            self.engine,
            kind=kind,
            severity=severity,
            detail=detail,
            batch=batch,
            subject=subject,
            evidence=evidence or {},
            envelopes=list(envelopes),
        )
        self.log_alerts()
        return self.alert(alert_id)

    # --- queries ---------------------------------------------------------------------

    def batch(self, batch_id: str) -> queries.BatchView:
        """Return a batch as the indexes hold it; NotFound if unknown."""
        with self.engine.connect() as conn:
            return queries.get_batch(conn, batch_id)

    def unit(self, gtin: str, serial: str) -> queries.UnitView:
        """Return a packed unit with its GS1 Digital Link; NotFound if unknown."""
        with self.engine.connect() as conn:
            return queries.get_unit(conn, gtin, serial, self.settings.digital_link_host)

    def units(self, batch_id: str) -> list[queries.UnitView]:
        """Return the units packed into a packed batch, by serial."""
        with self.engine.connect() as conn:
            return queries.batch_units(conn, batch_id, self.settings.digital_link_host)

    def events(self, batch_id: str) -> list[queries.EventRef]:
        """Return the log entries recorded on a batch, in log order."""
        with self.engine.connect() as conn:
            return queries.batch_events(conn, batch_id)

    def alert(self, alert_id: str) -> queries.AlertView:
        """Return one alert; NotFound if unknown."""
        with self.engine.connect() as conn:
            return queries.get_alert(conn, alert_id)

    def alerts(
        self,
        *,
        kind: str | None = None,
        batch: str | None = None,
        before: str | None = None,
        limit: int = 100,
    ) -> list[queries.AlertView]:
        """List alerts for regulators, newest first; `before` is an alert ID to page from."""
        with self.engine.connect() as conn:
            return queries.list_alerts(conn, kind=kind, batch=batch, before=before, limit=limit)

    def trace_back(self, gtin: str, serial: str) -> BackwardTrace:
        """A unit back to every origin: its batches, every event with its log index."""
        with self.engine.connect() as conn:
            return trace_backward(conn, queries.get_unit(conn, gtin, serial, "").batch)

    def trace_back_batch(self, batch_id: str) -> BackwardTrace:
        """A batch back to every origin."""
        with self.engine.connect() as conn:
            return trace_backward(conn, batch_id)

    def trace_forward(self, batch_id: str) -> ForwardTrace:
        """A batch forward to every downstream batch and unit (what a recall reaches)."""
        with self.engine.connect() as conn:
            return trace_forward(conn, batch_id)

    def reindex(self, *, check: bool = False) -> ReindexReport:
        """Rebuild every index table from the log (under the append lock); see reindex.py."""
        report = reindex(self.engine, self.policy, check=check)
        self.log_alerts()
        return report
