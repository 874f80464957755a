// The handheld page: scan a batch → see it → record the next event signed by this device's
// key → it queues in IndexedDB and is sent to POST /v1/events whenever the handheld is online.

import { loadDevice, saveEnrolment, signNext } from "./device.js";
import { decodePhoto, decoderName, gs1Path, scanCamera } from "./scanner.js";
import { enqueue, items, sync } from "./outbox.js";
import {
  CacheError, fetchBatch, keptBatch, keptBatches, keptNames, listedAt, refreshAll, refreshKept,
} from "./cache.js";
import { FormError, bodyOf, choiceLabel, loadForms, renderForm, summaryOf, valuesOf } from "./forms.js";
import { EVENT_TYPES, named } from "./labels.js";
import { renderCard, renderKept, renderOutbox } from "./views.js";

const $ = (id) => document.getElementById(id);
let device;
let batch = null; // the active batch: events are recorded onto it, and only onto it
let opening = 0; // counts lookups, so that only the latest one may set the active batch
let spec = null; // the forms, the event schema and the catalogue's names (forms.js)
let names = {}; // organisation and site names by ID, kept by the last download
let shown = null; // what the batch card shows: {batch, events, at, kept}

/** A failure explained for the grower, in Chinese; anything else is put in plain words. */
class Problem extends Error {}

/** What to tell the grower about `err`: never a raw JavaScript message. */
function explain(err) {
  if (err instanceof Problem) return err.message;
  if (err instanceof TypeError) return "连不上服务器，请检查网络后重试。";
  if (err instanceof SyntaxError) return "服务器的回答无法读取，请稍后重试。";
  return "操作没有完成，请重试。";
}

function say(text, tone = "error") {
  $("message").textContent = text;
  $("message").dataset.tone = tone;
}

function fail(err) {
  say(explain(err));
}

/** The batch ID in a scanned code: a handheld link (?batch=), a Digital Link, a GS1 element
 * string (as a GS1 DataMatrix holds it), or the ID itself. */
async function batchIdOf(code) {
  const text = code.trim();
  let path = gs1Path(text);
  if (!path) {
    let url;
    try {
      url = new URL(text, location.href);
    } catch {
      return text;
    }
    if (!/^https?:/.test(text)) return text;
    if (url.searchParams.get("batch")) return url.searchParams.get("batch");
    path = url.pathname;
  }
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Problem(`这个码查不到批次（HTTP ${response.status}），请换一个码或输入批号。`);
  const facts = await response.json();
  if (!facts.batch) throw new Problem("这个码没有对应的批次，请输入批号。");
  return facts.batch;
}

/** Show what is kept for offline use, how old it is, and a button to open each batch. */
async function showKept() {
  renderKept(await keptBatches(), await listedAt(), label, (id) => {
    $("scan-input").value = id;
    openBatch(id).catch(fail);
  });
}

/** Download the organisation's batches with an operator's token (used once, not kept). */
async function downloadBatches(token) {
  if (!device.enrolment) throw new Problem("请先登记本机 enrol this device first");
  say("正在下载本单位的批次…", "info");
  try {
    const count = await refreshAll(token, device.enrolment.organisation);
    say(`已保存本单位 ${count} 个批次，离线也能打开。`, "info");
  } catch (err) {
    if (!(err instanceof CacheError)) throw err;
    if (err.status === 0) throw new Problem("连不上服务器，批次没有下载。联网后再试。");
    if (err.status === 401 || err.status === 403) throw new Problem("令牌无效或无权查看本单位批次，没有下载。");
    throw new Problem(`服务器暂时无法回答（HTTP ${err.status}），批次没有下载。`);
  } finally {
    names = await keptNames();
    showDevice();
    if (shown) setBatch(shown); // the same batch, now with the names
    await showKept();
  }
}

let keptRefreshed = 0;
/** Bring the kept batches up to date (at most once a minute) while online. */
async function refreshKeptNow() {
  if (!navigator.onLine || Date.now() - keptRefreshed < 60000) return;
  keptRefreshed = Date.now();
  await refreshKept();
  await showKept();
}

