// The consumer page's script: verify the page's facts in this browser, and record the scan.
//
// Verification: fetch the batch's trace proof bundle (/v1/batches/{batch}/proofs?scope=trace)
// and check it with verifyBundle against the log key pinned in the page's
// <meta name="herbtrace-log-key">; then check that every log entry the page shows is in the
// bundle, verified, and of the type the page says ("facts"). The verdict (#verdict) turns
// green only when every check passes, red naming the first failed check otherwise.
//
// Scan: a unit's page posts {gtin, lot, serial, place?} to /v1/scans once per browser tab
// (sessionStorage keeps the answer, so a reload or the language switch is no new scan). `place`
// is sent only if the browser's geolocation gives one (the browser asks the visitor first),
// rounded here to 0.1°; the answer says when and roughly where the code was first scanned,
// and warns when it has been scanned too widely.

import { VerificationError } from "/static/verify/bytes.js";
import { batchProofsPath, pinnedLogKey, verifyBundle } from "/static/verify/verify.js";
import { createBadge, showResult } from "/static/verify/badge.js";

const GEOLOCATION_WAIT_MS = 8000;
const BUNDLE_TRIES = 5;
const BUNDLE_RETRY_MS = 1200;

const data = JSON.parse(document.getElementById("herbtrace-facts").textContent);
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
      return { kind: "facts", index: shown.index, name: t("facts_check"), ok: false,
        detail: t("facts_missing", { index: shown.index, type: shown.type }) };
    }
  }
  return { kind: "facts", index: null, name: t("facts_check"), ok: true,
    detail: t("facts_ok", { n: data.entries.length }) };
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

async function verify() {
  try {
    if (!data.batch) throw new VerificationError("no batch is recorded for these facts");
    const logKey = pinnedLogKey(document);
    const bundle = await fetchTraceBundle(data.batch);
    const result = await verifyBundle(bundle, logKey);
    result.checks.push(factsCheck(result));
    result.ok = result.checks.every((c) => c.ok);
    showResult(createBadge(document.getElementById("badge")), result);
    const failed = result.checks.find((c) => !c.ok);
    if (failed) {
      paintVerdict("red", t("verify_red", { check: failed.name }), failed.kind, failed.detail);
    } else {
      paintVerdict("green", t("verify_green", { n: result.checks.length }));
    }
  } catch (err) {
    paintVerdict("red", t("verify_error", { reason: err && err.message ? err.message : String(err) }), "error");
  }
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
  count.textContent = t("scan_count", { scans: scan.number, scanners: scan.scanners });
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
    first.textContent = t("scan_failed", { reason: err && err.message ? err.message : String(err) });
    first.dataset.failed = "true";
  }
}

await Promise.all([verify(), data.serial ? recordScan() : Promise.resolve()]);
document.body.dataset.done = "1";
