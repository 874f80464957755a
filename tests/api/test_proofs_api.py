"""GET /v1/log/proofs and /v1/batches/{id}/proofs: bundles that the Python verifier accepts."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import support
from api_support import api_settings
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient

from api.main import create_app
from traceability.envelope import SIGNING_PREFIX
from traceability.errors import RootMismatch
from traceability.keys import key_id_for
from traceability.ledger import Ledger, initialise
from traceability.log import merkle
from traceability.log.checkpoint import open_checkpoint
from traceability.log.entry import parse_leaf
from traceability.log.note import NoteVerifier
from traceability.log.proof_bundle import MAX_BUNDLE_INDICES
from traceability.storage import tables
from traceability.storage.db import make_engine

ENTRIES = 41  # not a power of two: proofs near the right edge have border hashes


@pytest.fixture(name="api")
def _api(db_url: str) -> Iterator[tuple[TestClient, Ledger]]:
    """A client of an app on a log of ENTRIES entries from two signers under a checkpoint."""
    settings = api_settings(db_url)
    engine = make_engine(settings.database_url)
    initialise(settings, engine)
    with Ledger(settings, engine) as ledger:
        signers = [support.TestSigner(), support.TestSigner()]
        for k, signer in enumerate(signers):
            signer.register(engine, role=("device", "inspector")[k])
        envelopes = [signers[i % 2].next() for i in range(ENTRIES)]
        assert all(r.status == "accepted" for r in ledger.append(envelopes))
        ledger.checkpointer.issue(engine)
        with TestClient(create_app(settings)) as client:
            yield client, ledger
    engine.dispose()


def b64(text: str) -> bytes:
    """Decode strict standard base64."""
    return base64.b64decode(text, validate=True)


def verify_bundle(body: dict[str, Any], vkey: str) -> None:
    """Check a bundle the way a regulator's tool would, trusting only `vkey`."""
    checkpoint = open_checkpoint(body["checkpoint"], NoteVerifier.from_vkey(vkey))
    assert body["tree_size"] == checkpoint.size
    for item in body["entries"]:
        leaf = b64(item["leaf"])
        leaf_hash = merkle.hash_leaf(leaf)
        assert leaf_hash == b64(item["leaf_hash"])
        proof = [b64(h) for h in item["proof"]]
        merkle.verify_inclusion(item["index"], checkpoint.size, leaf_hash, proof, checkpoint.root)
        entry = parse_leaf(leaf)
        assert entry.index == item["index"]
        public_key = b64(item["signer"]["public_key"])
        assert key_id_for(public_key) == item["signer"]["key_id"] == entry.payload()["signer"]
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            entry.signature, SIGNING_PREFIX + entry.payload_bytes
        )


