"""Ed25519 keys: key IDs, raw encodings, public-key parsing and encrypted private keys."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from traceability.errors import ConfigurationError, InvalidInput
from traceability.keys import (
    decrypt_private_key,
    encrypt_private_key,
    key_id_for,
    load_public_key,
    parse_public_key_b64,
    raw_private_key,
    raw_public_key,
)

# RFC 8032 §7.1, TEST 1.
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")


def test_key_id_known_answer() -> None:
    """The key ID of RFC 8032's TEST 1 public key is the first 16 bytes of its SHA-256, in hex."""
    digest = hashlib.sha256(RFC8032_PUBLIC).hexdigest()
    assert digest == "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"
    assert key_id_for(RFC8032_PUBLIC) == "21fe31dfa154a261626bf854046fd227"
    assert key_id_for(RFC8032_PUBLIC) == digest[:32]


def test_key_id_of_zero_bytes() -> None:
    """The key ID of 32 zero bytes is the well-known SHA-256 of 32 zeros, truncated to 16 bytes."""
    assert key_id_for(bytes(32)) == "66687aadf862bd776c8fc18b8e9f8e20"


def test_raw_encodings_known_answer() -> None:
    """RFC 8032 TEST 1's secret key yields its published public key and its own 32-byte seed."""
    key = Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET)
    assert raw_public_key(key) == RFC8032_PUBLIC
    assert raw_public_key(key.public_key()) == RFC8032_PUBLIC
    assert raw_private_key(key) == RFC8032_SECRET


@settings(max_examples=50, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32))
def test_key_id_is_32_lowercase_hex(seed: bytes) -> None:
    """Every key's ID is 32 lowercase hex digits and depends only on its public key."""
    key = Ed25519PrivateKey.from_private_bytes(seed)
    key_id = key_id_for(raw_public_key(key))
    assert len(key_id) == 32
    assert set(key_id) <= set("0123456789abcdef")
    assert key_id == hashlib.sha256(raw_public_key(key)).digest()[:16].hex()


@pytest.mark.parametrize("passphrase", ["correct horse", "人参 密码", "x"])
def test_encrypt_decrypt_round_trip(passphrase: str) -> None:
    """An encrypted private key decrypts, with its passphrase, to the same key."""
    key = Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET)
    pem = encrypt_private_key(key, passphrase)
    assert pem.startswith(b"herbtrace encrypted ed25519 key 1\n")
    assert RFC8032_SECRET not in pem
    assert base64.b64encode(RFC8032_SECRET) not in pem
    restored = decrypt_private_key(pem, passphrase)
    assert raw_private_key(restored) == RFC8032_SECRET
    assert raw_public_key(restored) == RFC8032_PUBLIC


def test_wrong_passphrase_is_a_configuration_error() -> None:
    """Decrypting with the wrong passphrase raises ConfigurationError."""
    pem = encrypt_private_key(Ed25519PrivateKey.generate(), "right")
    with pytest.raises(ConfigurationError, match=r"(?i)passphrase"):
        decrypt_private_key(pem, "wrong")
    with pytest.raises(ConfigurationError):
        decrypt_private_key(pem, "")


def test_damaged_pem_is_a_configuration_error() -> None:
    """A truncated or garbled PEM raises ConfigurationError rather than a library error."""
    pem = encrypt_private_key(Ed25519PrivateKey.generate(), "right")
    with pytest.raises(ConfigurationError):
        decrypt_private_key(pem[: len(pem) // 2], "right")
    with pytest.raises(ConfigurationError):
        decrypt_private_key(b"not a key", "right")


def test_unencrypted_pem_is_a_configuration_error() -> None:
    """A PEM private key stored without encryption is refused when a passphrase is given."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ConfigurationError):
        decrypt_private_key(pem, "right")


def test_non_ed25519_key_is_a_configuration_error() -> None:
    """An encrypted key of another algorithm raises ConfigurationError naming Ed25519."""
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"right"),
    )
    with pytest.raises(ConfigurationError, match="Ed25519"):
        decrypt_private_key(pem, "right")


@pytest.mark.parametrize("length", [0, 1, 31, 33, 64])
def test_wrong_public_key_length_is_refused(length: int) -> None:
    """key_id_for and load_public_key raise InvalidInput for anything but 32 bytes."""
    with pytest.raises(InvalidInput, match=f"32 bytes, got {length}"):
        key_id_for(bytes(length))
    with pytest.raises(InvalidInput, match=f"32 bytes, got {length}"):
        load_public_key(bytes(length))


def test_load_public_key_round_trip() -> None:
    """load_public_key turns 32 raw bytes into a key whose raw encoding is the same bytes."""
    assert raw_public_key(load_public_key(RFC8032_PUBLIC)) == RFC8032_PUBLIC


def test_parse_public_key_b64() -> None:
    """A standard-base64 public key (surrounding whitespace allowed) decodes to its 32 bytes."""
    text = base64.b64encode(RFC8032_PUBLIC).decode()
    assert parse_public_key_b64(text) == RFC8032_PUBLIC
    assert parse_public_key_b64(f"  {text}\n") == RFC8032_PUBLIC


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (base64.b64encode(RFC8032_PUBLIC).decode().rstrip("="), "base64"),
        ("*" + base64.b64encode(RFC8032_PUBLIC).decode()[1:], "base64"),
        (base64.urlsafe_b64encode(b"\xff" * 32).decode(), "base64"),
        ("not base64!", "base64"),
        ("1" + base64.b64encode(RFC8032_PUBLIC).decode(), "32 bytes, got 33"),
        (base64.b64encode(RFC8032_PUBLIC).decode()[:20] + " x", "base64"),
        (base64.b64encode(RFC8032_PUBLIC[:31]).decode(), "32 bytes, got 31"),
        (base64.b64encode(RFC8032_PUBLIC + b"\x00").decode(), "32 bytes, got 33"),
        ("", "32 bytes, got 0"),
        (base64.b64encode(RFC8032_PUBLIC).decode() + "==", "base64"),
    ],
    ids=[
        "unpadded",
        "bad-char",
        "urlsafe",
        "words",
        "misaligned",
        "inner-space",
        "31-bytes",
        "33-bytes",
        "empty",
        "excess-padding",
    ],
)
def test_bad_public_key_b64_is_refused(text: str, match: str) -> None:
    """Bad base64 or a decoded length other than 32 raises InvalidInput with the reason."""
    with pytest.raises(InvalidInput, match=match):
        parse_public_key_b64(text)
