// Chinese names for the codes a batch and its events carry: event types, batch kinds,
// statuses and quality, and the date an event happened on (from its body, not from when
// it was recorded). Herb names come from the catalogue, organisation and site names from
// the names kept by the last download; an unknown code is shown as it is.

export const EVENT_TYPES = {
  organisation: "单位登记", site: "场所登记", planting: "种植", husbandry: "养殖",
  cultivation_input: "施肥/用药", harvest: "采收", fresh_processing: "产地趁鲜加工",
  processing: "炮制", split: "分批", merge: "合批", pack: "包装赋码", quality_test: "质量检验",
  sensor_reading: "温湿度读数", ship: "发货", receive: "收货", retail_sale: "零售",
  recall: "召回", alert: "预警",
};

export const BATCH_KINDS = {
  planting: "种植批次", herd: "畜群", harvest: "采收批次", processed: "加工批次",
  split: "分批批次", merged: "合批批次", packed: "包装批次",
};

export const STATUSES = { active: "正常", consumed: "已用完", recalled: "已召回" };

export const QUALITIES = { untested: "未检验", passed: "检验合格", failed: "检验不合格" };

export const OUTBOX_STATUSES = {
  pending: "待发送", accepted: "已入日志", duplicate: "已入日志（重复发送）", rejected: "被拒绝",
};

const DATE_FIELDS = [
  "planted_on", "on", "applied_on", "harvested_on", "started_on", "packed_on", "tested_on",
  "shipped_on", "received_on", "sold_on",
];

/** The date an event happened on: its body's date, else its first reading's, else null. */
export function eventDate(body) {
  for (const field of DATE_FIELDS) if (typeof body?.[field] === "string") return body[field];
  const at = body?.readings?.[0]?.at;
  return typeof at === "string" ? at.slice(0, 10) : null;
}

/** `code` looked up in `table`, else the code itself. */
export function named(table, code) {
  return (code != null && table?.[code]) || code || "—";
}

/** An event type's name, with the husbandry activity when there is one. */
export function eventName(body, choiceLabel) {
  const name = named(EVENT_TYPES, body?.type);
  return body?.type === "husbandry" && body.activity ? `${name}（${choiceLabel(body.activity)}）` : name;
}

/**
 * A batch's events, each with the date it happened on ({event, date, recorded}), ordered
 * by that date and then by log index; an event whose body has no date takes the date it
 * was recorded on (`recorded` true).
 */
export function byEventDate(events) {
  return events
    .map((event) => {
      const date = eventDate(event.body);
      return { event, date: date || event.time.slice(0, 10), recorded: !date };
    })
    .sort((a, b) => a.date.localeCompare(b.date) || a.event.index - b.event.index);
}
