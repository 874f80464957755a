"""The browser verifier's modules held to the known-answer vectors the Python code passes."""

from __future__ import annotations

import json
from pathlib import Path

from browser_harness import BrowserPage, LiveServer
from protocol_example import example

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
SELFTEST = "/static/verify/selftest.html"


RUN_INCLUSION_VECTORS = """
async (cases) => {
  const { verifyInclusion } = await import("/static/verify/merkle.js");
  const { decodeBase64 } = await import("/static/verify/bytes.js");
  const out = [];
  for (const c of cases) {
    try {
      await verifyInclusion(c.leafIdx, c.treeSize, decodeBase64(c.leafHash, "leaf"),
        (c.proof || []).map((p) => decodeBase64(p, "proof")), decodeBase64(c.root, "root"));
      out.push(null);
    } catch (err) {
      out.push(err.name + ": " + err.message);
    }
  }
  return out;
}
"""


def test_merkle_js_passes_the_rfc9162_inclusion_vectors(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """merkle.js accepts every good transparency-dev inclusion vector and refuses every bad one."""
    files = sorted((VECTORS / "merkle" / "inclusion").glob("**/*.json"))
    cases = [json.loads(path.read_text()) for path in files]
    assert len(cases) == 98
    browser_page.page.goto(live_server.url(SELFTEST))
    outcomes = browser_page.page.evaluate(RUN_INCLUSION_VECTORS, cases)
    for path, case, outcome in zip(files, cases, outcomes, strict=True):
        if case["wantErr"]:
            assert str(outcome).startswith("ProofError"), path
        else:
            assert outcome is None, (path, outcome)
    assert sum(c["wantErr"] for c in cases) > 50  # both kinds are really exercised


RUN_NOTE_CASE = """
async ([note, vkeys]) => {
  const { openNote, parseVerifierKey } = await import("/static/verify/note.js");
  try {
    const verifiers = [];
    for (const vkey of vkeys) verifiers.push(await parseVerifierKey(vkey));
    return note === null ? [] : (await openNote(note, verifiers)).verifiedBy;
  } catch (err) {
    return err.name + ": " + err.message;
  }
}
"""


def test_note_js_passes_the_signed_note_vectors(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """note.js parses and verifies the golang sumdb/note vectors with the expected outcomes."""
    cases = json.loads((VECTORS / "note" / "vectors.json").read_text())["cases"]
    browser_page.page.goto(live_server.url(SELFTEST))
    run = browser_page.page.evaluate
    checked = 0
    for case in cases:
        if "signer_key" in case:  # a signing case: its note must verify under its verifier key
            name = case["verifier_key"].split("+")[0]
            assert run(RUN_NOTE_CASE, [case["signed_note"], [case["verifier_key"]]]) == [name]
        elif "signed_note" in case:
            outcome = run(RUN_NOTE_CASE, [case["signed_note"], case["verifier_keys"]])
            if case["want_error"]:
                assert str(outcome).startswith("NoteError"), case["desc"]
            else:
                assert outcome == case["want_verified_by"], case["desc"]
        else:  # a malformed verifier key
            outcome = run(RUN_NOTE_CASE, [None, [case["verifier_key"]]])
            assert str(outcome).startswith("NoteError"), case["desc"]
        checked += 1
    assert checked == len(cases) >= 8


RUN_PROTOCOL_EXAMPLE = """
async (ex) => {
  const { leafHash, parseLeaf, verifyEnvelope } = await import("/static/verify/leaf.js");
  const { verifyInclusion } = await import("/static/verify/merkle.js");
  const { openCheckpoint, parseVerifierKey } = await import("/static/verify/note.js");
  const { decodeBase64, toHex, utf8 } = await import("/static/verify/bytes.js");
  const leaf = utf8(ex.leaf0_text);
  const hash = await leafHash(leaf);
  const entry = parseLeaf(leaf);
  const publicKey = Uint8Array.from(ex.device_public_key.match(/../g), (h) => parseInt(h, 16));
  await verifyEnvelope(entry, publicKey, ex.signer);
  const cp = await openCheckpoint(ex.checkpoint, await parseVerifierKey(ex.log_vkey));
  await verifyInclusion(0, cp.size, hash, [decodeBase64(ex.inclusion_proof_0, "proof")], cp.root);
  return { leafHash: toHex(hash), size: cp.size, herb: entry.payload.body.herb };
}
"""


def test_protocol_worked_example_verifies_in_the_browser(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """The worked example of docs/protocol.md verifies end to end with the browser modules."""
    ex = example()
    browser_page.page.goto(live_server.url(SELFTEST))
    got = browser_page.page.evaluate(RUN_PROTOCOL_EXAMPLE, ex)
    assert got == {"leafHash": ex["leaf0_hash"], "size": 2, "herb": "renshen"}
