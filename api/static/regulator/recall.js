// The recall form: preview what a recall reaches, record it, then show what it reached.

import { apiJson, showError } from "./session.js";

function el(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A table with `titles` as its head and one row per item of `rows` ([cells, dataset]). */
function table(className, caption, titles, rows) {
  const box = el("table");
  box.className = className;
  box.createCaption().textContent = caption;
  const head = box.createTHead().insertRow();
  for (const title of titles) head.append(el("th", title));
  const body = box.createTBody();
  for (const [cells, data] of rows) {
    const row = body.insertRow();
    Object.assign(row.dataset, data);
    for (const text of cells) row.insertCell().textContent = String(text);
  }
  return box;
}

/** Render what a recall of `lineage.batch` reaches into `container`: the batches, who holds
 * the goods and how much, who already sold units and how many. */
export function renderImpact(container, lineage) {
  const reached = new Set([lineage.batch, ...lineage.downstream]);
  const nodes = lineage.nodes.filter((n) => reached.has(n.id));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const reach = lineage.reach;
  const summary = el("p", `涉及 ${reach.batches} 个批次、${reach.units} 件单品：` +
    `已售出 ${reach.sold} 件，未售 ${reach.unsold} 件；已召回 ${reach.recalled} 件。`);
  summary.className = "summary";
  const batches = table("impact-batches", "涉及的批次", ["批次", "药材", "类型", "状态"],
    nodes.map((n) => [[n.id, n.herb_name, n.kind_zh, n.status_zh],
      { batch: n.id, status: n.status }]));
  const holders = table("impact-holders", "持有方与库存", ["持有方", "批次", "现有数量"],
    reach.holders.map((h) => {
      const unit = byId.get(h.batch)?.unit_zh || h.unit;
      const where = h.shipment ? `（在途，运单 ${h.shipment}）` : "";
      return [[h.name, h.batch, `${h.quantity} ${unit}${where}`],
        { org: h.organisation, batch: h.batch, quantity: h.quantity }];
    }));
  const sellers = reach.sellers.length
    ? table("impact-sellers", "已售出的药房", ["药房", "批次", "已售件数"],
      reach.sellers.map((s) => [[s.name, s.batch, `${s.units} 件（${s.sales} 笔）`],
        { org: s.organisation, batch: s.batch, units: String(s.units) }]))
    : el("p", "尚无单品售出。");
  container.dataset.batches = String(reach.batches);
  container.dataset.units = String(reach.units);
  container.dataset.sold = String(reach.sold);
  container.dataset.recalled = String(reach.recalled);
  container.replaceChildren(summary, holders, sellers, batches);
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
  let previewed = null; // [the code as typed, the batch it names] once previewed

  const lineageOf = (id) => apiJson(`/v1/batches/${encodeURIComponent(id)}/lineage`);

  async function showPreview() {
    const code = batch.value.trim();
    submit.disabled = true;
    after.hidden = true;
    previewed = null;
    try {
      const found = await apiJson(`/v1/resolve?code=${encodeURIComponent(code)}`);
      if (found.batch === null) {
        throw new Error(`批号 ${found.lot} 对应 ${found.candidates.length} 个批次：` +
          `${found.candidates.map((c) => c.batch).join("、")}，请输入其中一个批次号`);
      }
      const id = found.batch;
      const lineage = await lineageOf(id);
      renderImpact(before.querySelector(".impact-body"), lineage);
      before.hidden = false;
      before.dataset.batch = id;
      const recalled = lineage.nodes.find((n) => n.id === id)?.status === "recalled";
      previewed = recalled ? null : [code, id];
      submit.disabled = previewed === null;
      showError(error, recalled ? `批次 ${id} 已召回，不能再次召回` : "");
    } catch (err) {
      before.hidden = true;
      showError(error, err.status === 404
        ? `查不到「${code}」：没有这个批号或批次号的记录`
        : `无法预览：${err.message}`);
    }
  }

  async function record() {
    if (previewed === null || batch.value.trim() !== previewed[0]) {
      showError(error, "请先预览该批次的召回影响");
      return;
    }
    const id = previewed[1];
    submit.disabled = true;
    try {
      const recall = await apiJson("/v1/recalls", "POST", {
        batch: id,
        level: document.getElementById("recall-level").value,
        reason: document.getElementById("recall-reason").value,
      });
      after.querySelector(".recorded").textContent =
        `已记入日志 #${recall.index}：${recall.reason}（由监管机构密钥 ${recall.signer} ` +
        `代 ${recall.regulator} 签名）`;
      after.dataset.index = String(recall.index);
      renderImpact(after.querySelector(".impact-body"), await lineageOf(id));
      after.hidden = false;
      previewed = null;
      showError(error, "");
      onRecalled(id);
    } catch (err) {
      showError(error, `召回失败：${err.message}`);
      submit.disabled = false;
    }
  }

  batch.addEventListener("input", () => {
    submit.disabled = previewed === null || batch.value.trim() !== previewed[0];
  });
  preview.addEventListener("click", showPreview);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    record();
  });
  return { prefill: (id) => { batch.value = id; } };
}
