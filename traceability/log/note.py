"""C2SP signed notes (c2sp.org/signed-note@v1.0.0) with Ed25519 keys (signature type 0x01).

Layouts (UTF-8; base64 is RFC 4648 §4 standard, padded, and must be canonical when parsed):

- key ID (signed-note §Signatures): ``SHA-256(name || 0x0A || type || public key)[:4]`` as a
  big-endian uint32; for Ed25519 the type is 0x01 and the key the 32-byte RFC 8032 public key.
- verifier key (golang.org/x/mod sumdb/note ``NewVerifier``):
  ``<name>+<key ID, 8 lowercase hex>+<base64(0x01 || 32-byte public key)>``.
- signer key (sumdb/note ``NewSigner``):
  ``PRIVATE+KEY+<name>+<key ID, 8 lowercase hex>+<base64(0x01 || 32-byte Ed25519 seed)>``.
- signed note (signed-note §Format): ``text || 0x0A || line...``, each signature line being
  ``U+2014 U+0020 <name> U+0020 base64(key ID[4] || 64-byte Ed25519 signature of text) 0x0A``.
  The text is non-empty, ends in a newline, may contain empty lines and runs up to the *last*
  empty line. The note is valid UTF-8 with no ASCII control character but newline. Key names
  are non-empty, without Unicode spaces or ``+``.

`open_note` follows sumdb/note ``Open``: signatures by unknown (name, key ID) pairs are
ignored, every signature by a known key must verify and at least one must; more than 100
signature lines make a note malformed (the spec requires accepting at least 16).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from traceability.errors import NoteError
from traceability.signatures import verify_signature
from traceability.types import NoteKeyID

ED25519 = 0x01  # signed-note signature type byte of Ed25519

MAX_SIGNATURE_LINES = 100
_SIG_PREFIX = "\u2014 "
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def decode_base64(text: str, what: str) -> bytes:
    """Decode canonical RFC 4648 §4 standard base64 (padded, no whitespace) or raise NoteError."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise NoteError(f"{what} is not valid standard base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError(f"{what} is not canonical standard base64")
    return raw


def _check_chars(text: str, what: str) -> None:
    """Require valid UTF-8 without ASCII control characters other than newline."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NoteError(f"{what} is not valid UTF-8 (lone surrogate)") from exc
    match = _CONTROL.search(text)
    if match:
        raise NoteError(f"{what} contains control character U+{ord(match.group()):04X}")


def _check_name(name: str) -> None:
    """Require a key name that is non-empty and has no Unicode spaces, '+' or control chars."""
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise NoteError(f"invalid key name {name!r}: must be non-empty, without spaces or '+'")
    _check_chars(name, "key name")


def note_key_id(name: str, public_key: bytes, key_type: int = ED25519) -> NoteKeyID:
    """Return the key ID SHA-256(name || 0x0A || key_type || public_key)[:4] as a big-endian int."""
    _check_name(name)
    if not 0 <= key_type <= 0xFF:
        raise NoteError(f"signature type {key_type} is not a byte")
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([key_type]) + public_key)
    return NoteKeyID(int.from_bytes(digest.digest()[:4], "big"))


def _parse_typed_key(name: str, hex_id: str, key64: str, what: str) -> tuple[NoteKeyID, bytes]:
    """Check the name, 8-hex key ID and base64(0x01 || 32 bytes) of a key; return (id, 32 bytes)."""
    _check_name(name)
    if not _HEX_KEY_ID.fullmatch(hex_id):
        raise NoteError(f"{what} has key ID {hex_id!r}, not 8 lowercase hex digits")
    key = decode_base64(key64, f"{what} material")
    if key[:1] != bytes([ED25519]):
        raise NoteError(f"{what} is not of signature type 0x01 (Ed25519): {key[:1].hex()!r}")
    if len(key) != 33:
        raise NoteError(f"{what} Ed25519 key is {len(key) - 1} bytes, want 32")
    return NoteKeyID(int(hex_id, 16)), key[1:]


@dataclass(frozen=True)
class NoteVerifier:
    """A known Ed25519 note key: its name, key ID and raw 32-byte public key."""

    name: str
    key_id: NoteKeyID
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise NoteError(f"Ed25519 public key is {len(self.public_key)} bytes, want 32")
        expected = note_key_id(self.name, self.public_key)
        if self.key_id != expected:
            raise NoteError(
                f"key ID {self.key_id:08x} of {self.name!r} does not match its key ({expected:08x})"
            )

    def to_vkey(self) -> str:
        """Return ``<name>+<8 lowercase hex key ID>+<base64(0x01 || public key)>``."""
        key64 = base64.b64encode(bytes([ED25519]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id:08x}+{key64}"

    @classmethod
    def from_vkey(cls, text: str) -> NoteVerifier:
        """Parse a verifier key string, raising NoteError if any part is malformed or mismatched."""
        parts = text.split("+", 2)
        if len(parts) != 3:
            raise NoteError("verifier key must be <name>+<hex key ID>+<base64 key>")
        name, hex_id, key64 = parts
        key_id, public_key = _parse_typed_key(name, hex_id, key64, "verifier key")
        return cls(name, key_id, public_key)

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """Return whether `sig` is a valid Ed25519 signature of `msg` by this key (`signatures`)."""
        return verify_signature(self.public_key, sig, msg)


class NoteSigner:
    """A note key name with its Ed25519 private key; `repr` never shows the key."""

    __slots__ = ("_private_key", "_verifier", "key_id", "name")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        """Bind `name` (a valid key name) to `private_key`."""
        public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._private_key = private_key
        self._verifier = NoteVerifier(name, note_key_id(name, public), public)
        self.name: Final = name
        self.key_id: Final = self._verifier.key_id

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """Return a signer with a fresh random Ed25519 key."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, text: str) -> NoteSigner:
        """Parse ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>``; NoteError if bad."""
        parts = text.split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise NoteError("signer key must be PRIVATE+KEY+<name>+<hex key ID>+<base64 key>")
        _, _, name, hex_id, key64 = parts
        key_id, seed = _parse_typed_key(name, hex_id, key64, "signer key")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        if signer.key_id != key_id:
            raise NoteError(f"signer key ID {key_id:08x} does not match its public key")
        return signer

    def verifier(self) -> NoteVerifier:
        """Return the public half of this key."""
        return self._verifier

    def sign(self, msg: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of `msg`."""
        return self._private_key.sign(msg)

    def to_skey(self) -> str:
        """Return the secret ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`` string."""
        seed = self._private_key.private_bytes_raw()
        key64 = base64.b64encode(bytes([ED25519]) + seed).decode("ascii")
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{key64}"

    def __repr__(self) -> str:
        return f"NoteSigner({self.name!r}, key_id={self.key_id:08x})"


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, key ID and the signature bytes after the key ID."""

    name: str
    key_id: NoteKeyID
    signature: bytes

    def line(self) -> str:
        """Return the line ``— <name> <base64(key ID || signature)>\\n``."""
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_SIG_PREFIX}{self.name} {base64.b64encode(blob).decode('ascii')}\n"


