"""The browser verifier (api/static/verify) in real headless Chromium against a live server."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from browser_harness import LOG_ORIGIN, SEEDED_EVENTS, BrowserPage, LiveServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.keys import key_id_for, raw_public_key
from traceability.log.note import NoteSigner
from traceability.storage import tables
from traceability.storage.db import make_engine

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
INDICES = [0, 4, 8, 31, SEEDED_EVENTS - 1]  # both edges of the tree and a few between
SELFTEST = "/static/verify/selftest.html"

VERIFY_AND_SHOW = """
async ([bundle, logKey, options]) => {
  const { verifyBundle } = await import("/static/verify/verify.js");
  const { createBadge, showResult } = await import("/static/verify/badge.js");
  const result = await verifyBundle(bundle, logKey, options);
  showResult(createBadge(document.getElementById("badge")), result);
  return result;
}
"""


def bundle_of(server: LiveServer, indices: list[int]) -> dict[str, Any]:
    """Fetch the proof bundle of `indices` from the server, as the browser would."""
    return dict(server.get_json(f"/v1/log/proofs?indices={','.join(map(str, indices))}"))


def verify_in_browser(
    bp: BrowserPage,
    server: LiveServer,
    bundle: dict[str, Any],
    log_key: str,
    shot: str,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Verify `bundle` in the page, show and screenshot its badge, return the result."""
    bp.page.goto(server.url(SELFTEST))
    bp.page.wait_for_selector("body[data-done='1']")
    result = bp.page.evaluate(VERIFY_AND_SHOW, [bundle, log_key, options or {}])
    state = bp.page.get_attribute(".herbtrace-badge", "data-state")
    assert state == ("green" if result["ok"] else "red")
    bp.screenshot(shot)
    return dict(result)


def failed(result: dict[str, Any]) -> set[tuple[str, int | None]]:
    """Return (kind, index) of every failed check."""
    return {(c["kind"], c["index"]) for c in result["checks"] if not c["ok"]}


def detail(result: dict[str, Any], kind: str, index: int | None = None) -> str:
    """Return the detail of the one check of `kind` (and `index`)."""
    [found] = [c for c in result["checks"] if c["kind"] == kind and c["index"] == index]
    return str(found["detail"])


def flip_base64(value: str, byte: int) -> str:
    """Return base64 `value` with one bit of byte `byte` flipped."""
    raw = bytearray(base64.b64decode(value))
    raw[byte] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def cjk_strings(value: Any) -> list[str]:
    """Return every string inside a JSON value that contains a CJK ideograph."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in cjk_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in cjk_strings(v)]
    return [value] if isinstance(value, str) and re.search(r"[\u4e00-\u9fff]", value) else []


def test_selftest_page_verifies_a_batch_green(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """The self-test page fetches a bundle, verifies it all green and shows the Chinese facts."""
    query = urllib.parse.urlencode(
        {"indices": ",".join(map(str, INDICES)), "log_key": live_server.log_key}
    )
    page = browser_page.page
    page.goto(live_server.url(f"{SELFTEST}?{query}"))
    page.wait_for_selector("body[data-done='1']")
    browser_page.screenshot("selftest-green")
    assert page.get_attribute(".herbtrace-badge", "data-state") == "green"
    oks = page.eval_on_selector_all(".herbtrace-badge li", "els => els.map(e => e.dataset.ok)")
    assert oks == ["true"] * (4 + 3 * len(INDICES))  # log key, checkpoint, size, coverage
    rows = page.eval_on_selector_all("#entries tbody tr", "rows => rows.map(r => r.innerText)")
    bundle = bundle_of(live_server, INDICES)
    facts = []
    for row, entry in zip(rows, bundle["entries"], strict=True):
        payload = json.loads(base64.b64decode(entry["leaf"]).split(b"\n")[5])
        expected = [entry["signer"]["organisation"], *cjk_strings(payload["body"])]
        assert all(fact in row for fact in expected), (row, expected)
        facts += cjk_strings(expected)
    assert len(facts) >= len(INDICES)  # the seeded facts really are in Chinese
    assert browser_page.errors == []


def test_selftest_page_shows_the_server_refusal_red(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """Asking for an entry beyond the checkpoint turns the badge red with the server's reason."""
    query = urllib.parse.urlencode({"indices": "1,100000", "log_key": live_server.log_key})
    page = browser_page.page
    page.goto(live_server.url(f"{SELFTEST}?{query}"))
    page.wait_for_selector("body[data-done='1']")
    browser_page.screenshot("selftest-refused")
    assert page.get_attribute(".herbtrace-badge", "data-state") == "red"
    assert "not covered by the latest checkpoint" in page.inner_text(".herbtrace-badge")


