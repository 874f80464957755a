"""C2SP signed notes: golang/mod sumdb/note vectors, the C2SP example, and rejection rules."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from traceability.errors import NoteError
from traceability.log.note import (
    MAX_SIGNATURE_LINES,
    NoteSigner,
    NoteVerifier,
    note_key_id,
    open_note,
    sign_note,
)

NOTE_VECTORS = Path(__file__).parents[1] / "vectors" / "note"
CASES: list[dict[str, Any]] = json.loads((NOTE_VECTORS / "vectors.json").read_text())["cases"]

# Go sumdb/note test key (also the "sign" case of vectors.json).
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_LINE = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    "ngotpRZb6KE6RyyBwJnAM=\n"
)
GO_NOTE = GO_TEXT + "\n" + PETER_LINE

# C2SP signed-note.md example (commit d4c16da5, section "Example").
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6Tf"
    "Xppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def case_kind(case: dict[str, Any]) -> str:
    """Classify a vectors.json case by its fields: sign, open, or verifier-key parsing."""
    if "signer_key" in case:
        return "sign"
    if "signed_note" in case:
        return "open"
    if "verifier_key" in case:
        return "vkey"
    raise AssertionError(f"unrecognised note vector case: {case['desc']}")


def peter() -> NoteVerifier:
    """Return the verifier of the Go test key PeterNeumann."""
    return NoteVerifier.from_vkey(PETER_VKEY)


def test_vector_file_covers_every_kind_and_keeps_its_licence() -> None:
    """vectors.json holds sign, open and verifier-key cases, and its licence file is alongside."""
    kinds = [case_kind(case) for case in CASES]
    assert set(kinds) == {"sign", "open", "vkey"}
    assert len(kinds) == 8
    assert "Redistribution" in (NOTE_VECTORS / "LICENSE-golang-mod").read_text()


@pytest.mark.parametrize("case", CASES, ids=[case["desc"] for case in CASES])
def test_vector_case(case: dict[str, Any]) -> None:
    """Each vectors.json case behaves as its desc says: exact signing, opening, or key refusal."""
    kind = case_kind(case)
    if kind == "sign":
        signer = NoteSigner.from_skey(case["signer_key"])
        assert signer.verifier().to_vkey() == case["verifier_key"]
        assert signer.to_skey() == case["signer_key"]
        assert sign_note(case["text"], [signer]) == case["signed_note"]
        opened = open_note(case["signed_note"], [NoteVerifier.from_vkey(case["verifier_key"])])
        assert opened.text == case["text"]
    elif kind == "open":
        verifiers = [NoteVerifier.from_vkey(vkey) for vkey in case["verifier_keys"]]
        if case["want_error"]:
            with pytest.raises(NoteError):
                open_note(case["signed_note"], verifiers)
        else:
            opened = open_note(case["signed_note"], verifiers)
            assert [v.name for v in opened.verified] == case["want_verified_by"]
            assert opened.text == case["signed_note"].rsplit("\n\n", 1)[0] + "\n"
    elif case["want_error"]:
        with pytest.raises(NoteError):
            NoteVerifier.from_vkey(case["verifier_key"])
    else:
        assert NoteVerifier.from_vkey(case["verifier_key"]).to_vkey() == case["verifier_key"]


def test_spec_example_vkey_parses_and_key_id_recomputes() -> None:
    """The C2SP example vkey parses, its key ID recomputes to 530d903a, and it round-trips."""
    verifier = NoteVerifier.from_vkey(SPEC_VKEY)
    assert verifier.name == "example.com/foo"
    assert verifier.key_id == 0x530D903A
    assert note_key_id(verifier.name, verifier.public_key) == 0x530D903A
    assert verifier.to_vkey() == SPEC_VKEY


def test_spec_example_note_opens() -> None:
    """The C2SP example note verifies under the example key and yields its text."""
    opened = open_note(SPEC_NOTE, [NoteVerifier.from_vkey(SPEC_VKEY)])
    assert opened.text == "This is an example message.\n"
    assert [v.name for v in opened.verified] == ["example.com/foo"]


def test_go_key_id_matches() -> None:
    """note_key_id of the Go test key equals the c74f20a3 written in its vkey."""
    assert note_key_id("PeterNeumann", peter().public_key) == 0xC74F20A3


def test_tampered_text_is_rejected() -> None:
    """Changing one character of the signed text makes the known key's signature fail."""
    with pytest.raises(NoteError, match="invalid"):
        open_note(GO_NOTE.replace("problem,", "problem;"), [peter()])


