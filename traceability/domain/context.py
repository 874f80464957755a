"""What a rule sees of the event being applied, and the alerts it raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NoReturn

from traceability.domain.herbs import HerbRules
from traceability.domain.working_set import WorkingSet
from traceability.errors import RuleViolation
from traceability.log.signers import SignerInfo

MAX_TEXT = 200
"""Evidence strings are at most this long (schemas.events.common.Text)."""


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert a rule raised while applying an event; stored with the event's projection."""

    kind: str
    severity: str
    detail: str
    batch: str | None = None
    subject: str | None = None
    evidence: dict[str, str | int] = field(default_factory=dict)


def clip(value: object) -> str | int:
    """An evidence value: ints stay, anything else becomes non-empty text of ≤ 200 characters."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    out = str(value)[:MAX_TEXT]
    return out or "-"


@dataclass
class Context:
    """One log entry being applied: where, by whom, when, and the alerts raised so far.

    `index` is the entry's log index, `received` its receive time (RFC 3339, the leaf's
    fourth line), `time` the signer's own time, `envelope_hash` hex of its envelope hash.
    Rules read and write the state tables through `state`, the append batch's working set;
    `state.flushed()` gives the connection for a query over many rows.
    """

    state: WorkingSet
    index: int
    signer: SignerInfo
    received: str
    time: str
    envelope_hash: str
    herbs: HerbRules
    rules_key_id: str | None
    alerts: list[NewAlert] = field(default_factory=list)

    @property
    def org(self) -> str:
        """The signer's organisation ID."""
        return self.signer.organisation

    @property
    def role(self) -> str:
        """The signer's role."""
        return self.signer.role

    def refuse(self, reason: str, detail: str, **evidence: object) -> NoReturn:
        """Refuse the event with a stable reason code, a sentence, and the evidence."""
        raise RuleViolation(reason, detail, {k: clip(v) for k, v in evidence.items()})

    def alert(
        self,
        kind: str,
        severity: str,
        detail: str,
        *,
        batch: str | None = None,
        subject: str | None = None,
        evidence: Mapping[str, object] | None = None,
    ) -> None:
        """Raise an alert; it is stored if (and only if) the event is applied."""
        self.alerts.append(
            NewAlert(
                kind=kind,
                severity=severity,
                detail=detail[:1000],
                batch=batch,
                subject=None if subject is None else subject[:MAX_TEXT],
                evidence={k: clip(v) for k, v in list((evidence or {}).items())[:18]},
            )
        )
