"""Log entries and their leaf bytes: what the Merkle tree and the hash chain commit to."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from traceability.canonical import canonical_json_loads
from traceability.errors import InvalidInput
from traceability.types import LeafHash

LEAF_MAGIC = b"herbtrace/v1/entry"
GENESIS_LEAF_HASH = LeafHash(bytes(32))
"""The `prev` of entry 0: 32 zero bytes."""

_INDEX = re.compile(rb"^(0|[1-9][0-9]{0,17})$")
_HEX64 = re.compile(rb"^[0-9a-f]{64}$")
_TIME = re.compile(rb"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")
_SIG = re.compile(rb"^[A-Za-z0-9+/]{85}[AQgw]==$")  # canonical: unused bits 0


def format_time(moment: datetime) -> str:
    """Format a timestamp as the leaf's received line: RFC 3339, UTC, microseconds, 'Z'."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Entry:
    """One log entry, decoded from its leaf bytes.

    Leaf layout (six lines, each ending in 0x0A, all ASCII except the payload's UTF-8)::

        herbtrace/v1/entry
        <index, decimal, no leading zeros>
        <leaf hash of entry index-1, 64 lowercase hex; 64 zeros for entry 0>
        <time received, YYYY-MM-DDTHH:MM:SS.ffffffZ>
        <envelope signature, standard base64 of 64 bytes>
        <envelope payload, RFC 8785 canonical JSON (never contains 0x0A)>

    leaf_hash = SHA-256(0x00 || leaf) (RFC 9162 §2.1.1) is both the Merkle leaf and the
    value the next entry's third line names, so the hash chain and the tree commit to
    the same bytes.
    """

    index: int
    prev: LeafHash
    received: str
    signature: bytes
    payload_bytes: bytes

    def leaf(self) -> bytes:
        """Return the exact leaf bytes."""
        return build_leaf(self.index, self.prev, self.received, self.signature, self.payload_bytes)

    def payload(self) -> dict[str, Any]:
        """Return the envelope payload as JSON data."""
        value = canonical_json_loads(self.payload_bytes)
        if not isinstance(value, dict):
            raise InvalidInput("entry payload is not a JSON object")
        return value

    def to_json(self) -> dict[str, Any]:
        """Return the decoded entry as served by GET /v1/log/entries/{index}."""
        return {
            "index": self.index,
            "prev": self.prev.hex(),
            "received": self.received,
            "envelope": {
                "payload": self.payload(),
                "sig": base64.b64encode(self.signature).decode(),
            },
        }


def build_leaf(
    index: int, prev: bytes, received: str, signature: bytes, payload_bytes: bytes
) -> bytes:
    """Assemble leaf bytes in the layout documented on Entry."""
    return b"".join(
        (
            LEAF_MAGIC,
            b"\n",
            str(index).encode(),
            b"\n",
            prev.hex().encode(),
            b"\n",
            received.encode(),
            b"\n",
            base64.b64encode(signature),
            b"\n",
            payload_bytes,
            b"\n",
        )
    )


LEAF_LAYOUT = re.compile(
    rb"herbtrace/v1/entry\n(0|[1-9][0-9]{0,17})\n([0-9a-f]{64})\n"
    rb"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z)\n"
    rb"([A-Za-z0-9+/]{85}[AQgw]==)\n([^\n]*)\n"
)
"""The leaf layout parse_leaf accepts; a match's groups: index, prev, received, sig, payload."""


def parse_leaf(leaf: bytes) -> Entry:
    """Decode leaf bytes strictly; InvalidInput names the first line that is wrong."""
    match = LEAF_LAYOUT.fullmatch(leaf)
    if match is not None:
        index, prev, received, sig, payload = match.groups()
        return Entry(
            index=int(index),
            prev=LeafHash(bytes.fromhex(prev.decode())),
            received=received.decode(),
            signature=base64.b64decode(sig),
            payload_bytes=payload,
        )
    return _explain(leaf)


def _explain(leaf: bytes) -> Entry:
    """Find what is wrong with a leaf that did not match the layout, and say so."""
    if not leaf.endswith(b"\n"):
        raise InvalidInput("leaf does not end in a newline")
    lines = leaf[:-1].split(b"\n")
    if len(lines) != 6:
        raise InvalidInput(f"leaf has {len(lines)} lines, want 6")
    magic, index, prev, received, sig, payload = lines
    if magic != LEAF_MAGIC:
        raise InvalidInput("leaf does not start with herbtrace/v1/entry")
    if not _INDEX.match(index):
        raise InvalidInput("leaf index line is not a decimal number")
    if not _HEX64.match(prev):
        raise InvalidInput("leaf prev line is not 64 lowercase hex digits")
    if not _TIME.match(received):
        raise InvalidInput("leaf received line is not a UTC timestamp with microseconds")
    if not _SIG.match(sig):
        raise InvalidInput("leaf signature line is not base64 of 64 bytes")
    try:
        signature = base64.b64decode(sig, validate=True)
    except binascii.Error as exc:
        raise InvalidInput("leaf signature line is not valid base64") from exc
    return Entry(
        index=int(index),
        prev=LeafHash(bytes.fromhex(prev.decode())),
        received=received.decode(),
        signature=signature,
        payload_bytes=payload,
    )