@dataclass
class Note:
    """An opened note: its text, every distinct signature line, and the keys that verified."""

    text: str
    signatures: list[NoteSignature]
    verified: list[NoteVerifier]


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """Return `text`, an empty line and one signature line per signer, in order."""
    if not text.endswith("\n"):
        raise NoteError("note text must be non-empty and end in a newline")
    _check_chars(text, "note text")
    if not 0 < len(signers) <= MAX_SIGNATURE_LINES:
        raise NoteError(f"a signed note needs 1 to {MAX_SIGNATURE_LINES} signers")
    msg = text.encode("utf-8")
    lines: dict[tuple[str, int], str] = {}
    for signer in signers:
        ident = (signer.name, signer.key_id)
        if ident in lines:
            raise NoteError(f"key {signer.name}+{signer.key_id:08x} is listed twice")
        lines[ident] = NoteSignature(signer.name, signer.key_id, signer.sign(msg)).line()
    return text + "\n" + "".join(lines.values())


def _parse_signature_line(line: str) -> NoteSignature:
    """Parse ``— <name> <base64(key ID || signature)>`` (without its newline)."""
    if not line.startswith(_SIG_PREFIX):
        raise NoteError("malformed note: signature line does not start with '\u2014 '")
    name, _, sig64 = line[len(_SIG_PREFIX) :].partition(" ")
    _check_name(name)
    raw = decode_base64(sig64, f"signature of {name!r}")
    if len(raw) < 5:
        raise NoteError(f"malformed note: signature of {name!r} is too short")
    return NoteSignature(name, NoteKeyID(int.from_bytes(raw[:4], "big")), raw[4:])


def open_note(note: str, verifiers: Sequence[NoteVerifier]) -> Note:
    """Split and verify a signed note; NoteError if malformed or not signed by a known key."""
    _check_chars(note, "note")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no empty line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("malformed note: signature block is empty or lacks a final newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURE_LINES:
        raise NoteError(f"malformed note: more than {MAX_SIGNATURE_LINES} signature lines")
    known: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        if known.setdefault((verifier.name, verifier.key_id), verifier) != verifier:
            raise NoteError(
                f"two verifier keys share name and ID {verifier.name}+{verifier.key_id:08x}"
            )
    msg = text.encode("utf-8")
    signatures: list[NoteSignature] = []
    verified: list[NoteVerifier] = []
    for line in dict.fromkeys(lines):
        signature = _parse_signature_line(line)
        signatures.append(signature)
        found = known.get((signature.name, signature.key_id))
        if found is None:
            continue
        if not found.verify(msg, signature.signature):
            raise NoteError(f"signature by known key {found.name}+{found.key_id:08x} is invalid")
        if found not in verified:
            verified.append(found)
    if not verified:
        raise NoteError("note has no valid signature from a known key")
    return Note(text, signatures, verified)
