"""docs/protocol.md's worked example is exactly what the code computes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from protocol_example import example

from traceability.envelope import SIGNING_PREFIX
from traceability.log.checkpoint import open_checkpoint
from traceability.log.note import NoteVerifier

DOC = (Path(__file__).parent.parent / "docs" / "protocol.md").read_text(encoding="utf-8")
VALUES = example()


@pytest.mark.parametrize("name", sorted(VALUES))
def test_worked_example_value_is_in_the_document(name: str) -> None:
    """Every value of the worked example appears verbatim in the protocol document."""
    value = VALUES[name].rstrip("\n")
    assert value in DOC, f"docs/protocol.md does not show the current {name}"


def test_worked_example_verifies_independently_of_the_log_code() -> None:
    """The example's signature and checkpoint verify with nothing but cryptography's Ed25519."""
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(VALUES["device_public_key"]))
    public.verify(
        base64.b64decode(VALUES["signature1"]),
        SIGNING_PREFIX + VALUES["payload1_canonical"].encode(),
    )
    checkpoint = open_checkpoint(VALUES["checkpoint"], NoteVerifier.from_vkey(VALUES["log_vkey"]))
    assert checkpoint.size == 2
    assert checkpoint.root.hex() == VALUES["root"]
