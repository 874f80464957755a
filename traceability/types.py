"""Distinct names for byte strings and identifiers that are easy to confuse."""

from typing import NewType

LeafHash = NewType("LeafHash", bytes)
"""SHA-256(0x00 || leaf bytes): an RFC 9162 §2.1.1 leaf hash, 32 bytes."""

NodeHash = NewType("NodeHash", bytes)
"""An RFC 9162 Merkle tree hash (leaf, interior node or root), 32 bytes."""

EnvelopeHash = NewType("EnvelopeHash", bytes)
"""SHA-256 of an envelope's canonical payload bytes, 32 bytes."""

KeyID = NewType("KeyID", str)
"""A signer's key ID: lowercase hex of the first 16 bytes of SHA-256(raw public key)."""

NoteKeyID = NewType("NoteKeyID", int)
"""A C2SP signed-note key ID: the big-endian uint32 of SHA-256(name || 0x0A || type || key)[:4]."""
