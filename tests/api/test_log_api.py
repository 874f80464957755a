"""The /v1/log HTTP contract: key, checkpoint, entries, proofs and 4xx errors, on both backends."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import support
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.errors import status_for
from api.main import create_app
from traceability import errors
from traceability.ledger import Ledger
from traceability.log import merkle
from traceability.log.checkpoint import open_checkpoint
from traceability.log.entry import parse_leaf
from traceability.log.note import NoteVerifier
from traceability.settings import Settings

ENTRIES = 40
MAX = 2**63 - 1


@pytest.fixture(name="seeded")
def _seeded(ledger: Ledger) -> Ledger:
    """The test's ledger holding ENTRIES envelopes from two signers, all under a checkpoint."""
    signers = [support.TestSigner(), support.TestSigner()]
    for signer in signers:
        signer.register(ledger.engine)
    results = ledger.append([s.next() for _ in range(ENTRIES // 2) for s in signers])
    assert all(r.status == "accepted" for r in results)
    ledger.checkpointer.issue(ledger.engine)
    return ledger


@pytest.fixture(name="client")
def _client(settings: Settings, seeded: Ledger) -> Iterator[TestClient]:
    """A client of an app that opened its own ledger on the seeded database."""
    assert seeded.size() == ENTRIES
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(name="leaf_hashes")
def _leaf_hashes(seeded: Ledger) -> list[bytes]:
    """The leaf hash of every seeded entry, read from the ledger itself."""
    return [seeded.entry(i)[1] for i in range(ENTRIES)]


def roots(leaf_hashes: list[bytes]) -> list[bytes]:
    """Return the root of every prefix of the log: roots(...)[n] is MTH(D[0:n])."""
    tree, found = merkle.CompactRange(), [bytes(merkle.EMPTY_ROOT)]
    for leaf_hash in leaf_hashes:
        tree.append(leaf_hash)
        found.append(tree.root())
    return found


def b64decode_all(values: list[str]) -> list[bytes]:
    """Decode a JSON list of standard base64 strings."""
    return [base64.b64decode(v, validate=True) for v in values]


def test_key_is_the_log_verifier_key(client: TestClient, seeded: Ledger) -> None:
    """GET /v1/log/key serves the vkey as text without a trailing newline, and it parses."""
    response = client.get("/v1/log/key")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == seeded.verifier.to_vkey()
    assert NoteVerifier.from_vkey(response.text) == seeded.verifier


def test_checkpoint_opens_with_the_served_key(
    client: TestClient, seeded: Ledger, leaf_hashes: list[bytes]
) -> None:
    """The served checkpoint is the stored note, verifies under the served key, covers all."""
    verifier = NoteVerifier.from_vkey(client.get("/v1/log/key").text)
    response = client.get("/v1/log/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == seeded.latest_checkpoint().note
    checkpoint = open_checkpoint(response.text, verifier)
    assert (checkpoint.size, checkpoint.root) == (ENTRIES, roots(leaf_hashes)[ENTRIES])


@pytest.mark.usefixtures("engine")
def test_checkpoint_is_404_before_the_first(settings: Settings) -> None:
    """An empty log has no checkpoint: 404 with the JSON error body, and healthz says size 0."""
    with TestClient(create_app(settings)) as client:
        response = client.get("/v1/log/checkpoint")
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
        assert client.get("/healthz").json() == {"status": "ok", "tree_size": 0}


def test_every_entry_hashes_to_its_leaf_hash_and_decodes(client: TestClient) -> None:
    """Each entry's leaf bytes hash to its leaf_hash, decode to its entry, and chain to the last."""
    prev = bytes(32)
    for index in range(ENTRIES):
        body = client.get(f"/v1/log/entries/{index}").json()
        leaf, leaf_hash = b64decode_all([body["leaf"], body["leaf_hash"]])
        assert body["index"] == index
        assert merkle.hash_leaf(leaf) == leaf_hash
        assert parse_leaf(leaf).to_json() == body["entry"]
        assert body["entry"]["index"] == index
        assert body["entry"]["prev"] == prev.hex()
        prev = leaf_hash


def test_inclusion_proofs_verify_against_the_checkpoint(client: TestClient) -> None:
    """Inclusion proofs at the checkpoint's size verify against the signed root."""
    verifier = NoteVerifier.from_vkey(client.get("/v1/log/key").text)
    checkpoint = open_checkpoint(client.get("/v1/log/checkpoint").text, verifier)
    for index in (0, 1, 17, 31, 32, ENTRIES - 1):
        entry = client.get(f"/v1/log/entries/{index}").json()
        params = {"index": index, "tree_size": checkpoint.size}
        body = client.get("/v1/log/proof/inclusion", params=params).json()
        assert body["index"] == index
        assert body["tree_size"] == checkpoint.size
        leaf_hash = base64.b64decode(entry["leaf_hash"])
        proof = b64decode_all(body["proof"])
        merkle.verify_inclusion(index, checkpoint.size, leaf_hash, proof, checkpoint.root)


@pytest.mark.parametrize(
    ("index", "tree_size"), [(0, 1), (0, 2), (1, 2), (4, 7), (6, 7), (15, 16), (16, 33), (9, 40)]
)
def test_inclusion_proofs_verify_against_recomputed_roots(
    client: TestClient, leaf_hashes: list[bytes], index: int, tree_size: int
) -> None:
    """Inclusion proofs in smaller trees verify against roots recomputed from the leaf hashes."""
    params = {"index": index, "tree_size": tree_size}
    proof = b64decode_all(client.get("/v1/log/proof/inclusion", params=params).json()["proof"])
    root = roots(leaf_hashes)[tree_size]
    merkle.verify_inclusion(index, tree_size, leaf_hashes[index], proof, root)
    with pytest.raises(errors.RootMismatch):
        merkle.verify_inclusion(index, tree_size, leaf_hashes[index], proof, bytes(32))


@pytest.mark.parametrize(
    ("first", "second"), [(1, 40), (7, 40), (16, 32), (13, 27), (32, 40), (39, 40), (40, 40)]
)
def test_consistency_proofs_verify(
    client: TestClient, leaf_hashes: list[bytes], first: int, second: int
) -> None:
    """Consistency proofs between two sizes verify against both recomputed roots."""
    params = {"first": first, "second": second}
    body = client.get("/v1/log/proof/consistency", params=params).json()
    assert (body["first"], body["second"]) == (first, second)
    every = roots(leaf_hashes)
    merkle.verify_consistency(
        first, second, b64decode_all(body["proof"]), every[first], every[second]
    )


def test_healthz_reports_the_tree_size(client: TestClient) -> None:
    """GET /healthz says ok and gives the number of entries."""
    assert client.get("/healthz").json() == {"status": "ok", "tree_size": ENTRIES}


_INC = "/v1/log/proof/inclusion"
_CON = "/v1/log/proof/consistency"
_BAD = "request_validation_error"


@pytest.mark.parametrize(
    ("method", "url", "status", "error"),
    [
        ("GET", "/v1/log/entries/-1", 422, _BAD),
        ("GET", "/v1/log/entries/abc", 422, _BAD),
        ("GET", "/v1/log/entries/1.5", 422, _BAD),
        ("GET", f"/v1/log/entries/{MAX + 1}", 422, _BAD),
        ("GET", f"/v1/log/entries/{10**40}", 422, _BAD),
        ("GET", f"/v1/log/entries/{ENTRIES}", 404, "not_found"),
        ("GET", f"/v1/log/entries/{MAX}", 404, "not_found"),
        ("GET", f"{_INC}?index=1", 422, _BAD),
        ("GET", f"{_INC}?tree_size=10", 422, _BAD),
        ("GET", _INC, 422, _BAD),
        ("GET", f"{_INC}?index=-1&tree_size=10", 422, _BAD),
        ("GET", f"{_INC}?index=1&tree_size=-10", 422, _BAD),
        ("GET", f"{_INC}?index=x&tree_size=10", 422, _BAD),
        ("GET", f"{_INC}?index=1&tree_size=1e3", 422, _BAD),
        ("GET", f"{_INC}?index=1&tree_size={MAX + 1}", 422, _BAD),
        ("GET", f"{_INC}?index=0&tree_size=0", 400, "invalid_input"),
        ("GET", f"{_INC}?index=5&tree_size=5", 400, "invalid_input"),
        ("GET", f"{_INC}?index=9&tree_size=5", 400, "invalid_input"),
        ("GET", f"{_INC}?index=0&tree_size={ENTRIES + 1}", 400, "invalid_input"),
        ("GET", f"{_INC}?index={MAX - 1}&tree_size={MAX}", 400, "invalid_input"),
        ("GET", f"{_CON}?first=0&second=10", 400, "invalid_input"),
        ("GET", f"{_CON}?first=0&second=0", 400, "invalid_input"),
        ("GET", f"{_CON}?first=11&second=10", 400, "invalid_input"),
        ("GET", f"{_CON}?first=1&second={ENTRIES + 1}", 400, "invalid_input"),
        ("GET", f"{_CON}?first=1&second={MAX}", 400, "invalid_input"),
        ("GET", f"{_CON}?first=-1&second=10", 422, _BAD),
        ("GET", f"{_CON}?first=1", 422, _BAD),
        ("GET", f"{_CON}?first=1&second={MAX + 1}", 422, _BAD),
        ("GET", f"{_CON}?first=one&second=2", 422, _BAD),
        ("GET", "/v1/log/nope", 404, "not_found"),
        ("POST", "/v1/log/key", 405, "method_not_allowed"),
    ],
)
def test_bad_requests_get_4xx_json(
    client: TestClient, method: str, url: str, status: int, error: str
) -> None:
    """Each malformed or out-of-range request gets its exact 4xx status and the JSON error body."""
    response = client.request(method, url)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "reason"}
    assert body["error"] == error
    assert isinstance(body["reason"], str)
    assert body["reason"]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InvalidInput("x"), 400),
        (errors.CanonicalizationError("x"), 400),
        (errors.NotFound("x"), 404),
        (errors.SequenceConflict("x"), 409),
        (errors.RootMismatch(b"a", b"b"), 422),
        (errors.ChainBroken(3, "x"), 422),
        (errors.ConfigurationError("x"), 503),
        (errors.TraceabilityError("x"), 400),
    ],
)
def test_domain_errors_map_to_one_status_each(error: errors.TraceabilityError, status: int) -> None:
    """Every domain error takes the HTTP status of its nearest mapped base class."""
    assert status_for(error) == status


