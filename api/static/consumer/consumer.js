// The consumer page's script: verify the page's facts in this browser, record the scan, and
// settle the product verdict.
//
// Two verdicts, never confused. The product verdict (#product-verdict) comes first and says
// what the records mean for this product: recalled or failed a test (decided by the server
// from the records, and final), else fine to use, or "this code looks copied" once the scan
// answer warns, or "the records did not verify" when they fail the check below.
//
// The records verdict (#verdict) comes second: fetch the batch's trace proof bundle
// (/v1/batches/{batch}/proofs?scope=trace) and check it with verifyBundle against the log key
// pinned in the page's <meta name="herbtrace-log-key">; then check that every log entry the
// page shows is in the bundle, verified, and of the type the page says ("facts"). It says
// "records intact" only when every check passes, and names the first failed check otherwise;
// #checks lists each kind of check in the page's language.
//
// Scan: a unit's page posts {gtin, lot, serial, place?} to /v1/scans once per browser tab
// (sessionStorage keeps the answer, so a reload or the language switch is no new scan). `place`
// is sent only if the browser's geolocation gives one (the browser asks the visitor first),
// rounded here to 0.1°; the answer says when and roughly where the code was first scanned,
// and warns when it has been scanned too widely.

import { VerificationError } from "/static/verify/bytes.js";
import { batchProofsPath, pinnedLogKey, verifyBundle } from "/static/verify/verify.js";

const GEOLOCATION_WAIT_MS = 8000;
const BUNDLE_TRIES = 5;
const BUNDLE_RETRY_MS = 1200;

const data = JSON.parse(document.getElementById("herbtrace-facts").textContent);
/** What the product verdict depends on besides the server's: the scan and the records check. */
const seen = { scanned: !data.serial, copied: false, recordsOk: null };
const messages = JSON.parse(document.getElementById("herbtrace-messages").textContent);

/** The message `key` with each `{name}` replaced by values[name]. */
function t(key, values = {}) {
  let text = Object.hasOwn(messages, key) ? messages[key] : key;
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- verification -----------------------------------------------------------------------

/** Fetch the batch's trace bundle, waiting for a checkpoint that covers its newest entries. */
async function fetchTraceBundle(batch) {
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(batchProofsPath(batch, "trace"));
    let body;
    try {
      body = await response.json();
    } catch {
      throw new VerificationError(`the server answered ${response.status} without JSON`);
    }
    if (response.ok) return body;
    const uncovered = response.status === 404 && /not covered by the latest checkpoint|no checkpoint/.test(body.reason || "");
    if (!uncovered || attempt >= BUNDLE_TRIES) throw new VerificationError(body.reason || `HTTP ${response.status}`);
    await sleep(BUNDLE_RETRY_MS); // the log signs a checkpoint at least every second while it grows
  }
}

/** The "facts" check: each entry the page shows is in the result, verified, of its type. */
function factsCheck(result) {
  const verified = new Map(result.entries.filter((e) => e.ok).map((e) => [e.index, e]));
  for (const shown of data.entries) {
    const entry = verified.get(shown.index);
    const type = entry && entry.payload && entry.payload.body && entry.payload.body.type;
    if (type !== shown.type) {
      return { kind: "facts", index: shown.index, name: "records shown on this page", ok: false,
        detail: `entry ${shown.index} (${shown.type}) is not among the verified proofs, or differs from them` };
    }
  }
  return { kind: "facts", index: null, name: "records shown on this page", ok: true,
    detail: `all ${data.entries.length} entries shown on this page are in the verified log` };
}

/** Show the verdict: its state, a headline, and the failed check's detail (if any). */
function paintVerdict(state, headline, failedKind = "", detail = "") {
  const verdict = document.getElementById("verdict");
  verdict.dataset.state = state;
  verdict.dataset.failed = failedKind;
  const title = document.createElement("span");
  title.className = "verdict-title";
  title.textContent = headline;
  const parts = [title];
  if (detail) {
    const small = document.createElement("small");
    small.className = "verdict-detail";
    small.textContent = detail;
    parts.push(small);
  }
  verdict.replaceChildren(...parts);
}

/** Each kind of check once, in the page's language: passed by all, or the first failure. */
function showChecks(checks) {
  const kinds = [];
  for (const check of checks) if (!kinds.includes(check.kind)) kinds.push(check.kind);
  document.getElementById("checks").replaceChildren(...kinds.map((kind) => {
    const all = checks.filter((c) => c.kind === kind);
    const failed = all.find((c) => !c.ok);
    const item = document.createElement("li");
    item.dataset.kind = kind;
    item.dataset.ok = String(!failed);
    const name = document.createElement("strong");
    name.textContent = `${failed ? "✘" : "✔"} ${t(`check.${kind}`)}`;
    const detail = document.createElement("span");
    if (failed) {
      item.dataset.index = failed.index === null ? "" : String(failed.index);
      item.dataset.detail = failed.detail; // the verifier's own words, for whoever investigates
      detail.textContent = failed.index === null ? t("check.failed_any") : t("check.failed", { index: failed.index });
    } else {
      detail.textContent = t(`check.${kind}.ok`, { n: all.length });
    }
    item.append(name, " ", detail);
    return item;
  }));
}

