// Verify a batch in the browser (its and every upstream batch's entries) and draw its lineage.

import { createBadge, showError as showBadgeError, showResult } from "/static/verify/badge.js";
import { fetchAndVerifyBatch, pinnedLogKey } from "/static/verify/verify.js";
import { apiFetch, showError } from "./session.js";

/** Fetch the batch's lineage SVG with the token and show it inline in `container`. */
export async function drawLineage(batchId, container) {
  const response = await apiFetch(`/v1/batches/${encodeURIComponent(batchId)}/lineage.svg`);
  const text = await response.text();
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  if (doc.querySelector("parsererror") || doc.documentElement.localName !== "svg") {
    throw new Error("the server's lineage is not SVG");
  }
  container.replaceChildren(document.importNode(doc.documentElement, true));
}

/** Wire the batch section. Returns {open(batchId)}: verify the batch and draw its lineage. */
export function setupBatch() {
  const form = document.getElementById("batch-form");
  const input = document.getElementById("batch-id");
  const badgeBox = document.getElementById("batch-badge");
  const figure = document.getElementById("lineage");
  const svgBox = document.getElementById("lineage-svg");
  const error = document.getElementById("lineage-error");

  async function verify(batchId) {
    const badge = createBadge(badgeBox);
    try {
      const result = await fetchAndVerifyBatch(batchId, pinnedLogKey(document), { scope: "trace" });
      showResult(badge, result);
      badgeBox.dataset.entries = String(result.entries.length);
    } catch (err) {
      showBadgeError(badge, `无法核验 Cannot verify: ${err.message || err}`);
    }
  }

  async function lineage(batchId) {
    try {
      await drawLineage(batchId, svgBox);
      figure.hidden = false;
      showError(error, "");
    } catch (err) {
      figure.hidden = true;
      svgBox.replaceChildren();
      showError(error, `溯源图加载失败 Could not draw the lineage: ${err.message}`);
    }
  }

  async function open(batchId) {
    const id = batchId.trim();
    input.value = id;
    badgeBox.dataset.done = "0";
    badgeBox.dataset.batch = id;
    await Promise.all([verify(id), lineage(id)]);
    badgeBox.dataset.done = "1";
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    open(input.value);
  });
  return { open, redraw: lineage, current: () => badgeBox.dataset.batch || "" };
}