def test_tampered_signature_is_rejected() -> None:
    """Flipping one bit of the signature bytes makes the note fail to open."""
    blob = bytearray(base64.b64decode(PETER_LINE.split()[2]))
    blob[10] ^= 1
    line = f"\u2014 PeterNeumann {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(NoteError, match="invalid"):
        open_note(GO_TEXT + "\n" + line, [peter()])


def test_unknown_only_signatures_are_rejected() -> None:
    """A note signed only by keys the verifier does not know is refused."""
    strangers = [NoteSigner.generate(f"stranger{i}.example") for i in range(3)]
    with pytest.raises(NoteError, match="no valid signature from a known key"):
        open_note(sign_note(GO_TEXT, strangers), [peter()])


def test_unknown_key_sharing_a_name_is_ignored() -> None:
    """A signature by another key with the known name (but another ID) is ignored, not fatal."""
    impostor = NoteSigner.generate("PeterNeumann")
    note = sign_note(GO_TEXT, [impostor]) + PETER_LINE
    opened = open_note(note, [peter()])
    assert opened.verified == [peter()]
    assert [(s.name, s.key_id) for s in opened.signatures] == [
        ("PeterNeumann", impostor.key_id),
        ("PeterNeumann", peter().key_id),
    ]


def test_sixteen_signatures_verify() -> None:
    """A note with 16 signatures opens, and every known key is reported as verified."""
    signers = [NoteSigner.generate(f"witness{i}.example/w") for i in range(16)]
    opened = open_note(sign_note("checkpoint\n", signers), [s.verifier() for s in signers])
    assert opened.verified == [s.verifier() for s in signers]


def test_signature_line_limit() -> None:
    """100 signature lines are accepted; 101 make the note malformed."""
    known = NoteSigner.generate("log.example/known")
    strangers = [NoteSigner.generate(f"s{i}.example") for i in range(MAX_SIGNATURE_LINES)]
    note = sign_note("t\n", [known, *strangers[1:]])
    assert open_note(note, [known.verifier()]).verified == [known.verifier()]
    extra = sign_note("t\n", strangers[:1]).split("\n\n")[1]
    with pytest.raises(NoteError, match="more than 100"):
        open_note(note + extra, [known.verifier()])


def test_text_with_empty_lines_round_trips() -> None:
    """Text may contain empty lines; the last empty line separates it from the signatures."""
    signer = NoteSigner.generate("poet.example")
    text = "Ognuno sta solo sul cuor della terra\n\ned è subito sera.\n\n"
    assert open_note(sign_note(text, [signer]), [signer.verifier()]).text == text


def test_duplicate_signature_lines_count_once() -> None:
    """A repeated identical signature line is verified and listed only once."""
    opened = open_note(GO_NOTE + PETER_LINE, [peter()])
    assert len(opened.signatures) == 1
    assert opened.verified == [peter()]


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT + PETER_LINE,  # no empty line before the signatures
        GO_NOTE[:-1],  # no final newline
        GO_TEXT + "\n",  # empty signature block
        GO_TEXT + "\n" + PETER_LINE.replace("\u2014", "-"),  # hyphen, not em dash
        GO_TEXT + "\n" + PETER_LINE.replace(" x08go", "  x08go"),  # two spaces
        GO_TEXT + "\n" + PETER_LINE.replace("=\n", "\n"),  # unpadded base64
        GO_TEXT + "\n" + "\u2014 PeterNeumann AAAA\n",  # too short for key ID + signature
        GO_TEXT + "\n" + "\u2014 PeterNeumann\n",  # no signature
        GO_TEXT.replace("If", "If\r") + "\n" + PETER_LINE,  # control character
        GO_TEXT.replace("If", "If\t") + "\n" + PETER_LINE,  # tab is a control character
        GO_TEXT.replace("If", "If\udc80") + "\n" + PETER_LINE,  # not UTF-8
    ],
)
def test_malformed_note_is_rejected(note: str) -> None:
    """Notes that break the signed-note layout are refused with NoteError."""
    with pytest.raises(NoteError):
        open_note(note, [peter()])


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "non-empty"),
        ("no newline", "newline"),
        ("carriage\r\n", "control character"),
        ("nul\x00\n", "control character"),
        ("surrogate \ud800\n", "UTF-8"),
    ],
)
def test_sign_note_refuses_bad_text(text: str, reason: str) -> None:
    """sign_note refuses empty text, text without a final newline, and control characters."""
    with pytest.raises(NoteError, match=reason):
        sign_note(text, [NoteSigner.from_skey(PETER_SKEY)])


