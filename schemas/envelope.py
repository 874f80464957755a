"""The signed envelope: how every event travels to the log, over MQTT or HTTPS."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer RFC 8785 (I-JSON) represents exactly; larger numbers travel as strings."""


_RFC3339_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")


def _rfc3339(value: str) -> str:
    # fromisoformat alone also takes ISO 8601 forms RFC 3339 lacks (dates, week dates, basic).
    if not _RFC3339_UTC.fullmatch(value):
        raise ValueError("time must be RFC 3339 in UTC, ending in 'Z'")
    datetime.fromisoformat(value[:-1] + "+00:00")
    return value


def _integer(value: object) -> object:
    # Literal[1] alone also takes True (True == 1), which RFC 8785 writes as `true`.
    if type(value) is not int:
        raise ValueError("v must be the integer 1")
    return value


VersionOne = Annotated[Literal[1], BeforeValidator(_integer)]
KeyIDStr = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
HashHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Base64Sig = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{86}==$")]
UtcTime = Annotated[str, StringConstraints(max_length=40), AfterValidator(_rfc3339)]


class EventBody(BaseModel):
    """An event's body: its `type` names the schema the rest follows."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.]{0,63}$")]


class EnvelopePayload(BaseModel):
    """What a signer signs: RFC 8785 bytes of this object, after the domain prefix."""

    model_config = ConfigDict(extra="forbid", strict=True)

    v: VersionOne = Field(description="Envelope format version")
    signer: KeyIDStr = Field(description="Key ID of the signer: hex of SHA-256(public key)[:16]")
    seq: int = Field(ge=1, le=MAX_SAFE_INTEGER, description="The signer's sequence number, from 1")
    prev: HashHex = Field(
        description="Envelope hash of the signer's envelope seq-1; 64 zeros when seq is 1"
    )
    time: UtcTime = Field(description="When the signer recorded the event (RFC 3339, UTC)")
    body: EventBody


class Envelope(BaseModel):
    """A payload and the signer's Ed25519 signature over it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    payload: EnvelopePayload
    sig: Base64Sig = Field(description="base64 Ed25519 signature (64 bytes)")

    def raw_payload(self) -> dict[str, Any]:
        """Return the payload as plain JSON data, extra body fields included."""
        return self.payload.model_dump(mode="json")