async function verify() {
  try {
    if (!data.batch) throw new VerificationError("no batch is recorded for these facts");
    const logKey = pinnedLogKey(document);
    const bundle = await fetchTraceBundle(data.batch);
    const result = await verifyBundle(bundle, logKey);
    result.checks.push(factsCheck(result));
    result.ok = result.checks.every((c) => c.ok);
    showChecks(result.checks);
    const failed = result.checks.find((c) => !c.ok);
    if (failed) {
      const where = failed.index === null ? t("check.failed_any") : t("check.failed", { index: failed.index });
      paintVerdict("red", t("verify_red", { check: t(`check.${failed.kind}`) }), failed.kind, where);
    } else {
      paintVerdict("green", t("verify_green", { n: result.checks.length }));
    }
    seen.recordsOk = result.ok;
  } catch (err) {
    paintVerdict("red", t("verify_error"), "error");
    document.getElementById("verdict").dataset.reason = err && err.message ? err.message : String(err);
  }
  settleProductVerdict();
}

/** The product verdict from the server's and what this page learnt: recalled and failed are
 * final; otherwise records that do not verify, then a copied code, then fine to use. */
function settleProductVerdict() {
  const box = document.getElementById("product-verdict");
  if (data.verdict === "recalled" || data.verdict === "failed") return;
  let kind = "ok";
  if (seen.recordsOk === false) kind = "unverified";
  else if (seen.copied) kind = "copied";
  else if (!seen.scanned) kind = "pending";
  if (box.dataset.verdict === kind) return;
  box.dataset.verdict = kind;
  document.getElementById("product-verdict-title").textContent = t(`verdict.${kind}.title`);
  const unit = data.serial && (kind === "ok" || kind === "pending") ? "_unit" : "";
  document.getElementById("product-verdict-detail").textContent = t(`verdict.${kind}.advice${unit}`);
  const retest = document.getElementById("verdict-retest");
  if (retest) retest.hidden = kind !== "ok" && kind !== "pending";
}

// --- the scan ------------------------------------------------------------------------------

/** The visitor's place rounded to 0.1° if the browser gives it (with consent), else null. */
async function roughPlace() {
  if (!("geolocation" in navigator)) return null;
  try {
    if (navigator.permissions) {
      const status = await navigator.permissions.query({ name: "geolocation" });
      if (status.state === "denied") return null;
    }
  } catch {
    // browsers without the Permissions API for geolocation just ask
  }
  const position = new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude.toFixed(1), lon: p.coords.longitude.toFixed(1) }),
      () => resolve(null),
      { enableHighAccuracy: false, maximumAge: 600000, timeout: GEOLOCATION_WAIT_MS },
    );
  });
  return Promise.race([position, sleep(GEOLOCATION_WAIT_MS + 500).then(() => null)]);
}

function placeText(place) {
  const lat = Number(place.lat);
  const lon = Number(place.lon);
  return `${Math.abs(lat).toFixed(1)}°${lat < 0 ? "S" : "N"} ${Math.abs(lon).toFixed(1)}°${lon < 0 ? "W" : "E"}`;
}

function timeText(iso) {
  const options = { year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(data.lang, options).format(new Date(iso));
}

function showScan(scan) {
  const first = document.getElementById("scan-first");
  first.dataset.number = String(scan.number);
  if (scan.number === 1) {
    first.textContent = t("scan_first_now");
  } else {
    const place = scan.first.place ? t("scan_near", { place: placeText(scan.first.place) }) : t("scan_place_unknown");
    first.textContent = t("scan_first", { time: timeText(scan.first.at), place });
  }
  first.dataset.firstAt = scan.first.at;
  const count = document.getElementById("scan-count");
  const counted = scan.scanners === 1 ? "scan_count_one_network" : "scan_count";
  count.textContent = scan.number === 1 ? "" : t(counted, { scans: scan.number, scanners: scan.scanners });
  const banner = document.getElementById("scan-warning");
  const list = document.getElementById("scan-warning-list");
  list.replaceChildren(...scan.warnings.map((w) => {
    const item = document.createElement("li");
    item.dataset.signal = w.signal;
    item.textContent = t(`warn.${w.signal}`, { observed: w.observed, limit: w.limit });
    return item;
  }));
  banner.hidden = scan.warnings.length === 0;
  document.getElementById("scan-reported").hidden = !scan.alerted;
  seen.scanned = true;
  seen.copied = scan.warnings.length > 0;
  settleProductVerdict();
}

/** This tab's earlier answer for the unit: a reload or a language switch is not a new scan. */
function earlierScan(key) {
  try {
    const stored = sessionStorage.getItem(key);
    return stored ? JSON.parse(stored) : null;
  } catch {
    return null; // storage disabled: every load is a scan
  }
}

async function recordScan() {
  const first = document.getElementById("scan-first");
  const key = `herbtrace-scan:${data.gtin}/${data.lot}/${data.serial}`;
  const earlier = earlierScan(key);
  if (earlier) {
    showScan(earlier);
    return;
  }
  try {
    const place = await roughPlace();
    const body = { gtin: data.gtin, lot: data.lot, serial: data.serial, ...(place ? { place } : {}) };
    const response = await fetch("/v1/scans", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.reason || `HTTP ${response.status}`);
    showScan(answer);
    try {
      sessionStorage.setItem(key, JSON.stringify(answer));
    } catch {
      // storage full or disabled: the next load counts again
    }
  } catch (err) {
    first.textContent = t("scan_failed");
    first.dataset.failed = "true";
    first.dataset.reason = err && err.message ? err.message : String(err);
    seen.scanned = true;
    settleProductVerdict();
  }
}

await Promise.all([verify(), data.serial ? recordScan() : Promise.resolve()]);
document.body.dataset.done = "1";
