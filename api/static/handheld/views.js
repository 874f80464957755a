// What the page shows: the batch card with its events, the batches kept for offline use,
// and the outbox; every code in Chinese (labels.js, the catalogue, the names kept).

import {
  BATCH_KINDS, EVENT_TYPES, OUTBOX_STATUSES, QUALITIES, STATUSES, byEventDate, eventName, named,
} from "./labels.js";

const $ = (id) => document.getElementById(id);

/** How long ago `at` (ms since the epoch) was, in words: 刚刚, 5 分钟前, 3 小时前, 2 天前. */
export function ago(at) {
  const minutes = Math.floor((Date.now() - at) / 60000);
  if (minutes < 1) return "刚刚";
  if (minutes < 60) return ` ${minutes} 分钟前`;
  if (minutes < 48 * 60) return ` ${Math.floor(minutes / 60)} 小时前`;
  return ` ${Math.floor(minutes / 1440)} 天前`;
}

/** `at` as this phone's local date and time. */
export function when(at) {
  return new Date(at).toLocaleString("zh-CN", { hour12: false });
}

/**
 * Fill the batch card from `found` ({batch, events, at, kept}): `names` are organisation
 * and site names by ID, `label` names a herb, unit or choice code.
 */
export function renderCard(found, names, label) {
  const { batch } = found;
  $("batch-id").textContent = batch.id;
  $("batch-age").hidden = !found.kept;
  $("batch-age").textContent = found.kept
    ? `离线：显示的是${ago(found.at)}保存的数据（${when(found.at)}），之后的变化看不到。` : "";
  const unit = label(batch.unit);
  const rows = [
    ["herb", "药材", label(batch.herb)],
    ["kind", "类型", named(BATCH_KINDS, batch.kind)],
    ["status", "状态", named(STATUSES, batch.status)],
    ["quality", "质量", named(QUALITIES, batch.quality)],
    ["remaining", "剩余", `${batch.remaining} ${unit}（共 ${batch.quantity} ${unit}）`],
    ["owner", "所有", named(names, batch.owner)],
    ["custodian", "持有", named(names, batch.custodian)],
  ];
  if (batch.origin_site) rows.push(["origin_site", "产地", named(names, batch.origin_site)]);
  if (batch.in_transit) rows.push(["in_transit", "运输中", `运单 ${batch.in_transit}`]);
  if (batch.lot) rows.push(["lot", "批号", batch.lot]);
  $("batch-card").replaceChildren(...rows.flatMap(([key, k, v]) => {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = k;
    dd.textContent = v;
    dd.dataset.field = key;
    if (key === "status") dd.dataset.status = batch.status;
    return [dt, dd];
  }));
  $("batch-events").replaceChildren(...byEventDate(found.events).map(({ event, date, recorded }) => {
    const li = document.createElement("li");
    li.dataset.index = event.index;
    li.dataset.date = date;
    const day = recorded ? `${date}（记录日期）` : date;
    li.textContent = `${day} ${eventName(event.body, label)} · 日志 #${event.index}`;
    return li;
  }));
}

/**
 * Show the kept batches (`kept`, [{batch, at}]), when the organisation's list was fetched
 * (`listed`) and how old the oldest copy is; `open(id)` opens a batch.
 */
export function renderKept(kept, listed, label, open) {
  kept.sort((x, y) => x.batch.id.localeCompare(y.batch.id));
  const oldest = kept.length ? Math.min(...kept.map((k) => k.at)) : null;
  $("cache-state").dataset.count = String(kept.length);
  if (!kept.length) {
    $("cache-state").textContent = "本机还没有保存批次。联网时打开过的批次会自动保存。";
  } else {
    const whole = listed ? `本单位批次清单更新于${ago(listed)}（${when(listed)}）；` : "";
    $("cache-state").textContent =
      `本机保存了 ${kept.length} 个批次，离线也能打开。${whole}最旧的一份是${ago(oldest)}（${when(oldest)}）保存的。`;
  }
  $("cache-list").replaceChildren(...kept.map(({ batch: b, at }) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.dataset.batch = b.id;
    button.textContent = `${b.id} · ${label(b.herb)} · ${named(BATCH_KINDS, b.kind)}（${ago(at).trim()}保存）`;
    button.addEventListener("click", () => open(b.id));
    li.append(button);
    return li;
  }));
}

/** Show the outbox: each signed event, where it stands, and its receipt. */
export function renderOutbox(list) {
  $("outbox").replaceChildren(...list.map((item) => {
    const li = document.createElement("li");
    li.dataset.seq = item.seq;
    li.dataset.status = item.status;
    li.dataset.verified = item.verified ? "1" : "0";
    const where = item.receipt?.payload.index != null ? `，日志 #${item.receipt.payload.index}` : "";
    const why = item.status === "rejected" ? `（${item.receipt.payload.reason}: ${item.receipt.payload.detail}）` : "";
    const checked = item.receipt ? (item.verified ? "，回执已验证" : "，回执验证失败") : "";
    li.textContent = `第 ${item.seq} 条 ${named(EVENT_TYPES, item.type)} · 批次 ${item.batch}：`
      + `${named(OUTBOX_STATUSES, item.status)}${where}${checked}${why}`;
    return li;
  }));
}