def test_valid_bundle_all_checks_green(browser_page: BrowserPage, live_server: LiveServer) -> None:
    """An untouched bundle verifies: every check passes and each entry's payload is returned."""
    bundle = bundle_of(live_server, INDICES)
    result = verify_in_browser(browser_page, live_server, bundle, live_server.log_key, "valid")
    assert result["ok"] is True
    assert failed(result) == set()
    assert len(result["checks"]) == 3 + 3 * len(INDICES)
    assert result["checkpoint"]["size"] == bundle["tree_size"] >= SEEDED_EVENTS
    assert [e["index"] for e in result["entries"]] == INDICES
    assert all(e["ok"] and e["keySource"] == "registry" for e in result["entries"])
    assert any("not pinned" in sentence for sentence in result["trust"])


def test_tampered_proof_hash_fails_that_inclusion(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """One flipped bit in one proof hash fails only that entry's inclusion proof."""
    bundle = bundle_of(live_server, INDICES)
    bundle["entries"][1]["proof"][0] = flip_base64(bundle["entries"][1]["proof"][0], 5)
    result = verify_in_browser(browser_page, live_server, bundle, live_server.log_key, "bad-proof")
    assert result["ok"] is False
    assert failed(result) == {("inclusion-proof", INDICES[1])}
    assert "does not match expected root" in detail(result, "inclusion-proof", INDICES[1])


def test_tampered_payload_byte_fails_hash_proof_and_signature(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """A changed payload byte fails the leaf hash, the inclusion proof and the signature."""
    bundle = bundle_of(live_server, INDICES)
    entry = bundle["entries"][2]
    leaf = base64.b64decode(entry["leaf"])
    at = leaf.index(b'"seq":') + 6  # a digit of the payload's sequence number
    tampered = leaf[:at] + (b"9" if leaf[at : at + 1] != b"9" else b"8") + leaf[at + 1 :]
    entry["leaf"] = base64.b64encode(tampered).decode()
    result = verify_in_browser(browser_page, live_server, bundle, live_server.log_key, "bad-leaf")
    assert result["ok"] is False
    index = INDICES[2]
    assert failed(result) == {
        ("leaf-hash", index),
        ("inclusion-proof", index),
        ("envelope-signature", index),
    }
    assert "the server said" in detail(result, "leaf-hash", index)
    assert "signature does not verify" in detail(result, "envelope-signature", index)


def test_tampered_leaf_with_matching_claimed_hash_fails_inclusion(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """A changed received time, with the claimed leaf hash recomputed, fails the inclusion proof."""
    bundle = bundle_of(live_server, INDICES)
    entry = bundle["entries"][0]
    lines = base64.b64decode(entry["leaf"]).split(b"\n")
    lines[3] = b"2020-01-01T00:00:00.000000Z"  # the received line: not covered by the signature
    tampered = b"\n".join(lines)
    entry["leaf"] = base64.b64encode(tampered).decode()
    entry["leaf_hash"] = base64.b64encode(hashlib.sha256(b"\x00" + tampered).digest()).decode()
    result = verify_in_browser(browser_page, live_server, bundle, live_server.log_key, "bad-time")
    assert result["ok"] is False
    assert failed(result) == {("inclusion-proof", INDICES[0])}


def test_false_claimed_leaf_hash_fails_that_entry(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """A wrong claimed leaf hash beside an intact leaf fails the leaf-hash check and the entry."""
    bundle = bundle_of(live_server, INDICES)
    bundle["entries"][4]["leaf_hash"] = flip_base64(bundle["entries"][4]["leaf_hash"], 0)
    result = verify_in_browser(browser_page, live_server, bundle, live_server.log_key, "bad-claim")
    assert failed(result) == {("leaf-hash", INDICES[4])}
    assert [e["ok"] for e in result["entries"]] == [True, True, True, True, False]


def test_tampered_checkpoint_signature_fails_the_checkpoint(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """A flipped bit in the checkpoint's signature fails it, and no proof counts without it."""
    bundle = bundle_of(live_server, INDICES)
    text, _, sig_line = bundle["checkpoint"].rstrip("\n").rpartition("\n")
    prefix, _, blob = sig_line.rpartition(" ")
    bundle["checkpoint"] = f"{text}\n{prefix} {flip_base64(blob, 30)}\n"
    result = verify_in_browser(browser_page, live_server, bundle, live_server.log_key, "bad-cp")
    assert result["ok"] is False
    assert ("checkpoint-signature", None) in failed(result)
    assert "is invalid" in detail(result, "checkpoint-signature")
    assert {kind for kind, _ in failed(result)} == {"checkpoint-signature", "inclusion-proof"}
    assert "not signed by the pinned key" in detail(result, "inclusion-proof", INDICES[0])
    assert result["checkpoint"]["verified"] is False


def test_tampered_checkpoint_root_fails_the_checkpoint(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """A checkpoint whose root was swapped under its old signature fails the signature check."""
    bundle = bundle_of(live_server, INDICES)
    origin, size, root, *rest = bundle["checkpoint"].split("\n")
    bundle["checkpoint"] = "\n".join([origin, size, flip_base64(root, 0), *rest])
    result = verify_in_browser(browser_page, live_server, bundle, live_server.log_key, "bad-root")
    assert result["ok"] is False
    assert ("checkpoint-signature", None) in failed(result)


def test_wrong_log_key_fails_key_and_checkpoint(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """Pinning another key of the same name fails the log-key and checkpoint-signature checks."""
    bundle = bundle_of(live_server, INDICES)
    other = NoteSigner.generate(LOG_ORIGIN).verifier().to_vkey()
    result = verify_in_browser(browser_page, live_server, bundle, other, "wrong-key")
    assert result["ok"] is False
    assert {("log-key", None), ("checkpoint-signature", None)} <= failed(result)
    assert "not signed by the pinned key" in detail(result, "checkpoint-signature")


def test_malformed_pinned_key_is_a_clear_error(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """A pinned key whose key ID does not match its key is refused with that reason."""
    bundle = bundle_of(live_server, INDICES)
    name, key_id, key = live_server.log_key.split("+", 2)
    bad = f"{name}+{'0' * 8 if key_id != '0' * 8 else '1' * 8}+{key}"
    result = verify_in_browser(browser_page, live_server, bundle, bad, "malformed-key")
    assert result["ok"] is False
    assert "does not match its key" in detail(result, "log-key")


def test_substituted_signer_key_fails_the_signature(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """A registry key swapped for another fails the envelope check; a pinned true key passes."""
    bundle = bundle_of(live_server, INDICES)
    true_key = bundle["entries"][3]["signer"]["public_key"]
    forged = raw_public_key(Ed25519PrivateKey.generate())
    swapped = copy.deepcopy(bundle)
    swapped["entries"][3]["signer"] |= {
        "public_key": base64.b64encode(forged).decode(),
        "key_id": key_id_for(forged),
    }
    result = verify_in_browser(
        browser_page, live_server, swapped, live_server.log_key, "bad-signer"
    )
    assert failed(result) == {("envelope-signature", INDICES[3])}
    assert "payload names signer" in detail(result, "envelope-signature", INDICES[3])

    signer_id = bundle["entries"][3]["signer"]["key_id"]
    pinned = {"signerKeys": {signer_id: true_key}}
    result = verify_in_browser(
        browser_page, live_server, swapped, live_server.log_key, "pinned-signer", pinned
    )
    assert result["ok"] is True
    assert result["entries"][3]["keySource"] == "pinned"


def test_bundle_missing_an_asked_entry_fails_coverage(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """A bundle that leaves out an entry the page asked for fails the coverage check."""
    bundle = bundle_of(live_server, INDICES)
    bundle["entries"].pop()
    result = verify_in_browser(
        browser_page, live_server, bundle, live_server.log_key, "coverage", {"indices": INDICES}
    )
    assert failed(result) == {("coverage", None)}


@pytest.mark.parametrize("bad", [{}, {"entries": []}, {"entries": "no"}, None])
def test_malformed_bundle_is_red_not_a_crash(
    browser_page: BrowserPage, live_server: LiveServer, bad: Any
) -> None:
    """Something that is not a bundle resolves to ok false with a bundle-format check."""
    result = verify_in_browser(browser_page, live_server, bad, live_server.log_key, "malformed")
    assert result["ok"] is False
    assert ("bundle-format", None) in failed(result)


def test_selftest_page_verifies_a_batch_by_id(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """A batch's bundle (its indexed entries and its ancestors') verifies green by batch ID."""
    engine = make_engine(live_server.environ["HERBTRACE_DATABASE_URL"])
    try:  # the domain's index rows for two test batches, one the other's parent
        with engine.begin() as conn:
            conn.execute(
                sa.insert(tables.batch_events),
                [
                    {"batch": "BROWSER-PARENT", "log_index": 3, "type": "harvest"},
                    {"batch": "BROWSER-CHILD", "log_index": 20, "type": "processing"},
                    {"batch": "BROWSER-CHILD", "log_index": 41, "type": "ship"},
                ],
            )
            conn.execute(
                sa.insert(tables.lineage),
                {"parent": "BROWSER-PARENT", "child": "BROWSER-CHILD", "event_index": 20}
                | {"quantity": "1.000", "unit": "kg"},
            )
    finally:
        engine.dispose()
    query = urllib.parse.urlencode(
        {"batch": "BROWSER-CHILD", "scope": "trace", "log_key": live_server.log_key}
    )
    page = browser_page.page
    page.goto(live_server.url(f"{SELFTEST}?{query}"))
    page.wait_for_selector("body[data-done='1']")
    browser_page.screenshot("selftest-batch")
    assert page.get_attribute(".herbtrace-badge", "data-state") == "green"
    shown = page.eval_on_selector_all(
        "#entries tbody tr", "rows => rows.map(r => r.cells[0].innerText)"
    )
    assert shown == ["3", "20", "41"]
    assert browser_page.errors == []
