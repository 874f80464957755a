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