function showDevice() {
  $("device-id").textContent = device.id;
  const enrolled = device.enrolment;
  $("device-state").textContent = enrolled
    ? `${named(names, enrolled.organisation)} · ${named(names, enrolled.site)}` : "未登记 not enrolled";
  $("enrol-form").hidden = Boolean(enrolled);
  $("create").hidden = !enrolled;
  showForm("create");
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
  if (response.status !== 201) return say(`登记被拒绝 enrolment refused: ${answer.reason}`);
  const token = $("enrol-token").value.trim();
  $("enrol-token").value = "";
  await saveEnrolment(device, { organisation, site });
  showDevice();
  say("");
  await downloadBatches(token);
}

/** Show `found` (a batch and its events) as the active batch, or no batch when null. */
function setBatch(found) {
  batch = found ? found.batch : null;
  shown = found;
  $("batch").hidden = !batch;
  $("record").hidden = !batch;
  showForm("record");
  $("batch").dataset.batch = batch ? batch.id : "";
  if (!batch) {
    $("batch-id").textContent = "";
    $("batch-card").replaceChildren();
    $("batch-events").replaceChildren();
    return;
  }
  renderCard(found, names, label);
}

/** The Chinese name of a code (herb, unit, choice) from the forms' labels and catalogue. */
function label(code) {
  return spec ? choiceLabel(spec, code) : code;
}

/**
 * Batch `id` as {batch, events, at, kept}: from the server when it answers (and then kept
 * for offline use), else the copy kept on this device (`kept` true). A Problem names the
 * batch when neither has it; a batch the server does not know is never taken from the copy.
 */
async function lookUp(id) {
  try {
    return { ...(await fetchBatch(id)), kept: false };
  } catch (err) {
    if (!(err instanceof CacheError)) throw err;
    if (err.status === 404) throw new Problem(`查无批次 ${id}，请核对批号。`);
    if (err.status === 422) throw new Problem(`“${id}” 不是有效的批号，请核对。`);
    const kept = await keptBatch(id);
    if (kept) return { ...kept, kept: true };
    if (err.status === 0) throw new Problem(`离线，本机没有保存批次 ${id}，没有打开。联网后再试。`);
    throw new Problem(`服务器暂时无法回答（HTTP ${err.status}），本机也没有保存批次 ${id}。`);
  }
}

/**
 * Open batch `id`. The previous batch is closed first, whatever happens next: a lookup that
 * fails leaves no batch open, so nothing can be recorded onto the one opened before.
 */
async function openBatch(id) {
  const mine = ++opening;
  setBatch(null);
  history.replaceState(null, "", location.pathname);
  say(`正在打开批次 ${id}…`, "info");
  try {
    const found = await lookUp(id);
    if (mine !== opening) return;
    setBatch(found);
    history.replaceState(null, "", `?batch=${encodeURIComponent(found.batch.id)}`);
    say("");
    if (!found.kept) await showKept(); // it is kept now
  } catch (err) {
    if (mine === opening) fail(err);
  }
}

/** What the fixed fields of a form come from: the open batch and this device's site. */
function formContext() {
  const now = new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString();
  return { batch, site: device.enrolment?.site, names, today: now.slice(0, 10), now: now.slice(0, 16) };
}

const FORM_PARTS = {
  record: { select: "event-type", fields: "record-fields", form: "record-form" },
  create: { select: "create-type", fields: "create-fields", form: "create-form" },
};

/** Offer the forms: those that record onto the open batch, and those that make a new one. */
function offerForms() {
  const option = (value, text) => Object.assign(document.createElement("option"), { value, textContent: text });
  $("event-type").replaceChildren(...spec.forms.filter((f) => !f.creates).map((f) => option(f.id, f.label)),
    option("custom", "其他（高级：事件 JSON）"));
  $("create-type").replaceChildren(...spec.forms.filter((f) => f.creates).map((f) => option(f.id, f.label)));
  showForm("record");
  showForm("create");
}

