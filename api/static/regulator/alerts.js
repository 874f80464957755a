// The alerts list: filters (kind, severity, batch), newest first, one page at a time.

import { apiJson, showError } from "./session.js";

export const KIND_LABEL = {
  quality_failed: "检验不合格 failed test",
  mass_balance: "物料平衡 mass balance",
  cold_chain: "冷链超限 cold chain",
  growing_age: "生长年限 growing age",
  custody: "保管异常 custody",
  recalled_batch: "召回 recall",
  device_gap: "设备断报 device gap",
  equivocation: "重复序号 equivocation",
  counterfeit_scan: "疑似假冒 counterfeit scan",
};
const SEVERITY_LABEL = { critical: "严重 critical", warning: "警告 warning", info: "提示 info" };
const PAGE = 20;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function card(alert, onBatch) {
  const item = el("li", `card severity-${alert.severity}`);
  item.dataset.kind = alert.kind;
  item.dataset.severity = alert.severity;
  item.dataset.batch = alert.batch || "";
  const zh = alert.zh || {};
  const head = el("div", "card-head");
  head.append(el("strong", "", zh.title || KIND_LABEL[alert.kind] || alert.kind));
  head.append(el("span", "tag", SEVERITY_LABEL[alert.severity] || alert.severity));
  item.append(head);
  if (alert.batch) {
    const link = el("button", "link", alert.batch);
    link.type = "button";
    link.title = "核验该批次";
    link.addEventListener("click", () => onBatch(alert.batch));
    item.append(link);
  }
  item.append(el("p", "detail", zh.summary || alert.detail));
  if (zh.action) {
    const todo = el("p", "action");
    todo.append(el("strong", "", "建议处置："), zh.action);
    item.append(todo);
  }
  const meta = [zh.raised_at && `${zh.raised_at}（北京时间）`,
    alert.logged_index !== null && `日志 #${alert.logged_index}`].filter(Boolean);
  item.append(el("p", "meta", meta.join(" · ")));
  const raw = el("details", "raw");
  raw.append(el("summary", "", "原始记录"));
  raw.append(el("p", "", alert.detail));
  raw.append(el("pre", "", JSON.stringify(alert.evidence, null, 1)));
  item.append(raw);
  return item;
}

/** Wire the alerts section; `onBatch(id)` opens a batch. Returns {load} to (re)load page one. */
export function setupAlerts(onBatch) {
  const form = document.getElementById("alert-filters");
  const list = document.getElementById("alert-list");
  const more = document.getElementById("alerts-more");
  const error = document.getElementById("alerts-error");
  let next = null;

  async function load(append) {
    const params = new URLSearchParams({ limit: String(PAGE) });
    for (const name of ["kind", "severity", "batch"]) {
      const value = form.elements[name].value.trim();
      if (value) params.set(name, value);
    }
    if (append && next) params.set("after", next);
    list.setAttribute("aria-busy", "true");
    try {
      const page = await apiJson(`/v1/alerts?${params}`);
      if (!append) list.replaceChildren();
      for (const alert of page.items) list.append(card(alert, onBatch));
      if (!append && page.items.length === 0) list.append(el("li", "empty", "没有预警 No alerts"));
      next = page.next_after;
      more.hidden = !next;
      showError(error, "");
    } catch (err) {
      showError(error, `预警加载失败 Could not load alerts: ${err.message}`);
    } finally {
      list.dataset.loaded = "1";
      list.removeAttribute("aria-busy");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load(false);
  });
  more.addEventListener("click", () => load(true));
  return { load: () => load(false) };
}
