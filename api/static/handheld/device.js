// The device: an Ed25519 key made by WebCrypto in this browser, its key ID, and its own
// chain of signed envelopes (seq counts up from 1; prev is the previous envelope's hash).
//
// Bytes signed (docs/protocol.md): "herbtrace/v1/envelope" || 0x0A || RFC 8785(payload).
// Envelope hash (the next prev): hex SHA-256(RFC 8785(payload)).
// Key ID (the device ID): hex of SHA-256(raw 32-byte public key)[0:16].

import { concatBytes, encodeBase64, sha256, toHex, utf8 } from "/static/verify/bytes.js";
import { canonicalJson } from "./jcs.js";
import { get, put } from "./store.js";

const SIGNING_PREFIX = utf8("herbtrace/v1/envelope\n");
const GENESIS_PREV = "0".repeat(64);

/** Load this browser's device, creating its key pair on first use. */
export async function loadDevice() {
  let device = await get("device", "self");
  if (!device) {
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    device = {
      privateKey: pair.privateKey,
      publicKey: encodeBase64(raw),
      id: toHex((await sha256(raw)).slice(0, 16)),
      seq: 0,
      prev: GENESIS_PREV,
      enrolment: null,
    };
    await put("device", device, "self");
  }
  return device;
}

/** Remember the device's enrolment (organisation, site). */
export async function saveEnrolment(device, enrolment) {
  device.enrolment = enrolment;
  await put("device", device, "self");
}

/**
 * Sign `body` as the device's next envelope, advance its chain and return
 * {seq, hash, text}: `text` is the envelope's JSON exactly as it will be sent.
 */
export async function signNext(device, body) {
  const payload = {
    v: 1,
    signer: device.id,
    seq: device.seq + 1,
    prev: device.prev,
    time: new Date().toISOString(),
    body,
  };
  const canonical = utf8(canonicalJson(payload));
  const sig = await crypto.subtle.sign(
    { name: "Ed25519" },
    device.privateKey,
    concatBytes(SIGNING_PREFIX, canonical),
  );
  const hash = toHex(await sha256(canonical));
  device.seq = payload.seq;
  device.prev = hash;
  await put("device", device, "self");
  const text = `{"payload":${canonicalJson(payload)},"sig":${JSON.stringify(encodeBase64(new Uint8Array(sig)))}}`;
  return { seq: payload.seq, hash, text };
}
