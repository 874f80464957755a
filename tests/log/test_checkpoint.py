"""C2SP tlog-checkpoint bodies and signed checkpoints: round trips and strict parsing."""

from __future__ import annotations

import base64
import hashlib

import pytest

from traceability.errors import NoteError
from traceability.log.checkpoint import MAX_TREE_SIZE, Checkpoint, open_checkpoint, sign_checkpoint
from traceability.log.note import NoteSigner, open_note, sign_note

ORIGIN = "trace.example.gov.cn/log1"
ROOT = hashlib.sha256(b"herbtrace").digest()
ROOT64 = base64.b64encode(ROOT).decode()
URLSAFE_ROOT64 = base64.urlsafe_b64encode(bytes(range(200, 232))).decode()

# c2sp.org/tlog-checkpoint example note text.
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    """A log key whose name is the test origin."""
    return NoteSigner.generate(ORIGIN)


def test_body_layout() -> None:
    """body() is origin, decimal size and base64 root, each ending in a newline."""
    assert Checkpoint(ORIGIN, 42, ROOT).body() == f"{ORIGIN}\n42\n{ROOT64}\n"


def test_spec_example_parses_and_reformats() -> None:
    """The tlog-checkpoint example text parses and body() reproduces it exactly."""
    checkpoint = Checkpoint.parse(SPEC_BODY)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.body() == SPEC_BODY


@pytest.mark.parametrize("size", [0, 1, 1000, MAX_TREE_SIZE])
def test_sign_then_open_round_trips(signer: NoteSigner, size: int) -> None:
    """A checkpoint signed by the origin's key opens with its verifier to the same checkpoint."""
    checkpoint = Checkpoint(ORIGIN, size, ROOT)
    note = sign_checkpoint(checkpoint, signer)
    assert note.startswith(checkpoint.body() + "\n\u2014 " + ORIGIN + " ")
    assert open_checkpoint(note, signer.verifier()) == checkpoint


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"{ORIGIN}\n042\n{ROOT64}\n", "leading zeros"),
        (f"{ORIGIN}\n00\n{ROOT64}\n", "leading zeros"),
        (f"{ORIGIN}\n+42\n{ROOT64}\n", "leading zeros"),
        (f"{ORIGIN}\n-1\n{ROOT64}\n", "leading zeros"),
        (f"{ORIGIN}\n 42\n{ROOT64}\n", "leading zeros"),
        (f"{ORIGIN}\n4_2\n{ROOT64}\n", "leading zeros"),
        (f"{ORIGIN}\n\u0664\u0662\n{ROOT64}\n", "leading zeros"),  # Arabic-Indic digits
        (f"{ORIGIN}\n{2**64}\n{ROOT64}\n", "outside"),
        (f"{ORIGIN}\n{'9' * 21}\n{ROOT64}\n", "leading zeros"),
        (f"{ORIGIN}\n42\n{ROOT64[:-1]}\n", "base64"),
        (f"{ORIGIN}\n42\n{ROOT64.replace('=', '')}\n", "base64"),
        (f"{ORIGIN}\n42\n{ROOT64[:10]}!{ROOT64[11:]}\n", "base64"),
        (f"{ORIGIN}\n42\n{URLSAFE_ROOT64}\n", "base64"),
        (f"{ORIGIN}\n42\n{base64.b64encode(ROOT[:31]).decode()}\n", "31 bytes"),
        (f"{ORIGIN}\n42\n{base64.b64encode(ROOT + b'x').decode()}\n", "33 bytes"),
        (f"{ORIGIN}\n42\n{ROOT64}", "newline"),
        (f"{ORIGIN}\n42\n{ROOT64}\nextension line\n", "extension"),
        (f"{ORIGIN}\n42\n{ROOT64}\n\n", "extension"),
        (f"{ORIGIN}\n42\n", "needs"),
        ("", "newline"),
        (f"\n42\n{ROOT64}\n", "non-empty"),
        (f"bad\x7forigin\n42\n{ROOT64}\n", "control"),
    ],
)
def test_parse_rejects(text: str, reason: str) -> None:
    """Leading zeros, bad or short base64 roots, missing newline and extra lines raise NoteError."""
    with pytest.raises(NoteError, match=reason):
        Checkpoint.parse(text)


def test_constructor_validates_fields() -> None:
    """Checkpoint refuses an empty or multi-line origin, a negative or bool size, a short root."""
    with pytest.raises(NoteError):
        Checkpoint("", 1, ROOT)
    with pytest.raises(NoteError):
        Checkpoint(ORIGIN, -1, ROOT)
    with pytest.raises(NoteError):
        Checkpoint(ORIGIN, True, ROOT)
    with pytest.raises(NoteError):
        Checkpoint(ORIGIN, 1, ROOT[:31])
    with pytest.raises(NoteError):
        Checkpoint("two\nlines", 1, ROOT)


def test_sign_refuses_signer_named_otherwise(signer: NoteSigner) -> None:
    """sign_checkpoint refuses a signer whose key name is not the checkpoint origin."""
    with pytest.raises(NoteError, match="differs from checkpoint origin"):
        sign_checkpoint(Checkpoint("other.example/log", 1, ROOT), signer)


def test_open_refuses_origin_other_than_key_name(signer: NoteSigner) -> None:
    """A validly signed checkpoint whose origin is not the key name is refused."""
    note = sign_note(Checkpoint("other.example/log", 1, ROOT).body(), [signer])
    assert open_note(note, [signer.verifier()]).verified == [signer.verifier()]
    with pytest.raises(NoteError, match="differs from key name"):
        open_checkpoint(note, signer.verifier())


def test_open_refuses_wrong_key(signer: NoteSigner) -> None:
    """A checkpoint signed by another key (even one with the same name) does not open."""
    other = NoteSigner.generate(ORIGIN)
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), other)
    with pytest.raises(NoteError, match="no valid signature from a known key"):
        open_checkpoint(note, signer.verifier())


def test_open_refuses_tampered_size(signer: NoteSigner) -> None:
    """Changing the tree size of a signed checkpoint breaks its signature."""
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), signer)
    with pytest.raises(NoteError, match="invalid"):
        open_checkpoint(note.replace("\n7\n", "\n8\n", 1), signer.verifier())


def test_open_refuses_signed_extension_lines(signer: NoteSigner) -> None:
    """A validly signed note whose text has extension lines is refused as a checkpoint."""
    note = sign_note(Checkpoint(ORIGIN, 7, ROOT).body() + "ext\n", [signer])
    with pytest.raises(NoteError, match="extension"):
        open_checkpoint(note, signer.verifier())


def test_open_keeps_witness_cosignatures(signer: NoteSigner) -> None:
    """Extra signature lines from unknown keys (e.g. witnesses) do not stop a checkpoint opening."""
    checkpoint = Checkpoint(ORIGIN, 9, ROOT)
    witness = NoteSigner.generate("witness.example/w1")
    note = sign_note(checkpoint.body(), [signer, witness])
    assert open_checkpoint(note, signer.verifier()) == checkpoint
