"""The documented way to register a deployment's first organisation and site: an admin
signer's signed `organisation` and `site` events (docs/api.md, "The first organisation and
site"), for tests that need a registered site."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.canonical import canonical_bytes
from traceability.domain.service import Domain
from traceability.envelope import GENESIS_PREV, envelope_hash, sign_envelope
from traceability.keys import key_id_for, raw_public_key
from traceability.log.signers import register_signer
from traceability.settings import Settings

REGION = {"province": "吉林省", "city": "白山市", "county": "抚松县", "code": "220621"}


def organisation_body(organisation: str, kind: str = "cooperative") -> dict[str, Any]:
    """A minimal valid `organisation` registration."""
    return {"type": "organisation", "id": organisation, "name": "抚松县参业合作社", "kind": kind,
            "region": REGION}  # fmt: skip


def site_body(site: str, organisation: str, kind: str = "planting_base") -> dict[str, Any]:
    """A minimal valid `site` registration."""
    return {"type": "site", "id": site, "organisation": organisation, "name": "万良人参基地",
            "kind": kind, "region": REGION}  # fmt: skip


def signed_chain(key: Ed25519PrivateKey, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Envelopes of `bodies` by `key`, seq 1, 2, … each naming the previous one's hash."""
    signer = key_id_for(raw_public_key(key))
    prev, out = GENESIS_PREV, []
    for seq, body in enumerate(bodies, start=1):
        payload = {"v": 1, "signer": signer, "seq": seq, "prev": prev,
                   "time": "2026-03-02T08:00:00Z", "body": body}  # fmt: skip
        out.append(sign_envelope(key, payload))
        prev = envelope_hash(canonical_bytes(payload)).hex()
    return out


def register_first_site(
    database_url: str, organisation: str, site: str, log_origin: str = "herbtrace.local/log"
) -> None:
    """Register `organisation` and its planting base `site` on an initialised database, as
    an admin signer's envelopes through the rules."""
    settings = Settings(
        database_url=database_url, log_origin=log_origin, key_kdf_cost="development-fast"
    )
    key = Ed25519PrivateKey.generate()
    with Domain(settings) as domain:
        register_signer(
            domain.engine, public_key=raw_public_key(key), name="registrar",
            organisation="org-platform", role="admin",
        )  # fmt: skip
        envelopes = signed_chain(
            key, [organisation_body(organisation), site_body(site, organisation)]
        )
        results = domain.record(envelopes)
    assert [r.status for r in results] == ["accepted", "accepted"], results
