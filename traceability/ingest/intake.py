"""The ingest step: what becomes of a message that carries an envelope, whichever way it came.

Both channels run it: the ingest gateway for MQTT (`devices/gateway`) and `POST /v1/events`
for HTTPS. Each channel describes what it received as an `Arrival`, and does only its own
work around the step (connections, acknowledgements, HTTP answers).

Per message, in this order: the size limit (`max_envelope_bytes`, on the message's whole
length); a refusal the channel made itself (an MQTT topic that names no device, an empty
HTTP body); then the ledger parses the envelope and checks its signature (worker processes
for large batches); then, when the channel vouches for a device (an MQTT topic names one),
the envelope's signer must be that device; then the ledger appends what is left in one
transaction, applying the signer, sequence and domain rules.

Refusals are kept as evidence (`rejections.py`), charged to the device the channel vouches
for, else to the envelope's signer, within that sender's budget. A refusal from an
unauthenticated sender that does not even carry a registered signer's valid signature
(unparseable, too large, unknown signer, bad signature) is not kept: it is evidence
against no one, and keeping it would let anyone fill the database. Every message is
answered with a receipt the log key signs (`receipts.py`), naming the time the log received
the entry, as the append result carries it.

`check` takes no lock and is thread-safe, so a channel may check its next batch while the
previous one commits (the gateway does); `submit` runs the whole step for one message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from traceability.errors import InvalidInput, TopicMismatch, TraceabilityError
from traceability.ingest.receipts import MessageSigner, sign_result
from traceability.ingest.rejections import RefusalBudget, Rejection, record_rejections
from traceability.ledger import Ledger
from traceability.log.appender import Prepared
from traceability.log.log_key import load_log_signer
from traceability.log.results import AppendResult, rejected

if TYPE_CHECKING:
    from traceability.domain.service import Domain

ANONYMOUS_NOT_KEPT = frozenset(
    {"invalid_input", "canonicalization_error", "unknown_signer", "signature_invalid"}
)
"""Refusal reasons not stored for unauthenticated senders (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class Arrival:
    """One message as a channel received it."""

    payload: bytes
    channel: str
    """Where it came: an MQTT topic, or the HTTP method and path (stored with refusals)."""
    device: str | None = None
    """The device the channel vouches for (an MQTT topic's): the envelope's signer must be it."""
    size: int | None = None
    """The message's whole length, when `payload` holds only its first bytes."""
    authenticated: bool = True
    """Whether the sender proved who it is to the channel (a broker login, a bearer token)."""
    refused: TraceabilityError | None = None
    """A refusal the channel made itself, before the log sees the message."""

    @property
    def length(self) -> int:
        """The message's whole length in bytes."""
        return len(self.payload) if self.size is None else self.size


@dataclass(frozen=True, slots=True)
class Checked:
    """Arrivals with the results known before appending, and the part ready to append."""

    arrivals: list[Arrival]
    early: list[AppendResult | None]
    prepared: Prepared
    submitted: list[int]
    """The arrival position of each envelope in `prepared`, in order."""


@dataclass(frozen=True, slots=True)
class Submission:
    """What became of one submitted message, and the log's signed receipt for it."""

    result: AppendResult
    receipt: bytes
    """The receipt's wire bytes: RFC 8785 JSON `{"payload": …, "sig": …}`."""
    stored_rejection: bool = False


class Intake:
    """The ingest step over one ledger; receipts are signed with the log key.

    `after_commit(mark)` runs after commits that reached the ledger (a domain logs the alerts
    its rules raised): within `submit`, and when a batching channel calls `after_commit()`.
    `mark` is the lowest `alerts_mark()` taken before any of those commits, so the hook can
    tell whether anything was raised since (`Domain.log_alerts_since`).
    """

    def __init__(
        self,
        ledger: Ledger,
        receipt_signer: MessageSigner | None = None,
        *,
        after_commit: Callable[[int], object] | None = None,
        alerts_mark: Callable[[], int] | None = None,
    ) -> None:
        self.ledger = ledger
        settings = ledger.settings
        if receipt_signer is None:
            with ledger.engine.connect() as conn:
                receipt_signer = load_log_signer(
                    conn, settings.log_origin, settings.log_key_passphrase
                )
        self._signer = receipt_signer
        self._after_commit = after_commit
        self._alerts_mark = alerts_mark
        self._since: int | None = None
        self._since_lock = threading.Lock()
        self._origin = settings.log_origin
        self.max_bytes = settings.max_envelope_bytes
        self._budget = RefusalBudget.from_settings(settings)

    @classmethod
    def for_domain(cls, domain: Domain, receipt_signer: MessageSigner | None = None) -> Intake:
        """The step through a domain's rules, logging their alerts after each commit."""
        return cls(
            domain.ledger,
            receipt_signer,
            after_commit=domain.log_alerts_since,
            alerts_mark=domain.alerts_mark,
        )

    def check(self, arrivals: Sequence[Arrival]) -> Checked:
        """Run every check that needs no append lock; thread-safe."""
        arrivals = list(arrivals)
        early: list[AppendResult | None] = [None] * len(arrivals)
        submitted: list[int] = []
        for i, arrival in enumerate(arrivals):
            if arrival.length > self.max_bytes:
                early[i] = rejected(
                    InvalidInput(
                        f"envelope is {arrival.length} bytes, over the limit of {self.max_bytes}"
                    )
                )
            elif arrival.refused is not None:
                early[i] = rejected(arrival.refused)
            else:
                submitted.append(i)
        prepared = self.ledger.prepare([arrivals[i].payload for i in submitted])
        valid = []
        for j, env in prepared.valid:
            device = arrivals[submitted[j]].device
            if device is not None and env.signer != device:
                early[submitted[j]] = rejected(
                    TopicMismatch(
                        f"envelope signed by {env.signer} arrived on the topic of device {device}"
                    ),
                    env,
                )
            else:
                valid.append((j, env))
        return Checked(arrivals, early, Prepared(prepared.results, valid), submitted)

    def commit(self, checked: Checked) -> list[AppendResult]:
        """Append the checked envelopes in one transaction; one result per arrival, in order."""
        results = list(checked.early)
        mark = self._alerts_mark() if self._alerts_mark is not None else 0
        with self._since_lock:
            self._since = mark if self._since is None else min(self._since, mark)
        for j, result in enumerate(self.ledger.commit(checked.prepared)):
            i = checked.submitted[j]
            if results[i] is None:
                results[i] = result
        assert all(r is not None for r in results)  # noqa: S101 - every arrival was submitted
        return [r for r in results if r is not None]

    def after_commit(self) -> None:
        """Run the hook given for after commits, if any commit came since it last ran."""
        with self._since_lock:
            since, self._since = self._since, None
        if self._after_commit is not None and since is not None:
            self._after_commit(since)

    def refusals(
        self, arrivals: Sequence[Arrival], results: Sequence[AppendResult], at: datetime
    ) -> list[Rejection]:
        """The evidence rows of the refused arrivals that are kept, received at `at`."""
        return [
            _rejection(arrival, result, at)
            for arrival, result in zip(arrivals, results, strict=True)
            if result.status == "rejected"
            and (arrival.authenticated or (result.reason or "") not in ANONYMOUS_NOT_KEPT)
        ]

    def keep(self, rejections: Sequence[Rejection]) -> None:
        """Store refusals in one transaction, within each sender's budget."""
        record_rejections(self.ledger.engine, rejections, self._budget)

    def receipt(self, result: AppendResult) -> bytes:
        """The signed receipt of an append result (docs/protocol.md §8)."""
        return sign_result(result, self._origin, result.received, self._signer)

    def submit(self, arrival: Arrival) -> Submission:
        """Run the whole step for one message: check, commit, keep a refusal, sign a receipt.

        Never raises for a bad envelope: the receipt says `rejected`.
        """
        checked = self.check([arrival])
        (result,) = self.commit(checked)
        if checked.submitted:
            self.after_commit()
        rows = self.refusals(checked.arrivals, [result], datetime.now(UTC))
        self.keep(rows)
        return Submission(result, self.receipt(result), bool(rows))


def _rejection(arrival: Arrival, result: AppendResult, at: datetime) -> Rejection:
    return Rejection(
        received_at=at,
        topic=arrival.channel,
        device_id=arrival.device or result.signer,
        reason=result.reason or "rejected",
        detail=result.detail or "",
        payload=arrival.payload,
        envelope_hash=result.envelope_hash,
        signer=result.signer,
        seq=result.seq,
        payload_size=arrival.length,
    )
