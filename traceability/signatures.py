"""Ed25519 signature verification: the one function every herbtrace verifier calls.

It runs libsodium's `crypto_sign_open` (through PyNaCl), about twice as fast as OpenSSL's
Ed25519 in `cryptography` on the same messages (`herbtrace bench verify`), and stricter. A
signature verifies when RFC 8032 §5.1.7 verification with the cofactorless equation
[S]B = R + [k]A holds and, beyond what the RFC requires:

- S is canonical (S < L), and R is the canonical encoding of the point (both as OpenSSL);
- the public key A is a canonical encoding and not a point of small order (order 1, 2, 4
  or 8), the rule `keys.check_public_key` applies when a key is registered;
- R is not a point of small order. OpenSSL, Go's crypto/ed25519 and WebCrypto accept such
  an R when the equation holds; no honest signer produces one (R = [r]B with r a hash
  output), only one who crafts it, so herbtrace refuses it: the strictest rule wins.

Every signature this function accepts, OpenSSL (and so Go and the browser) accepts too;
`tests/test_signatures.py` holds it to the edge-case vectors of C2SP CCTV, Project
Wycheproof and "Taming the many EdDSAs".
"""

from __future__ import annotations

from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Return whether `signature` is a valid Ed25519 signature of `message` by `public_key`.

    `public_key` is the raw 32-byte RFC 8032 encoding; a key or signature of the wrong length
    is simply not valid.
    """
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        crypto_sign_open(signature + message, public_key)
    except BadSignatureError:
        return False
    return True
