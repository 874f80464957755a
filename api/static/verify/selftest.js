// The self-test page's script (selftest.html): a file, not inline, for the page's CSP.
import { fetchAndVerify, fetchAndVerifyBatch, pinnedLogKey } from "./verify.js";
import { createBadge, showError, showResult } from "./badge.js";

const params = new URLSearchParams(location.search);
const badge = createBadge(document.getElementById("badge"));

function showEntries(entries) {
  const body = document.querySelector("#entries tbody");
  for (const e of entries) {
    const row = body.insertRow();
    const { type, ...rest } = (e.payload && e.payload.body) || {};
    const signer = e.signer ? `${e.signer.role} · ${e.signer.organisation}` : "";
    for (const text of [e.index, type, JSON.stringify(rest), signer, e.received]) {
      row.insertCell().textContent = text ?? "";
    }
    row.dataset.ok = String(e.ok);
  }
  document.getElementById("entries").hidden = entries.length === 0;
}

try {
  const logKey = params.get("log_key") || pinnedLogKey(document);
  let result;
  if (params.has("batch")) {
    const scope = params.get("scope") || "batch";
    result = await fetchAndVerifyBatch(params.get("batch"), logKey, { scope });
  } else if (params.has("indices")) {
    result = await fetchAndVerify(params.get("indices").split(",").map(Number), logKey);
  } else {
    throw new Error("no entries named: add ?indices=…&log_key=… or ?batch=…&log_key=…");
  }
  showResult(badge, result);
  showEntries(result.entries);
} catch (err) {
  showError(badge, String(err.message || err));
} finally {
  document.body.dataset.done = "1";
}
