"""consistency.js (RFC 9162 §2.1.4.2 in the browser) held to the transparency-dev vectors."""

from __future__ import annotations

import json
from pathlib import Path

from browser_harness import LOG_ORIGIN, BrowserPage, LiveServer

from traceability.log.note import NoteSigner

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "merkle" / "consistency"
SELFTEST = "/static/verify/selftest.html"

RUN_CONSISTENCY_VECTORS = """
async (cases) => {
  const { verifyConsistency } = await import("/static/verify/consistency.js");
  const { decodeBase64 } = await import("/static/verify/bytes.js");
  const out = [];
  for (const c of cases) {
    try {
      const proof = (c.proof || []).map((p) => decodeBase64(p, "proof"));
      await verifyConsistency(c.size1, c.size2, proof, decodeBase64(c.root1, "root1"),
        decodeBase64(c.root2, "root2"));
      out.push(null);
    } catch (err) {
      out.push(err.name + ": " + err.message);
    }
  }
  return out;
}
"""

RUN_CHECKPOINTS = """
async ([older, newer, proof, logKey]) => {
  const { verifyCheckpointConsistency } = await import("/static/verify/consistency.js");
  return verifyCheckpointConsistency(older, newer, proof, logKey);
}
"""


def test_consistency_js_passes_the_rfc9162_consistency_vectors(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """consistency.js accepts every good consistency vector and refuses every bad one."""
    files = sorted(VECTORS.glob("**/*.json"))
    cases = [json.loads(path.read_text()) for path in files]
    assert len(cases) == 98
    browser_page.page.goto(live_server.url(SELFTEST))
    outcomes = browser_page.page.evaluate(RUN_CONSISTENCY_VECTORS, cases)
    for path, case, outcome in zip(files, cases, outcomes, strict=True):
        if case["wantErr"]:
            assert str(outcome).startswith("ProofError"), (path, outcome)
        else:
            assert outcome is None, (path, outcome)
    assert 40 < sum(c["wantErr"] for c in cases) < 98  # both kinds are really exercised


def test_two_served_checkpoints_are_consistent_and_a_forged_one_is_not(
    browser_page: BrowserPage, live_server: LiveServer
) -> None:
    """Real checkpoints of the live log verify; under another pinned key they are refused."""
    items = live_server.get_json("/v1/log/checkpoints")["items"]
    assert len(items) >= 2
    newer, older = items[0], items[-1]
    proof = live_server.get_json(
        f"/v1/log/proof/consistency?first={older['tree_size']}&second={newer['tree_size']}"
    )["proof"]
    browser_page.page.goto(live_server.url(SELFTEST))
    run = browser_page.page.evaluate
    good = run(RUN_CHECKPOINTS, [older["note"], newer["note"], proof, live_server.log_key])
    assert good["ok"], good["checks"]
    assert good["first"]["size"] == older["tree_size"]
    assert good["second"]["size"] == newer["tree_size"]
    other_key = NoteSigner.generate(LOG_ORIGIN).verifier().to_vkey()  # same name, other key
    forged = run(RUN_CHECKPOINTS, [older["note"], newer["note"], proof, other_key])
    assert not forged["ok"]
    failed = [c["name"] for c in forged["checks"] if not c["ok"]]
    assert failed == [
        "older checkpoint signature",
        "newer checkpoint signature",
        "consistency proof",
    ]