def test_sign_note_refuses_no_or_duplicate_signers() -> None:
    """sign_note needs at least one signer and refuses the same key twice."""
    signer = NoteSigner.from_skey(PETER_SKEY)
    with pytest.raises(NoteError):
        sign_note(GO_TEXT, [])
    with pytest.raises(NoteError, match="twice"):
        sign_note(GO_TEXT, [signer, signer])


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a3",  # missing key
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # empty name
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # space
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # uppercase hex
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # 7 hex digits
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key ID
        "PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # other name
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",  # bad base64
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n",  # trailing newline
        "PeterNeumann+c74f20a3+",  # empty key
    ],
)
def test_malformed_vkey_is_rejected(vkey: str) -> None:
    """Verifier keys with a bad name, key ID, base64 or key are refused with NoteError."""
    with pytest.raises(NoteError):
        NoteVerifier.from_vkey(vkey)


@pytest.mark.parametrize(
    ("key_type", "extra", "keep", "reason"),
    [(0x01, b"\x00", 32, "33 bytes"), (0x01, b"", 31, "31 bytes"), (0x65, b"", 32, "type 0x01")],
    ids=["33-byte key", "31-byte key", "type 0x65"],
)
def test_bad_key_with_matching_key_id_is_rejected(
    key_type: int, extra: bytes, keep: int, reason: str
) -> None:
    """A vkey whose ID matches its bytes but whose type is not 0x01 or length not 32 is refused."""
    key = peter().public_key[:keep] + extra
    key_id = note_key_id("PeterNeumann", key, key_type)
    material = base64.b64encode(bytes([key_type]) + key).decode()
    with pytest.raises(NoteError, match=reason):
        NoteVerifier.from_vkey(f"PeterNeumann+{key_id:08x}+{material}")


@pytest.mark.parametrize(
    "skey",
    [
        PETER_SKEY.replace("PRIVATE+KEY", "PUBLIC+KEY"),
        PETER_SKEY.replace("c74f20a3", "c74f20a4"),  # key ID of another key
        PETER_SKEY.replace("+AYEK", "+AoEK"),  # signature type 0x02
        PETER_SKEY[:-4],  # short seed
        "PRIVATE+KEY+PeterNeumann+c74f20a3",
    ],
)
def test_malformed_skey_is_rejected(skey: str) -> None:
    """Signer keys with a bad prefix, key ID, type byte or seed are refused with NoteError."""
    with pytest.raises(NoteError):
        NoteSigner.from_skey(skey)


def test_generated_signer_round_trips_and_hides_its_key() -> None:
    """A generated signer's skey parses back to the same key, and its repr omits the secret."""
    signer = NoteSigner.generate("log.example/herbs")
    again = NoteSigner.from_skey(signer.to_skey())
    assert again.verifier() == signer.verifier()
    assert again.sign(b"msg") == signer.sign(b"msg")
    assert signer.to_skey().split("+")[-1] not in repr(signer)
    assert f"{signer.key_id:08x}" in repr(signer)


def test_verifier_constructor_checks_key_id_and_length() -> None:
    """NoteVerifier refuses a key ID that does not match, or a public key that is not 32 bytes."""
    key = peter().public_key
    with pytest.raises(NoteError, match="does not match"):
        NoteVerifier("PeterNeumann", peter().key_id ^ 1, key)  # type: ignore[arg-type]
    with pytest.raises(NoteError, match="32"):
        NoteVerifier("PeterNeumann", peter().key_id, key[:31])


def test_verify_refuses_wrong_length_signature() -> None:
    """verify() returns False for signatures that are not 64 bytes, and True for a good one."""
    signer = NoteSigner.from_skey(PETER_SKEY)
    sig = signer.sign(b"m")
    assert peter().verify(b"m", sig)
    assert not peter().verify(b"m", sig[:63])
    assert not peter().verify(b"m", sig + b"\x00")
    assert not peter().verify(b"n", sig)