/** Draw the chosen form of `which` ("record" or "create") for the open batch. */
function showForm(which) {
  if (!spec) return;
  const parts = FORM_PARTS[which];
  const id = $(parts.select).value;
  const custom = id === "custom";
  if (which === "record") $("custom-label").hidden = !custom;
  $(parts.fields).hidden = custom;
  $(parts.form).dataset.form = id;
  const form = spec.forms.find((f) => f.id === id);
  if (form) renderForm($(parts.fields), spec, form, formContext());
}

async function showOutbox() {
  renderOutbox(await items());
}

/** Reload the active batch after new entries; keep it as it is if that fails. */
async function refreshBatch() {
  if (!batch) return;
  const id = batch.id;
  const mine = opening;
  try {
    const found = await fetchBatch(id);
    if (mine === opening && batch?.id === id) setBatch({ ...found, kept: false });
  } catch {
    // offline again: the card stays as it was
  }
}

let syncing = false;
async function syncNow() {
  if (syncing) return;
  syncing = true;
  try {
    if ((await sync()) > 0) await refreshBatch(); // show the new entries
  } catch (err) {
    say(`发送没有完成，稍后自动重试。${explain(err)}`);
  } finally {
    syncing = false;
    await showOutbox();
  }
}

/** The batch IDs an event body names (what it is recorded on, made from or ships). */
export function namedBatches(body) {
  const ids = [body.batch, body.origin, body.herd, body.packed_batch, ...(body.batches || []),
    ...(body.inputs || []).map((p) => p?.batch), ...(body.outputs || []).map((p) => p?.batch)];
  return [...new Set(ids.filter((id) => typeof id === "string"))];
}

/** Ask the grower to confirm signing `body` for batch `target`; resolves true or false. */
function confirmSigning(target, label, body, summary) {
  const dialog = $("confirm");
  $("confirm-batch").textContent = target;
  $("confirm-type").textContent = label;
  $("confirm-fields").replaceChildren(...summary.flatMap(([k, v]) => {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = k;
    dd.textContent = v;
    return [dt, dd];
  }));
  const named = namedBatches(body);
  $("confirm-named").textContent = named.join("、") || "（无）";
  $("confirm-other").hidden = named.includes(target);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "sign"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

/** The body, its label and summary from form `which`; a Problem when it cannot be made. */
function bodyFromForm(which) {
  const id = $(FORM_PARTS[which].select).value;
  if (id === "custom") {
    try {
      const body = JSON.parse($("custom-body").value);
      return { body, label: named(EVENT_TYPES, body?.type), summary: [] };
    } catch {
      throw new Problem("事件 JSON 格式有误，请检查。");
    }
  }
  if (!spec) throw new Problem("表单没有加载，请联网后刷新页面。");
  const form = spec.forms.find((f) => f.id === id);
  const values = valuesOf($(FORM_PARTS[which].fields), form);
  try {
    return { body: bodyOf(spec, form, values, formContext()), label: form.label, summary: summaryOf(spec, form, values) };
  } catch (err) {
    if (!(err instanceof FormError)) throw err;
    $(FORM_PARTS[which].fields).querySelector(`[data-path="${err.path}"]`)?.focus();
    throw new Problem(err.message);
  }
}

/**
 * Sign and queue the event of form `which`: "record" records onto the open batch, "create"
 * makes a new batch. The grower confirms the batch it is for before anything is signed.
 */
async function record(event, which) {
  event.preventDefault();
  if (!device.enrolment) return say("请先登记本机 enrol this device first");
  if (which === "record" && !batch) return say("请先打开一个批次，再记录。");
  const { body, label, summary } = bodyFromForm(which);
  const target = which === "record" ? batch.id : String(body.batch || body.herd);
  if (!(await confirmSigning(target, label, body, summary))) return say("已取消，没有签名。", "info");
  if (which === "record" && batch?.id !== target) return say("批次已更换，没有签名，请重新确认。");
  const signed = await signNext(device, body);
  await enqueue(signed, target, body.type);
  say(`已签名，记录在批次 ${target}。`, "info");
  await showOutbox();
  await syncNow();
}

function showNetwork() {
  $("net-status").dataset.online = navigator.onLine ? "1" : "0";
  $("net-status").textContent = navigator.onLine ? "在线 online" : "离线 offline";
}

/** Open the batch a scanned or typed code names; the previous batch is closed first. */
async function openCode(code) {
  const mine = ++opening;
  setBatch(null);
  let id;
  try {
    id = await batchIdOf(code);
  } catch (err) {
    if (mine === opening) fail(err);
    return;
  }
  if (mine === opening) await openBatch(id);
}

/** Open the batch whose code `text` a scan read, showing the code in the scan box. */
function openScanned(text) {
  $("scan-input").value = text;
  return openCode(text);
}

let cameraStop = null;
/** Scan with the camera until a code is seen or the grower stops it. */
async function scanWithCamera() {
  if (cameraStop) return;
  if (!navigator.mediaDevices?.getUserMedia) throw new Problem("这个浏览器不能使用摄像头，请用“拍照识别”或输入批号。");
  cameraStop = new AbortController();
  $("camera").hidden = false;
  say(`请把批次码对准摄像头（${await decoderName()}）…`, "info");
  let text;
  try {
    text = await scanCamera($("camera-video"), cameraStop.signal);
  } catch (err) {
    if (err?.name === "NotAllowedError") throw new Problem("没有摄像头权限，请在浏览器设置中允许，或用“拍照识别”。");
    if (err?.name === "NotFoundError") throw new Problem("没有找到摄像头，请用“拍照识别”或输入批号。");
    throw new Problem("摄像头没有打开，请用“拍照识别”或输入批号。");
  } finally {
    cameraStop = null;
    $("camera").hidden = true;
  }
  if (text) await openScanned(text);
  else say("");
}

/** Read the code in a photo the grower took or picked. */
async function scanPhoto(file) {
  if (!file) return;
  say("正在识别照片中的码…", "info");
  let text;
  try {
    text = await decodePhoto(file);
  } catch {
    throw new Problem("照片没有识别成功，请重拍或输入批号。");
  }
  if (!text) throw new Problem("照片里没有找到二维码或 DataMatrix 码，请靠近一些重拍。");
  await openScanned(text);
}

/** Have the service worker keep the page for use with no signal (where browsers allow it). */
async function keepOffline() {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("/handheld/sw.js", { scope: "/handheld" });
    document.body.dataset.offlineReady = "1";
  } catch {
    // not over HTTPS, or refused: the page still works while online
  }
}

