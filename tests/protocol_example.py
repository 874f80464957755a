"""The worked example of docs/protocol.md, computed from its published seeds."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.canonical import canonical_bytes
from traceability.envelope import GENESIS_PREV, SIGNING_PREFIX, envelope_hash
from traceability.keys import key_id_for, raw_public_key
from traceability.log import merkle
from traceability.log.checkpoint import Checkpoint, sign_checkpoint
from traceability.log.entry import GENESIS_LEAF_HASH, build_leaf
from traceability.log.note import NoteSigner

DEVICE_SEED = hashlib.sha256(b"herbtrace protocol example: device").digest()
LOG_SEED = hashlib.sha256(b"herbtrace protocol example: log").digest()
ORIGIN = "trace.example.cn/herbtrace/log"


def example() -> dict[str, str]:
    """Return every value the worked example shows, by name."""
    device = Ed25519PrivateKey.from_private_bytes(DEVICE_SEED)
    public = raw_public_key(device)
    signer = key_id_for(public)
    payloads = [
        {
            "v": 1,
            "signer": signer,
            "seq": 1,
            "prev": GENESIS_PREV,
            "time": "2026-09-20T08:30:00Z",
            "body": {
                "type": "harvest",
                "batch": "FS-RS-2026-00001",
                "origin": "FS-PL-2020-00001",
                "herb": "renshen",
                "site": "site-fusong-wanliang",
                "harvested_on": "2026-09-20",
                "growing_years": 6,
                "quantity": {"value": "182.500", "unit": "kg"},
            },
        },
    ]
    first_bytes = canonical_bytes(payloads[0])
    first_hash = envelope_hash(first_bytes)
    payloads.append(
        {
            "v": 1,
            "signer": signer,
            "seq": 2,
            "prev": first_hash.hex(),
            "time": "2026-09-21T09:00:00Z",
            "body": {
                "type": "ship",
                "shipment": "SH-2026-00001",
                "batches": ["FS-RS-2026-00001"],
                "to": "org-jian-processor",
                "shipped_on": "2026-09-21",
            },
        }
    )
    second_bytes = canonical_bytes(payloads[1])
    sig1 = device.sign(SIGNING_PREFIX + first_bytes)
    sig2 = device.sign(SIGNING_PREFIX + second_bytes)
    leaf0 = build_leaf(0, GENESIS_LEAF_HASH, "2026-09-20T08:31:02.000118Z", sig1, first_bytes)
    leaf0_hash = merkle.hash_leaf(leaf0)
    leaf1 = build_leaf(1, leaf0_hash, "2026-09-21T09:00:07.250000Z", sig2, second_bytes)
    leaf1_hash = merkle.hash_leaf(leaf1)
    root = merkle.hash_children(leaf0_hash, leaf1_hash)
    log = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(LOG_SEED))
    note = sign_checkpoint(Checkpoint(ORIGIN, 2, root), log)
    return {
        "device_seed": DEVICE_SEED.hex(),
        "device_public_key": public.hex(),
        "signer": signer,
        "payload1_canonical": first_bytes.decode(),
        "payload1_hex": first_bytes.hex(),
        "envelope1_hash": first_hash.hex(),
        "signature1": base64.b64encode(sig1).decode(),
        "payload2_canonical": second_bytes.decode(),
        "signature2": base64.b64encode(sig2).decode(),
        "leaf0_text": leaf0.decode(),
        "leaf0_hash": leaf0_hash.hex(),
        "leaf1_hash": leaf1_hash.hex(),
        "root": root.hex(),
        "root_b64": base64.b64encode(root).decode(),
        "log_seed": LOG_SEED.hex(),
        "log_vkey": log.verifier().to_vkey(),
        "checkpoint": note,
        "inclusion_proof_0": base64.b64encode(leaf1_hash).decode(),
    }


if __name__ == "__main__":
    for name, value in example().items():
        print(f"== {name}\n{value}")  # noqa: T201 - prints the example for the document