def test_bundle_verifies_with_the_python_verifier(api: tuple[TestClient, Ledger]) -> None:
    """Every entry of a bundle has a leaf hash, proof and signature valid under the log key."""
    client, ledger = api
    indices = [0, 1, 16, 31, 32, ENTRIES - 1]
    response = client.get(f"/v1/log/proofs?indices={','.join(map(str, indices))}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["log_key"] == ledger.verifier.to_vkey()
    assert body["checkpoint"] == ledger.latest_checkpoint().note
    assert [e["index"] for e in body["entries"]] == indices
    verify_bundle(body, ledger.verifier.to_vkey())
    for item in body["entries"]:
        expected = ledger.inclusion_proof(item["index"], ENTRIES)
        assert [b64(h) for h in item["proof"]] == expected
    roles = {e["signer"]["role"] for e in body["entries"]}
    assert roles == {"device", "inspector"}
    assert {e["signer"]["organisation"] for e in body["entries"]} == {"抚松县参业合作社"}


def test_duplicates_are_served_once_in_first_seen_order(api: tuple[TestClient, Ledger]) -> None:
    """Repeated indices come back once each, in the order first asked for."""
    client, _ledger = api
    response = client.get("/v1/log/proofs?indices=9,3,9, 3,0")
    assert response.status_code == 200, response.text
    assert [e["index"] for e in response.json()["entries"]] == [9, 3, 0]


def test_a_tampered_bundle_fails_the_python_verifier(api: tuple[TestClient, Ledger]) -> None:
    """The Python checks used above do catch a changed proof hash (they can fail)."""
    client, ledger = api
    body = client.get("/v1/log/proofs?indices=5").json()
    proof = bytearray(b64(body["entries"][0]["proof"][0]))
    proof[0] ^= 1
    body["entries"][0]["proof"][0] = base64.b64encode(bytes(proof)).decode()
    with pytest.raises(RootMismatch):
        verify_bundle(body, ledger.verifier.to_vkey())


@pytest.mark.parametrize(
    ("query", "status", "error", "reason"),
    [
        ("indices=1,x", 400, "invalid_input", "comma-separated decimal numbers"),
        ("indices=1,,2", 400, "invalid_input", "comma-separated decimal numbers"),
        ("indices=-1", 400, "invalid_input", "comma-separated decimal numbers"),
        ("indices=1.5", 400, "invalid_input", "comma-separated decimal numbers"),
        ("indices=99999999999999999999", 400, "invalid_input", "comma-separated"),
        ("indices=", 422, "request_validation_error", "indices"),
        ("", 422, "request_validation_error", "indices"),
        (f"indices={ENTRIES}", 404, "not_found", f"entry {ENTRIES} is not covered"),
        ("indices=0,100000", 404, "not_found", "entry 100000 is not covered"),
    ],
)
def test_bad_indices_get_a_4xx_json_reason(
    api: tuple[TestClient, Ledger], query: str, status: int, error: str, reason: str
) -> None:
    """Malformed or out-of-range indices get a 4xx JSON error naming the problem."""
    client, ledger = api
    response = client.get(f"/v1/log/proofs?{query}")
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert reason in response.json()["reason"]
    assert ledger.size() == ENTRIES  # a read: nothing was lost or added


def test_too_many_indices_are_refused(api: tuple[TestClient, Ledger]) -> None:
    """More than MAX_BUNDLE_INDICES distinct indices get 400, with the limit in the reason."""
    client, _ledger = api
    many = ",".join(map(str, range(MAX_BUNDLE_INDICES + 1)))
    response = client.get(f"/v1/log/proofs?indices={many}")
    assert response.status_code == 400
    assert f"at most {MAX_BUNDLE_INDICES}" in response.json()["reason"]


def test_no_checkpoint_yet_is_404(sqlite_url: str) -> None:
    """Before the log's first checkpoint a bundle cannot be served: 404 saying why."""
    settings = api_settings(sqlite_url)
    initialise(settings)
    with TestClient(create_app(settings)) as client:
        response = client.get("/v1/log/proofs?indices=0")
    assert response.status_code == 404
    assert response.json()["reason"] == "the log has no checkpoint yet"


def index_batches(
    ledger: Ledger, events: dict[str, list[int]], edges: list[tuple[str, str]]
) -> None:
    """Write the domain's batch index rows: which entries concern which batch, and lineage."""
    with ledger.engine.begin() as conn:
        for batch, indices in events.items():
            conn.execute(
                sa.insert(tables.batch_events),
                [{"batch": batch, "log_index": i, "type": "harvest"} for i in indices],
            )
        for k, (parent, child) in enumerate(edges):
            conn.execute(
                sa.insert(tables.lineage),
                {
                    "parent": parent,
                    "child": child,
                    "event_index": 30 + k,
                    "quantity": "1",
                    "unit": "kg",
                },
            )


def test_batch_proofs_cover_the_batch_and_its_trace(api: tuple[TestClient, Ledger]) -> None:
    """A batch's bundle holds its own entries; with scope=trace, its ancestors' too, verified."""
    client, ledger = api
    index_batches(
        ledger,
        {"FS-RS-2026-00001": [2, 4], "JA-HS-2026-00001": [30, 33, 40], "OTHER": [7]},
        [("FS-RS-2026-00001", "JA-HS-2026-00001")],
    )
    own = client.get("/v1/batches/JA-HS-2026-00001/proofs")
    assert own.status_code == 200, own.text
    assert [e["index"] for e in own.json()["entries"]] == [30, 33, 40]
    verify_bundle(own.json(), ledger.verifier.to_vkey())
    trace = client.get("/v1/batches/JA-HS-2026-00001/proofs?scope=trace")
    assert trace.status_code == 200, trace.text
    assert [e["index"] for e in trace.json()["entries"]] == [2, 4, 30, 33, 40]
    verify_bundle(trace.json(), ledger.verifier.to_vkey())


@pytest.mark.parametrize(
    ("url", "status", "reason"),
    [
        ("/v1/batches/NO-SUCH/proofs", 404, "no log entry is recorded on batch NO-SUCH"),
        ("/v1/batches/B/proofs?scope=everything", 422, "scope"),
        (f"/v1/batches/{'X' * 65}/proofs", 422, "batch_id"),
    ],
)
def test_bad_batch_requests_get_a_4xx_json_reason(
    api: tuple[TestClient, Ledger], url: str, status: int, reason: str
) -> None:
    """An unknown batch, an unknown scope or an over-long ID get a 4xx JSON reason."""
    client, _ledger = api
    response = client.get(url)
    assert response.status_code == status, response.text
    assert reason in response.json()["reason"]


def test_public_bundle_names_no_person(api: tuple[TestClient, Ledger]) -> None:
    """A public bundle carries each signer's key, organisation and role, never its name."""
    client, ledger = api
    response = client.get("/v1/log/proofs?indices=0,1")
    assert response.status_code == 200, response.text
    with ledger.engine.connect() as conn:
        names = [row[0] for row in conn.execute(sa.text("SELECT name FROM signers"))]
    assert names
    assert all(name not in response.text for name in names)
    assert all(
        set(e["signer"]) == {"key_id", "public_key", "organisation", "role"}
        for e in response.json()["entries"]
    )
