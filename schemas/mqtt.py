"""MQTT topics and the signed receipt the ingest gateway returns for every envelope."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.envelope import Base64Sig, HashHex, KeyIDStr, UtcTime, VersionOne

TOPIC_ROOT = "herbtrace/v1/devices"
EVENTS_TOPIC = TOPIC_ROOT + "/{device_id}/events"
"""A device publishes each signed envelope here (QoS 1). `device_id` is its key ID."""
RECEIPTS_TOPIC = TOPIC_ROOT + "/{device_id}/receipts"
"""The gateway answers here with a `Receipt` (QoS 1); correlation data = envelope hash."""
SHARE_GROUP = "herbtrace-ingest"
INGEST_SUBSCRIPTION = f"$share/{SHARE_GROUP}/{TOPIC_ROOT}/+/events"
"""What a gateway process answering for every device subscribes to (partition 1/1)."""
EVERY_DEVICE_EVENTS = f"{TOPIC_ROOT}/+/events"
"""What each of several partitioned gateways subscribes to (`herbtrace ingest --partition
k/N`, N > 1): every device's events, outside the group, of which it takes its partition's."""

RECEIPT_SIGNING_PREFIX = b"herbtrace/v1/receipt\n"
"""Domain separation: the log key signs this prefix followed by RFC 8785(receipt payload)."""

_DEVICE_ID = re.compile(r"[0-9a-f]{32}")
_EVENTS = re.compile(re.escape(TOPIC_ROOT) + r"/([^/]+)/events")


def events_topic(device_id: str) -> str:
    """Return the events topic of `device_id` (a 32-hex key ID)."""
    _require_device_id(device_id)
    return EVENTS_TOPIC.format(device_id=device_id)


def receipts_topic(device_id: str) -> str:
    """Return the receipts topic of `device_id` (a 32-hex key ID)."""
    _require_device_id(device_id)
    return RECEIPTS_TOPIC.format(device_id=device_id)


def device_of_events_topic(topic: str) -> str | None:
    """Return the device ID an events topic names, or None if `topic` is not one."""
    match = _EVENTS.fullmatch(topic)
    if match is None or not _DEVICE_ID.fullmatch(match.group(1)):
        return None
    return match.group(1)


def _require_device_id(device_id: str) -> None:
    if not _DEVICE_ID.fullmatch(device_id):
        raise ValueError(f"a device ID is a 32-hex key ID, not {device_id!r}")


ReceiptStatus = Literal["accepted", "duplicate", "rejected"]


class ReceiptPayload(BaseModel):
    """What the log key signs about one submitted envelope."""

    model_config = ConfigDict(extra="forbid", strict=True)

    v: VersionOne = Field(description="Receipt format version")
    log: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="The log's origin (its checkpoint origin line)"
    )
    envelope_hash: HashHex | None = Field(
        description="hex SHA-256 of the envelope's canonical payload; null if unparseable"
    )
    signer: KeyIDStr | None = None
    seq: int | None = Field(default=None, ge=1)
    status: ReceiptStatus
    reason: str | None = Field(default=None, description="Stable code when rejected")
    detail: str | None = Field(default=None, description="Human-readable reason when rejected")
    index: int | None = Field(default=None, ge=0, description="Log index when accepted/duplicate")
    leaf_hash: HashHex | None = Field(default=None, description="hex leaf hash of that entry")
    received: UtcTime | None = Field(default=None, description="The entry's time received")


class Receipt(BaseModel):
    """A receipt payload and the log key's Ed25519 signature over it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    payload: ReceiptPayload
    sig: Base64Sig
