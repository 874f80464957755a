"""C2SP transparency-log checkpoints (c2sp.org/tlog-checkpoint@v1.0.0) as Ed25519 signed notes.

Checkpoint body, the note text (tlog-checkpoint §Note text), UTF-8::

    <origin> 0x0A
    <tree size: ASCII decimal, no leading zeros unless the size is "0"> 0x0A
    <base64 (RFC 4648 §4) of the 32-byte RFC 6962 / RFC 9162 Merkle tree root> 0x0A

The origin is non-empty and has no control characters. Extension lines (§Note text, item 4)
are OPTIONAL and NOT RECOMMENDED by the spec; herbtrace never writes them and
`Checkpoint.parse` refuses them, so that everything a checkpoint says can be audited.

The signed checkpoint is a signed note (`traceability.log.note`) whose key name equals the
origin (§Signatures: "SHOULD match"; herbtrace enforces it on signing and on opening).
"""

from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass

from traceability.errors import NoteError
from traceability.log.note import (
    NoteSigner,
    NoteVerifier,
    decode_base64,
    open_note,
    sign_note,
)

MAX_TREE_SIZE = 2**64 - 1
"""Tree sizes are unsigned 64-bit integers (RFC 9162 §4.10 tree_size, C2SP tlog-tiles)."""

_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
_ROOT_SIZE = 32


@dataclass(frozen=True)
class Checkpoint:
    """A log's signed statement of its origin, tree size and RFC 6962 root hash."""

    origin: str
    size: int
    root: bytes

    def __post_init__(self) -> None:
        """Refuse an empty or control-character origin, a size outside uint64, or a bad root."""
        if not self.origin:
            raise NoteError("checkpoint origin must be non-empty")
        if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in self.origin):
            raise NoteError("checkpoint origin contains a control character or lone surrogate")
        if isinstance(self.size, bool):
            raise NoteError("checkpoint tree size must be an int, not a bool")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise NoteError(f"checkpoint tree size {self.size} is outside 0..2^64-1")
        if len(self.root) != _ROOT_SIZE:
            raise NoteError(f"checkpoint root must be {_ROOT_SIZE} bytes")

    def body(self) -> str:
        """Return ``<origin>\\n<size in decimal>\\n<base64 root>\\n``, the text that is signed."""
        root64 = base64.b64encode(self.root).decode("ascii")
        return f"{self.origin}\n{self.size}\n{root64}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse exactly the three body lines; NoteError (with the reason) for anything else."""
        if not text.endswith("\n"):
            raise NoteError("checkpoint text must end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("checkpoint needs origin, tree size and root hash lines")
        if len(lines) > 3:
            raise NoteError("checkpoint extension lines are not accepted")
        origin, size_text, root_text = lines
        if not _SIZE.fullmatch(size_text):
            raise NoteError(
                f"checkpoint tree size {size_text[:32]!r} is not a decimal without leading zeros"
            )
        root = decode_base64(root_text, "checkpoint root hash")
        if len(root) != _ROOT_SIZE:
            raise NoteError(f"checkpoint root hash is {len(root)} bytes, want {_ROOT_SIZE}")
        return cls(origin, int(size_text), root)


def sign_checkpoint(cp: Checkpoint, signer: NoteSigner) -> str:
    """Return the checkpoint as a note signed by `signer`, whose name must equal the origin."""
    if signer.name != cp.origin:
        raise NoteError(f"signer name {signer.name!r} differs from checkpoint origin {cp.origin!r}")
    return sign_note(cp.body(), [signer])


def open_checkpoint(note: str, verifier: NoteVerifier) -> Checkpoint:
    """Verify a signed checkpoint by `verifier`, then parse it; its origin must be the key name."""
    checkpoint = Checkpoint.parse(open_note(note, [verifier]).text)
    if checkpoint.origin != verifier.name:
        raise NoteError(
            f"checkpoint origin {checkpoint.origin!r} differs from key name {verifier.name!r}"
        )
    return checkpoint
