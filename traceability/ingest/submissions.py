"""Submitting one signed envelope outside MQTT (over HTTPS): the gateway's checks and receipt.

An envelope submitted here goes the way a device's MQTT message goes through the ingest
gateway, minus the topic: at most `max_envelope_bytes`, parsed and signature-checked by
the ledger, appended through the domain rules (`Domain.record`), refusals stored as
evidence (`traceability/ingest/rejections.py`), and answered with the receipt the log key signs
(`traceability/ingest/receipts.py`: the same `receipt_payload` and `sign_receipt` the gateway
uses, so the receipt's bytes are the ones the gateway would publish for the same result).

Refused messages are stored with `topic` set to the channel (e.g. `POST /v1/events`) and
`device_id` set to the envelope's signer, within the signer's refusal budget (beyond it,
only time, reason and hash). A message from an unauthenticated sender that
does not even carry a registered signer's valid signature (unparseable, too large,
unknown signer, bad signature) is answered but not stored: it is evidence against no one,
and keeping it would let anyone fill the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from traceability.domain.service import Domain
from traceability.errors import InvalidInput
from traceability.ingest.receipts import MessageSigner, receipt_payload, sign_receipt
from traceability.ingest.rejections import RefusalBudget, Rejection, record_rejections
from traceability.log.log_key import load_log_signer
from traceability.log.results import AppendResult, rejected

ANONYMOUS_NOT_KEPT = frozenset(
    {"invalid_input", "canonicalization_error", "unknown_signer", "signature_invalid"}
)
"""Refusal reasons not stored for unauthenticated senders (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class Submission:
    """What became of one submitted envelope, and the log's signed receipt for it."""

    result: AppendResult
    receipt: bytes
    """The receipt's wire bytes: RFC 8785 JSON `{"payload": …, "sig": …}`."""
    stored_rejection: bool = False


class Submitter:
    """Records single envelopes through a domain and signs receipts with the log key."""

    def __init__(self, domain: Domain, signer: MessageSigner | None = None) -> None:
        self.domain = domain
        settings = domain.settings
        if signer is None:
            with domain.engine.connect() as conn:
                signer = load_log_signer(conn, settings.log_origin, settings.log_key_passphrase)
        self._signer = signer
        self._origin = settings.log_origin
        self._max_bytes = settings.max_envelope_bytes
        self._budget = RefusalBudget.from_settings(settings)

    def submit(
        self, raw: bytes, *, channel: str, authenticated: bool, size: int | None = None
    ) -> Submission:
        """Record `raw` (an envelope's JSON bytes) and answer with a signed receipt.

        `size` is the message's full length when `raw` holds only its first bytes (a body
        cut at the limit). Never raises for a bad envelope: the receipt says `rejected`.
        """
        full = len(raw) if size is None else size
        if full > self._max_bytes:
            result = rejected(
                InvalidInput(f"envelope is {full} bytes, over the limit of {self._max_bytes}")
            )
        elif not raw.strip():
            result = rejected(InvalidInput("the request body is empty: send an envelope"))
        else:
            (result,) = self.domain.record([raw])
        stored = False
        if result.status == "rejected" and (
            authenticated or (result.reason or "") not in ANONYMOUS_NOT_KEPT
        ):
            rejection = _rejection(raw, full, result, channel)
            record_rejections(self.domain.engine, [rejection], self._budget)
            stored = True
        payload = receipt_payload(result, self._origin, self._received(result))
        return Submission(result, sign_receipt(payload, self._signer), stored)

    def _received(self, result: AppendResult) -> str | None:
        """The time received of the entry the result names (the leaf's fourth line)."""
        if result.index is None or result.status == "rejected":
            return None
        return self.domain.ledger.entry(result.index)[2].received


def _rejection(raw: bytes, size: int, result: AppendResult, channel: str) -> Rejection:
    return Rejection(
        received_at=datetime.now(UTC),
        topic=channel,
        device_id=result.signer,
        reason=result.reason or "rejected",
        detail=result.detail or "",
        payload=raw,
        envelope_hash=result.envelope_hash,
        signer=result.signer,
        seq=result.seq,
        payload_size=size,
    )
