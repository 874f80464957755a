"""The single hierarchy of herbtrace's domain errors.

TraceabilityError
├── InvalidInput                 malformed input: bad JSON, bad base64, out-of-range numbers
│   ├── CanonicalizationError    a value RFC 8785 cannot represent exactly
│   └── WeakPublicKey            a small-order or non-canonical Ed25519 public key
├── NotFound                     an entry, checkpoint or signer that does not exist
├── AlreadyExists                a name that is taken (a user)
├── Refused                      valid input the log will not accept
│   ├── UnknownSigner
│   ├── SignerNotActive          revoked, or outside its validity window
│   ├── SequenceConflict         equivocation: another envelope already holds this sequence number
│   ├── ChainMismatch            `prev` does not name the signer's previous envelope
│   ├── TopicMismatch            an MQTT envelope whose signer is not the topic's device
│   └── RuleViolation            a domain rule refuses the event (per-instance reason, evidence)
├── ConfigurationError           missing or unusable settings, keys or database
├── Unauthenticated              no bearer token, or one that is unknown or revoked
├── Forbidden                    a known principal whose role or organisation may not do this
└── VerificationError            something that should verify does not; carries the evidence
    ├── SignatureInvalid
    ├── NoteError                a signed note that is malformed or not signed by a known key
    ├── ProofError               an inclusion or consistency proof that does not verify
    │   └── RootMismatch
    └── ChainBroken              a stored entry or tree node missing or breaking the log

The HTTP layer maps each class to one status code in one place (`api/errors.py`).
"""

from __future__ import annotations


class TraceabilityError(Exception):
    """Base class of every error herbtrace raises on purpose."""


class InvalidInput(TraceabilityError):
    """The input is malformed; nothing was recorded."""


class ConflictingInput(InvalidInput):
    """The request names one thing twice, differently (e.g. two organisations); nothing done."""


class CanonicalizationError(InvalidInput):
    """A value cannot be represented in RFC 8785 canonical JSON (e.g. an integer beyond 2^53)."""


class WeakPublicKey(InvalidInput):
    """An Ed25519 public key no one may register: small-order, non-canonical or off the curve."""


class NotFound(TraceabilityError):
    """The requested object does not exist."""


class AlreadyExists(TraceabilityError):
    """Something with this name already exists; nothing was changed."""


class ConfigurationError(TraceabilityError):
    """Settings, keys or the database are missing or unusable."""


class Unauthenticated(TraceabilityError):
    """The request carries no bearer token, or one that is unknown or revoked."""


class Forbidden(TraceabilityError):
    """The principal is known, but its role or organisation does not allow the request."""


class Refused(TraceabilityError):
    """A well-formed envelope the log will not accept; `reason` is a stable code."""

    reason = "refused"


class UnknownSigner(Refused):
    """The envelope names a key ID that is not in the signer registry."""

    reason = "unknown_signer"


class SignerNotActive(Refused):
    """The signer is revoked, or the envelope falls outside its validity window."""

    reason = "signer_not_active"


class SequenceConflict(Refused):
    """Equivocation: a different envelope already holds this signer's sequence number."""

    reason = "equivocation"


class ChainMismatch(Refused):
    """The envelope's `prev` does not match the hash of the signer's previous envelope."""

    reason = "prev_mismatch"


class TopicMismatch(Refused):
    """An envelope arrived on another device's MQTT topic than its signer's own."""

    reason = "topic_mismatch"


class RuleViolation(Refused):
    """A domain rule refuses an event: `reason` is a stable code, `evidence` what showed it.

    Reasons: invalid_event, unauthorised, custody, unknown_batch, unknown_site,
    unknown_organisation, unknown_shipment, unknown_unit, duplicate_id, batch_recalled,
    batch_consumed, in_transit, quality_failed, mass_balance, growing_age, herb_mismatch,
    unit_mismatch, wrong_batch_kind, shipment_mismatch, invalid_gtin, alert_already_logged.
    """

    def __init__(
        self, reason: str, detail: str, evidence: dict[str, str | int] | None = None
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.evidence: dict[str, str | int] = dict(evidence or {})


class VerificationError(TraceabilityError):
    """Something that should verify does not."""


class SignatureInvalid(VerificationError):
    """An Ed25519 signature does not verify."""


class NoteError(VerificationError):
    """A signed note is malformed, or carries no valid signature from a known key."""


class ProofError(VerificationError):
    """An RFC 9162 inclusion or consistency proof is malformed or does not verify."""


class RootMismatch(ProofError):
    """A proof computed a root other than the expected one."""

    def __init__(self, expected: bytes, calculated: bytes) -> None:
        super().__init__(
            f"calculated root {calculated.hex()} does not match expected root {expected.hex()}"
        )
        self.expected = expected
        self.calculated = calculated


class ChainBroken(VerificationError):
    """The log is broken at `index`: what was expected there and what was found."""

    def __init__(self, index: int, what: str, expected: str = "", got: str = "") -> None:
        detail = f"entry {index}: {what}"
        if expected or got:
            detail += f" (expected {expected}, got {got})"
        super().__init__(detail)
        self.index = index
        self.what = what
        self.expected = expected
        self.got = got
