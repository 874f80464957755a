"""The regulator office: herbtrace's key that signs `recall` envelopes for signed-in regulators.

A regulator using the HTTP API holds a bearer token, not a signing key, so the server signs
the recall with one office key on the regulator's behalf. The key is kept like the rules
signer's (encrypted with the log key passphrase, in `rules_keys` under the name
`<log origin>#regulator-office`) and registered as a `regulator` signer of the
organisation `regulator-office`.

Trust consequence: the log proves that the server's office key signed the recall, not which
person asked for it. The recall's `reason` ends with `[regulator #<user id>]`, and that
attribution is the server's statement, as trustworthy as the server and its user database;
a regulator who must be provably the author signs the recall with a key of their own and
submits it through POST /v1/events. The signed body names no person: log entries are public
and permanent, so the regulator's name stays in the user database, where the user ID leads
(regulators and admins find it with GET /v1/users), never in the log.

Recalls are signed one at a time under a lock that all processes on the database share
(`named_lock`): each needs the office's next `seq` and `prev`, and two API processes
signing the same `seq` would make the office key equivocate. A rejected recall does not use
up a sequence number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from traceability.domain.server_key import ensure_server_key
from traceability.envelope import GENESIS_PREV, sign_envelope
from traceability.errors import InvalidInput
from traceability.key_wrapping import COSTS
from traceability.keys import key_id_for, raw_public_key
from traceability.log.entry import format_time
from traceability.log.results import AppendResult
from traceability.log.sequencing import signer_heads
from traceability.log.signers import register_signer
from traceability.settings import Settings
from traceability.storage.named_lock import named_lock

ORGANISATION = "regulator-office"
"""The organisation the office key is registered under."""
ROLE = "regulator"
MAX_REASON = 200
"""A recall body's `reason` holds at most this many characters, attribution included."""


class Recorder(Protocol):
    """Anything that appends envelopes through the domain rules (a `Domain`)."""

    def record(self, envelopes: Sequence[bytes | dict[str, Any]]) -> list[AppendResult]: ...


@dataclass(frozen=True)
class SignedRecall:
    """A recall envelope the office signed, and what the log made of it."""

    envelope: dict[str, Any]
    result: AppendResult


def attributed_reason(reason: str, user_id: int) -> str:
    """The recall's reason with the regulator it was signed for: `<reason> [regulator #ID]`.

    The user ID, not the name: the body goes into the public log (docs/security.md).

    InvalidInput when the whole would exceed MAX_REASON characters or the reason is blank.
    """
    if not reason.strip():
        raise InvalidInput("a recall needs a reason")
    text = f"{reason} [regulator #{user_id}]"
    if len(text) > MAX_REASON:
        room = MAX_REASON - (len(text) - len(reason))
        raise InvalidInput(f"the reason is {len(reason)} characters; at most {room} fit")
    return text


class RecallOffice:
    """Signs recall envelopes with the office key and records them through the rules."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.engine = engine
        self.key = _ensure_key(settings, engine)
        self.key_id = key_id_for(raw_public_key(self.key))
        register_signer(
            engine,
            public_key=raw_public_key(self.key),
            name="herbtrace regulator office",
            organisation=ORGANISATION,
            role=ROLE,
        )

    def recall(
        self,
        recorder: Recorder,
        *,
        batch: str,
        level: str,
        reason: str,
        user_id: int,
    ) -> SignedRecall:
        """Sign a `recall` of `batch` for the regulator `user_id` and record it; return both."""
        body = {
            "type": "recall",
            "batch": batch,
            "level": level,
            "reason": attributed_reason(reason, user_id),
        }
        with named_lock(self.engine, f"signer {self.key_id}"):
            with self.engine.connect() as conn:
                head = signer_heads(conn, {self.key_id}).get(self.key_id)
            seq, prev = (head.seq, head.envelope_hash.hex()) if head else (0, GENESIS_PREV)
            payload = {
                "v": 1,
                "signer": self.key_id,
                "seq": seq + 1,
                "prev": prev,
                "time": format_time(datetime.now(UTC)),
                "body": body,
            }
            envelope = sign_envelope(self.key, payload)
            (result,) = recorder.record([envelope])
        return SignedRecall(envelope, result)


def key_name(settings: Settings) -> str:
    """The office key's name: the log origin with `#regulator-office` appended."""
    return f"{settings.log_origin}#regulator-office"


def _ensure_key(settings: Settings, engine: Engine) -> Ed25519PrivateKey:
    name, passphrase = key_name(settings), settings.log_key_passphrase
    cost = COSTS[settings.key_kdf_cost]
    return ensure_server_key(engine, name, passphrase, what="regulator office key", cost=cost)