async function start() {
  keepOffline();
  device = await loadDevice();
  names = await keptNames();
  try {
    spec = await loadForms();
  } catch {
    say("表单没有加载，请联网后刷新页面。");
  }
  showDevice();
  if (spec) offerForms();
  $("enrol-form").addEventListener("submit", (e) => enrol(e).catch(fail));
  $("scan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    openCode($("scan-input").value).catch(fail);
  });
  $("record-form").addEventListener("submit", (e) => record(e, "record").catch(fail));
  $("create-form").addEventListener("submit", (e) => record(e, "create").catch(fail));
  $("event-type").addEventListener("change", () => showForm("record"));
  $("create-type").addEventListener("change", () => showForm("create"));
  $("scan-camera").addEventListener("click", () => scanWithCamera().catch(fail));
  $("camera-stop").addEventListener("click", () => cameraStop?.abort());
  $("scan-photo").addEventListener("change", (e) => {
    scanPhoto(e.target.files[0]).catch(fail).finally(() => { e.target.value = ""; });
  });
  $("cache-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("cache-token").value.trim();
    $("cache-token").value = "";
    downloadBatches(token).catch(fail);
  });
  addEventListener("online", () => { showNetwork(); syncNow().then(refreshKeptNow).catch(fail); });
  addEventListener("offline", showNetwork);
  setInterval(syncNow, 5000);
  showNetwork();
  await showOutbox();
  await showKept();
  const wanted = new URLSearchParams(location.search).get("batch");
  if (wanted) {
    $("scan-input").value = wanted;
    await openBatch(wanted);
  }
  document.body.dataset.ready = "1";
  syncNow().then(refreshKeptNow).catch(fail);
}

start().catch(fail);
