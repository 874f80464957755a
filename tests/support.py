"""Test helpers: signing devices, databases and settings for herbtrace's tests."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from traceability.canonical import canonical_bytes
from traceability.envelope import GENESIS_PREV, envelope_hash, sign_envelope
from traceability.keys import key_id_for, raw_public_key
from traceability.log.signers import register_signer
from traceability.settings import Settings


def settings_for(url: str) -> Settings:
    """Settings for a test database, with checkpoints issued as fast as the test needs."""
    return Settings(database_url=url, log_origin="test.herbtrace/log", checkpoint_interval=0.05)


@dataclass
class TestSigner:
    """A signing key that keeps its own sequence number and previous-envelope hash."""

    __test__ = False  # a helper, not a test class

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    seq: int = 0
    prev: str = GENESIS_PREV

    @property
    def key_id(self) -> str:
        return key_id_for(raw_public_key(self.key))

    @property
    def public_key(self) -> bytes:
        return raw_public_key(self.key)

    def register(self, engine: Engine, role: str = "device", org: str = "抚松县参业合作社") -> None:
        register_signer(
            engine,
            public_key=self.public_key,
            name=f"test {self.key_id[:6]}",
            organisation=org,
            role=role,
        )

    def payload(self, body: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
        """Return the next payload in this signer's chain (without advancing it)."""
        payload = {
            "v": 1,
            "signer": self.key_id,
            "seq": self.seq + 1,
            "prev": self.prev,
            "time": "2026-09-20T08:30:00Z",
            "body": body
            or {
                "type": "harvest",
                "batch": f"B-{self.seq + 1}",
                "quantity": {"value": "12.500", "unit": "kg"},
            },
        }
        payload.update(overrides)
        return payload

    def sign(self, payload: dict[str, Any], advance: bool = True) -> dict[str, Any]:
        """Sign `payload`; with `advance`, it becomes this signer's newest envelope."""
        envelope = sign_envelope(self.key, payload)
        if advance:
            self.seq = payload["seq"]
            self.prev = envelope_hash(canonical_bytes(payload)).hex()
        return envelope

    def next(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Sign and return this signer's next envelope."""
        return self.sign(self.payload(body))


def deterministic_key(label: str) -> Ed25519PrivateKey:
    """Derive a reproducible test key from a label."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


def cheap_keys(env: dict[str, str]) -> dict[str, str]:
    """HERBTRACE_KEY_KDF_COST=development-fast unless `env` is a production one (which refuses
    it): the suite makes thousands of keys, each 64 MiB of Argon2id at RFC 9106's cost."""
    if env.get("HERBTRACE_ENVIRONMENT") == "production":
        return {}
    return {"HERBTRACE_KEY_KDF_COST": "development-fast"}


def run_herbtrace(
    args: list[str], cwd: Path, environ: dict[str, str] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the installed `herbtrace` command as a real process.

    Its environment is `environ` (default: this one without any HERBTRACE_ variable but the
    suite's cheap key cost, `cheap_keys`) plus `env`.
    """
    if environ is None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
        environ |= cheap_keys(env)
    return subprocess.run(
        [str(Path(sys.executable).parent / "herbtrace"), *args],
        env={**environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
