// The handheld page: scan a batch → see it → record the next event signed by this device's
// key → it queues in IndexedDB and is sent to POST /v1/events whenever the handheld is online.

import { loadDevice, saveEnrolment, signNext } from "./device.js";
import { enqueue, items, sync } from "./outbox.js";

const $ = (id) => document.getElementById(id);
let device;
let batch = null;

function say(text) {
  $("message").textContent = text;
}

/** The batch ID in a scanned code: a handheld link (?batch=), a Digital Link, or the ID. */
async function batchIdOf(code) {
  const text = code.trim();
  let url;
  try {
    url = new URL(text, location.href);
  } catch {
    return text;
  }
  if (!/^https?:/.test(text)) return text;
  if (url.searchParams.get("batch")) return url.searchParams.get("batch");
  const response = await fetch(url.pathname, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`the code did not resolve (HTTP ${response.status})`);
  const facts = await response.json();
  if (!facts.batch) throw new Error("the code names no batch");
  return facts.batch;
}

function showDevice() {
  $("device-id").textContent = device.id;
  const enrolled = device.enrolment;
  $("device-state").textContent = enrolled ? `${enrolled.organisation} · ${enrolled.site}` : "未登记 not enrolled";
  $("enrol-form").hidden = Boolean(enrolled);
}

async function enrol(event) {
  event.preventDefault();
  const organisation = $("enrol-organisation").value.trim();
  const site = $("enrol-site").value.trim();
  const response = await fetch("/v1/devices", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${$("enrol-token").value.trim()}` },
    body: JSON.stringify({ public_key: device.publicKey, organisation, site, name: `handheld ${device.id.slice(0, 8)}` }),
  });
  const answer = await response.json();
  if (response.status !== 201) return say(`登记失败 enrolment refused: ${answer.reason}`);
  $("enrol-token").value = "";
  await saveEnrolment(device, { organisation, site });
  showDevice();
  say("");
}

async function openBatch(id) {
  const response = await fetch(`/v1/batches/${encodeURIComponent(id)}`);
  if (!response.ok) return say(`找不到批次 batch not found: ${(await response.json()).reason}`);
  batch = await response.json();
  $("batch-id").textContent = batch.id;
  $("batch").dataset.batch = batch.id;
  const rows = [["药材 herb", batch.herb], ["类型 kind", batch.kind], ["状态 status", batch.status],
    ["剩余 remaining", `${batch.remaining} ${batch.unit}`], ["持有 custodian", batch.custodian]];
  $("batch-card").replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = k;
    dd.textContent = v;
    return [dt, dd];
  }));
  const events = await (await fetch(`/v1/batches/${encodeURIComponent(id)}/events?limit=20`)).json();
  $("batch-events").replaceChildren(...events.items.map((e) => {
    const li = document.createElement("li");
    li.textContent = `#${e.index} ${e.type} · ${e.time.slice(0, 10)}`;
    return li;
  }));
  $("batch").hidden = false;
  $("record").hidden = false;
  history.replaceState(null, "", `?batch=${encodeURIComponent(batch.id)}`);
  say("");
}

function bodyFromForm() {
  if ($("event-type").value === "custom") return JSON.parse($("custom-body").value);
  return {
    type: "cultivation_input",
    batch: batch.id,
    input: $("input-kind").value,
    product: $("product").value.trim(),
    dose: { value: $("dose-value").value.trim(), unit: $("dose-unit").value },
    applied_on: $("applied-on").value,
  };
}

async function showOutbox() {
  const list = await items();
  $("outbox").replaceChildren(...list.map((item) => {
    const li = document.createElement("li");
    li.dataset.seq = item.seq;
    li.dataset.status = item.status;
    li.dataset.verified = item.verified ? "1" : "0";
    const where = item.receipt?.payload.index != null ? ` → 日志 log #${item.receipt.payload.index}` : "";
    const why = item.status === "rejected" ? ` (${item.receipt.payload.reason}: ${item.receipt.payload.detail})` : "";
    li.textContent = `seq ${item.seq} ${item.type} ${item.batch}: ${item.status}${where}${why}`;
    return li;
  }));
}

let syncing = false;
async function syncNow() {
  if (syncing) return;
  syncing = true;
  try {
    if ((await sync()) > 0 && batch) await openBatch(batch.id); // show the new entries
  } catch (err) {
    say(`发送失败 sync failed: ${err.message}`);
  } finally {
    syncing = false;
    await showOutbox();
  }
}

async function record(event) {
  event.preventDefault();
  if (!device.enrolment) return say("请先登记本机 enrol this device first");
  let body;
  try {
    body = bodyFromForm();
  } catch (err) {
    return say(`JSON 有误 bad JSON: ${err.message}`);
  }
  const signed = await signNext(device, body);
  await enqueue(signed, body.batch || batch.id, body.type);
  say("");
  await showOutbox();
  await syncNow();
}

function showNetwork() {
  $("net-status").dataset.online = navigator.onLine ? "1" : "0";
  $("net-status").textContent = navigator.onLine ? "在线 online" : "离线 offline";
}

async function start() {
  device = await loadDevice();
  showDevice();
  $("applied-on").value = new Date().toISOString().slice(0, 10);
  $("enrol-form").addEventListener("submit", (e) => enrol(e).catch((err) => say(err.message)));
  $("scan-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await openBatch(await batchIdOf($("scan-input").value));
    } catch (err) {
      say(err.message);
    }
  });
  $("record-form").addEventListener("submit", (e) => record(e).catch((err) => say(err.message)));
  $("event-type").addEventListener("change", () => {
    const custom = $("event-type").value === "custom";
    $("cultivation-fields").hidden = custom;
    $("custom-label").hidden = !custom;
  });
  addEventListener("online", () => { showNetwork(); syncNow(); });
  addEventListener("offline", showNetwork);
  setInterval(syncNow, 5000);
  showNetwork();
  await showOutbox();
  const wanted = new URLSearchParams(location.search).get("batch");
  if (wanted) {
    $("scan-input").value = wanted;
    try {
      await openBatch(wanted);
    } catch (err) {
      say(err.message);  // offline at start: the outbox still works
    }
  }
  document.body.dataset.ready = "1";
  syncNow();
}

start().catch((err) => say(err.message));
