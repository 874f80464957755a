// The recall form: preview what a recall reaches, record it, then show what it reached.

import { apiJson, showError } from "./session.js";

const STATUS = { active: "在库 active", consumed: "已用完 consumed", recalled: "已召回 recalled",
  packed: "待售 packed", sold: "已售 sold" };

function el(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Render the batches and units a recall of `lineage.batch` reaches into `container`. */
export function renderImpact(container, lineage) {
  const reached = new Set([lineage.batch, ...lineage.downstream]);
  const nodes = lineage.nodes.filter((n) => reached.has(n.id));
  const tallies = lineage.units.filter((u) => reached.has(u.batch));
  const units = tallies.reduce((n, u) => n + u.total, 0);
  const sold = tallies.reduce((n, u) => n + (u.by_status.sold || 0), 0);
  const recalled = tallies.reduce((n, u) => n + u.recalled, 0);
  const summary = el("p", `涉及 ${nodes.length} 个批次、${units} 件单品（已售 ${sold}，已召回 ${recalled}）` +
    ` · reaches ${nodes.length} batches and ${units} units (${sold} sold, ${recalled} recalled)`);
  summary.className = "summary";
  const table = el("table");
  table.className = "impact-batches";
  const head = table.createTHead().insertRow();
  for (const title of ["批次 batch", "药材 herb", "类型 kind", "状态 status"]) head.append(el("th", title));
  const body = table.createTBody();
  for (const n of nodes) {
    const row = body.insertRow();
    row.dataset.batch = n.id;
    row.dataset.status = n.status;
    for (const text of [n.id, n.herb_name, n.kind, STATUS[n.status] || n.status]) row.insertCell().textContent = text;
  }
  const list = el("ul");
  list.className = "impact-units";
  for (const u of tallies) {
    const item = el("li", `${u.batch}: ${u.total} 件 units — ` +
      Object.entries(u.by_status).map(([s, k]) => `${STATUS[s] || s} ${k}`).join(" · "));
    item.dataset.batch = u.batch;
    item.dataset.count = String(u.total);
    item.dataset.recalled = String(u.recalled);
    list.append(item);
  }
  container.dataset.batches = String(nodes.length);
  container.dataset.units = String(units);
  container.dataset.recalled = String(recalled);
  container.replaceChildren(summary, table, list);
}

/** Wire the recall form; `onRecalled(batchId)` runs after a recall is recorded. */
export function setupRecall(onRecalled) {
  const form = document.getElementById("recall-form");
  const batch = document.getElementById("recall-batch");
  const preview = document.getElementById("recall-preview");
  const submit = document.getElementById("recall-submit");
  const error = document.getElementById("recall-error");
  const before = document.getElementById("impact-before");
  const after = document.getElementById("impact-after");
  let previewed = null;

  const lineageOf = (id) => apiJson(`/v1/batches/${encodeURIComponent(id)}/lineage`);

  async function showPreview() {
    const id = batch.value.trim();
    submit.disabled = true;
    after.hidden = true;
    try {
      const lineage = await lineageOf(id);
      renderImpact(before.querySelector(".impact-body"), lineage);
      before.hidden = false;
      const status = lineage.nodes.find((n) => n.id === id)?.status;
      previewed = status === "recalled" ? null : id;
      submit.disabled = previewed === null;
      showError(error, status === "recalled" ? `${id} 已召回 is already recalled` : "");
    } catch (err) {
      before.hidden = true;
      showError(error, `无法预览 Cannot preview: ${err.message}`);
    }
  }

  async function record() {
    const id = batch.value.trim();
    if (id !== previewed) {
      showError(error, "请先预览该批次的影响 Preview this batch's impact first");
      return;
    }
    submit.disabled = true;
    try {
      const recall = await apiJson("/v1/recalls", "POST", {
        batch: id,
        level: document.getElementById("recall-level").value,
        reason: document.getElementById("recall-reason").value,
      });
      after.querySelector(".recorded").textContent =
        `已记入日志 #${recall.index}（监管办公室密钥 ${recall.signer} 签名）· recorded as log entry ` +
        `#${recall.index}, signed by the regulator office key ${recall.signer} ` +
        `for ${recall.regulator}: ${recall.reason}`;
      after.dataset.index = String(recall.index);
      renderImpact(after.querySelector(".impact-body"), await lineageOf(id));
      after.hidden = false;
      previewed = null;
      showError(error, "");
      onRecalled(id);
    } catch (err) {
      showError(error, `召回失败 Recall refused: ${err.message}`);
      submit.disabled = false;
    }
  }

  batch.addEventListener("input", () => {
    submit.disabled = batch.value.trim() !== previewed;
  });
  preview.addEventListener("click", showPreview);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    record();
  });
  return { prefill: (id) => { batch.value = id; } };
}
