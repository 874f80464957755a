// Checkpoint consistency: pick two signed checkpoints, verify the proof between them here.

import { createBadge, showError as showBadgeError, showResult } from "/static/verify/badge.js";
import { verifyCheckpointConsistency } from "/static/verify/consistency.js";
import { pinnedLogKey } from "/static/verify/verify.js";
import { apiJson } from "./session.js";

const LISTED = 100;

function option(cp) {
  const item = document.createElement("option");
  item.value = String(cp.tree_size);
  item.textContent = `${cp.tree_size} 条 entries · ${cp.issued_at.slice(0, 19).replace("T", " ")}`;
  return item;
}

/** Wire the consistency section. Returns {load}: list the newest checkpoints in both pickers. */
export function setupConsistency() {
  const form = document.getElementById("consistency-form");
  const older = document.getElementById("cp-older");
  const newer = document.getElementById("cp-newer");
  const box = document.getElementById("consistency-badge");
  const notes = new Map();

  async function load() {
    const page = await apiJson(`/v1/log/checkpoints?limit=${LISTED}`);
    notes.clear();
    older.replaceChildren();
    newer.replaceChildren();
    for (const cp of page.items) {
      notes.set(String(cp.tree_size), cp.note);
      older.append(option(cp));
      newer.append(option(cp));
    }
    if (page.items.length) {
      newer.value = String(page.items[0].tree_size);
      older.value = String(page.items[page.items.length - 1].tree_size);
    }
    form.dataset.checkpoints = String(page.items.length);
  }

  async function check() {
    const badge = createBadge(box);
    box.dataset.done = "0";
    try {
      const [first, second] = [Number(older.value), Number(newer.value)];
      if (!(first <= second)) throw new Error(`较早的检查点须较小 the older tree (${first}) must not be larger than the newer (${second})`);
      const proof = await apiJson(`/v1/log/proof/consistency?first=${first}&second=${second}`);
      const result = await verifyCheckpointConsistency(
        notes.get(older.value), notes.get(newer.value), proof.proof, pinnedLogKey(document));
      showResult(badge, result);
    } catch (err) {
      showBadgeError(badge, `无法验证 Cannot verify: ${err.message || err}`);
    } finally {
      box.dataset.done = "1";
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    check();
  });
  return { load };
}
