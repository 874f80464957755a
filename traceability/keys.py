"""Ed25519 keys: generation, key IDs, and private keys encrypted at rest."""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from traceability.errors import InvalidInput, WeakPublicKey
from traceability.key_wrapping import RECOMMENDED, Argon2Cost, unwrap, wrap
from traceability.types import KeyID

PUBLIC_KEY_SIZE = 32

_P = 2**255 - 19
"""The field prime of edwards25519 (RFC 8032 §5.1)."""
_D = -121665 * pow(121666, _P - 2, _P) % _P
"""The curve constant d of edwards25519 (RFC 8032 §5.1)."""
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
"""A square root of -1 modulo p (RFC 8032 §5.1.3, step 3)."""


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


def _decode_point(encoded: bytes) -> tuple[int, int]:
    """Decode a point as RFC 8032 §5.1.3 says, refusing every encoding it calls invalid.

    Steps, numbered as in the RFC:

    1. y is the little-endian integer with bit 255 cleared, and decoding fails if y >= p
       (a non-canonical y); bit 255 is x's sign x_0.
    2. x^2 = (y^2 - 1) / (d y^2 + 1).
    3. Take the candidate root x = (x^2)^((p+3)/8); if v x^2 = -u, multiply it by sqrt(-1);
       if neither, the point is not on the curve.
    4. If x = 0 and x_0 = 1, decoding fails (the other non-canonical encoding); otherwise
       pick the root whose parity is x_0.

    Raises WeakPublicKey naming the failed step.
    """
    number = int.from_bytes(encoded, "little")
    sign = number >> 255
    y = number & ((1 << 255) - 1)
    if y >= _P:
        raise WeakPublicKey("non-canonical Ed25519 public key: its y coordinate is not below p")
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if (v * x * x - u) % _P != 0:
        x = x * _SQRT_M1 % _P
        if (v * x * x - u) % _P != 0:
            raise WeakPublicKey("not an Ed25519 public key: the point is not on the curve")
    if x == 0 and sign:
        raise WeakPublicKey("non-canonical Ed25519 public key: x is 0 with its sign bit set")
    if x & 1 != sign:
        x = _P - x
    return x, y


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """Add two points of edwards25519 with the twisted Edwards addition law (a = -1).

    RFC 8032 §5.1.4 gives the law in extended coordinates; this is its affine form, complete
    (no exceptional cases) because d is not a square modulo p.
    """
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, _P - 2, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P) % _P
    return x3, y3


def check_public_key(public_key: bytes) -> None:
    """Refuse an Ed25519 public key that no signer may register; return if it is sound.

    Refused (WeakPublicKey): encodings RFC 8032 §5.1.3 decoding rejects (y >= p; x = 0 with
    the sign bit set; not on the curve), and the eight points of small order, whose multiple
    by the cofactor 8 is the identity (the identity itself, (0, -1), the two points with y = 0
    and the four of order 8).

    A small-order key signs nothing anyone could not forge: with the identity as key,
    R = identity and S = 0 verify against every message under the cofactorless equation
    OpenSSL uses. Neither `cryptography` nor OpenSSL refuses these keys on load, so the check
    is done here, once, for every path that registers or trusts a key.
    """
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise InvalidInput(f"an Ed25519 public key is 32 bytes, got {len(public_key)}")
    point = _decode_point(public_key)
    multiple = point
    for _ in range(3):  # [8]P by three doublings
        multiple = _add(multiple, multiple)
    if multiple == (0, 1):
        raise WeakPublicKey("weak Ed25519 public key: a point of small order (order 1, 2, 4 or 8)")


def load_public_key(public_key: bytes) -> Ed25519PublicKey:
    """Parse 32 raw bytes as an Ed25519 public key; InvalidInput if they are not a sound one.

    WeakPublicKey (an InvalidInput) for small-order, non-canonical or off-curve keys
    (`check_public_key`).
    """
    check_public_key(public_key)
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


def encrypt_private_key(
    key: Ed25519PrivateKey, passphrase: str, cost: Argon2Cost = RECOMMENDED
) -> bytes:
    """Encrypt a private key with the passphrase: Argon2id, then AES-256-GCM (key_wrapping)."""
    return wrap(key, passphrase, cost)


def decrypt_private_key(
    blob: bytes,
    passphrase: str,
    what: str = "the log key",
    variable: str = "HERBTRACE_LOG_KEY_PASSPHRASE",
) -> Ed25519PrivateKey:
    """Decrypt a stored private key (this format or the legacy PBKDF2 PKCS#8 one).

    A wrong passphrase or a damaged key raises ConfigurationError naming `what` and `variable`.
    """
    return unwrap(blob, passphrase, what, variable)
