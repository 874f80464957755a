"""The supply chain as one service: record signed events through the rules, log the alerts.

Reads are functions on a connection, one module per concept: `batches`, `units`,
`history`, `lineage`, `alerts`, `organisations`, `sites`, `recalls`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Engine

from traceability.domain import alerts as alert_store
from traceability.domain.herbs import HerbRules
from traceability.domain.policy import DomainPolicy
from traceability.domain.reindex import ReindexReport, reindex
from traceability.domain.rules_signer import RulesSigner, ensure_rules_signer
from traceability.ledger import Ledger
from traceability.log.results import AppendResult
from traceability.settings import Settings
from traceability.storage.db import make_engine


class Domain:
    """Records domain events (signed envelopes) through the rules and logs their alerts.

    `Domain(settings)` or `Domain(settings, engine)`, a context manager. The database
    must be initialised (`traceability.ledger.initialise`); the rules signer (role
    `system`, the signer of `alert` envelopes) is created on first use. `record`
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
        self._alerts_checked = False

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
        The first call also logs alerts left pending by an earlier run (stopped between an
        append and its alerts); later calls look for pending alerts only when these
        envelopes raised some, so a batch that raised none costs no query.
        """
        mark = self.alerts_mark()
        results = self.ledger.append(envelopes)
        self.log_alerts_since(mark)
        return results

    def alerts_mark(self) -> int:
        """A mark to take before appending through the rules, for `log_alerts_since`."""
        return self.policy.alerts_raised

    def log_alerts_since(self, mark: int) -> list[AppendResult]:
        """Log pending alerts if any may be waiting: the rules raised some since `mark` (taken
        before the caller's append), refusals worth one are waiting, or this is the first
        look (alerts an earlier run left pending). Otherwise nothing is read."""
        quiet = self._alerts_checked and self.policy.alerts_raised == mark
        return [] if quiet and not self.policy.has_findings() else self.log_alerts()

    def log_alerts(self) -> list[AppendResult]:
        """Append an `alert` envelope for every stored alert not yet in the log."""
        with self._alert_lock:
            alert_store.store_findings(self.engine, self.policy.drain_findings())
            self._alerts_checked = True
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
    ) -> alert_store.AlertView:
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
        with self.engine.connect() as conn:
            return alert_store.get_alert(conn, alert_id)

    def reindex(self, *, check: bool = False) -> ReindexReport:
        """Rebuild every index table from the log (under the append lock); see reindex.py."""
        report = reindex(self.engine, self.policy.projector, check=check)
        self.log_alerts()
        return report
