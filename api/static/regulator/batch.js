// Verify a batch in the browser (its and every upstream batch's entries) and draw its lineage.

import { createBadge, showError as showBadgeError, showResult } from "/static/verify/badge.js";
import { fetchAndVerifyBatch, pinnedLogKey } from "/static/verify/verify.js";
import { apiFetch, apiJson, showError } from "./session.js";

const VIA = {
  batch_id: "批次号",
  digital_link: "二维码链接",
  element_string: "GS1 条码内容",
  gtin_lot: "商品条码 + 批号",
  lot: "批号",
};

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

  const resolved = document.getElementById("batch-resolved");

  async function open(batchId) {
    const id = batchId.trim();
    badgeBox.dataset.done = "0";
    badgeBox.dataset.batch = id;
    await Promise.all([verify(id), lineage(id)]);
    badgeBox.dataset.done = "1";
  }

  function candidateList(found) {
    const list = document.createElement("ul");
    list.className = "candidates";
    for (const match of found.candidates) {
      const item = document.createElement("li");
      const pick = document.createElement("button");
      pick.type = "button";
      pick.className = "link";
      pick.textContent = match.batch;
      pick.addEventListener("click", () => {
        resolved.textContent = `批号 ${match.lot} · 商品条码 ${match.gtin} → 批次 ${match.batch}`;
        open(match.batch);
      });
      item.append(pick, ` 商品条码 ${match.gtin}`);
      list.append(item);
    }
    return list;
  }

  /** Resolve what was typed or scanned (批号, GTIN + 批号, QR content, batch ID), then open it. */
  async function lookUp(code) {
    badgeBox.dataset.done = "0";
    resolved.replaceChildren();
    resolved.dataset.batch = "";
    try {
      const found = await apiJson(`/v1/resolve?code=${encodeURIComponent(code.trim())}`);
      if (found.batch === null) {
        resolved.append(`批号 ${found.lot} 对应 ${found.candidates.length} 个批次，请选择：`,
          candidateList(found));
        return;
      }
      const parts = [`按${VIA[found.via] || found.via}识别`];
      if (found.lot) parts.push(`批号 ${found.lot}`);
      if (found.gtin) parts.push(`商品条码 ${found.gtin}`);
      if (found.serial) parts.push(`序列号 ${found.serial}`);
      resolved.textContent = `${parts.join(" · ")} → 批次 ${found.batch}`;
      resolved.dataset.batch = found.batch;
      resolved.dataset.via = found.via;
      showError(error, "");
      await open(found.batch);
    } catch (err) {
      figure.hidden = true;
      badgeBox.replaceChildren();
      showError(error, err.status === 404
        ? `查不到「${code.trim()}」：没有这个批号、商品条码或批次号的记录（${err.message}）`
        : `无法识别「${code.trim()}」：${err.message}`);
      badgeBox.dataset.done = "1";
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    lookUp(input.value);
  });
  const openById = (id) => {
    resolved.replaceChildren();
    input.value = id;
    return open(id);
  };
  return { open: openById, redraw: lineage, current: () => badgeBox.dataset.batch || "" };
}
