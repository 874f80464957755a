"""Ed25519 keys: generation, key IDs, and private keys encrypted at rest."""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from traceability.errors import ConfigurationError, InvalidInput
from traceability.types import KeyID

PUBLIC_KEY_SIZE = 32


def key_id_for(public_key: bytes) -> KeyID:
    """Return a signer's key ID: lowercase hex of SHA-256(raw 32-byte public key)[:16].

    Because the ID is derived from the key, nobody can substitute another key under it.
    """
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise InvalidInput(f"an Ed25519 public key is 32 bytes, got {len(public_key)}")
    return KeyID(hashlib.sha256(public_key).digest()[:16].hex())


def raw_public_key(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """Return the 32 raw bytes of a public key (RFC 8032 §5.1.5 encoding)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def raw_private_key(key: Ed25519PrivateKey) -> bytes:
    """Return the 32-byte seed of a private key."""
    return key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def load_public_key(public_key: bytes) -> Ed25519PublicKey:
    """Parse 32 raw bytes as an Ed25519 public key; InvalidInput if they are not one."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise InvalidInput(f"an Ed25519 public key is 32 bytes, got {len(public_key)}")
    try:
        return Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as exc:
        raise InvalidInput(f"not an Ed25519 public key: {exc}") from exc


def parse_public_key_b64(text: str) -> bytes:
    """Decode a standard-base64 raw public key; InvalidInput on bad base64 or length."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"public key is not valid base64: {exc}") from exc
    load_public_key(raw)
    return raw


def encrypt_private_key(key: Ed25519PrivateKey, passphrase: str) -> bytes:
    """Serialise a private key as PKCS#8 PEM encrypted with the passphrase."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    )


def decrypt_private_key(pem: bytes, passphrase: str) -> Ed25519PrivateKey:
    """Load an encrypted PKCS#8 PEM private key; ConfigurationError on a wrong passphrase."""
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ConfigurationError(
            "cannot decrypt the log key: wrong HERBTRACE_LOG_KEY_PASSPHRASE or damaged key"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError("the stored log key is not an Ed25519 key")
    return key
