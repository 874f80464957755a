// The outbox: signed envelopes wait here (IndexedDB) until POST /v1/events answers. Sending
// goes in sequence order and stops at the first network failure, so an offline handheld
// keeps everything and sends it, in order, when it is back online. Each answer is the log's
// signed receipt, checked against the log key pinned on first use.
//
// Receipt bytes checked: "herbtrace/v1/receipt" || 0x0A || RFC 8785(receipt payload).

import { concatBytes, decodeBase64, ed25519Verify, utf8 } from "/static/verify/bytes.js";
import { parseVerifierKey } from "/static/verify/note.js";
import { canonicalJson } from "./jcs.js";
import { all, get, put } from "./store.js";

const RECEIPT_PREFIX = utf8("herbtrace/v1/receipt\n");

/** Queue a signed envelope ({seq, hash, text}) with what it is about, for display. */
export async function enqueue(signed, batch, type) {
  await put("outbox", { ...signed, batch, type, status: "pending", receipt: null });
}

/** Every queued envelope, by sequence number. */
export function items() {
  return all("outbox");
}

/** The log's verifier key: pinned in IndexedDB on first use, fetched from the server then. */
async function logKey() {
  let vkey = await get("device", "log");
  if (!vkey) {
    const response = await fetch("/v1/log/key");
    if (!response.ok) throw new Error(`log key: HTTP ${response.status}`);
    vkey = (await response.text()).trim();
    await put("device", vkey, "log");
  }
  return parseVerifierKey(vkey);
}

async function checkReceipt(receipt, hash) {
  const key = await logKey();
  const message = concatBytes(RECEIPT_PREFIX, utf8(canonicalJson(receipt.payload)));
  const ok = await ed25519Verify(key.publicKey, message, decodeBase64(receipt.sig, "receipt sig"));
  return ok && receipt.payload.envelope_hash === hash;
}

/** Send every pending envelope in order; resolves to how many got an answer. */
export async function sync() {
  let answered = 0;
  for (const item of await items()) {
    if (item.status !== "pending") continue;
    let response;
    try {
      response = await fetch("/v1/events", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: item.text,
      });
    } catch {
      break; // offline: keep it, and everything after it, for later
    }
    if (![200, 201, 422].includes(response.status)) break; // rate-limited or server trouble
    const receipt = await response.json();
    item.receipt = receipt;
    item.verified = await checkReceipt(receipt, item.hash);
    item.status = receipt.payload.status;
    await put("outbox", item);
    answered += 1;
  }
  return answered;
}