def unopened_settings(tmp_path: Path) -> Settings:
    """Settings naming a database that the test never opens."""
    return Settings(database_url=f"sqlite:///{tmp_path}/never-opened.db")


def test_ledger_not_open_is_503(tmp_path: Path) -> None:
    """Without the lifespan having opened the ledger, requests get 503 configuration_error."""
    response = TestClient(create_app(unopened_settings(tmp_path))).get("/healthz")
    assert response.status_code == 503
    assert response.json()["error"] == "configuration_error"


def test_openapi_documents_the_contract(tmp_path: Path) -> None:
    """The OpenAPI document is titled herbtrace and documents every route and its error body."""
    app: FastAPI = create_app(unopened_settings(tmp_path))
    schema = app.openapi()
    assert schema["info"]["title"] == "herbtrace"
    paths = schema["paths"]
    for path in ("/v1/log/key", "/v1/log/checkpoint", "/v1/log/entries/{index}", _INC, _CON):
        assert path in paths
    error_ref = paths[_INC]["get"]["responses"]["422"]["content"]["application/json"]["schema"]
    assert error_ref == {"$ref": "#/components/schemas/ErrorBody"}
    key_doc = paths["/v1/log/key"]["get"]["responses"]["200"]["content"]["text/plain"]["example"]
    assert NoteVerifier.from_vkey(key_doc).name == "herbtrace.example/log"
