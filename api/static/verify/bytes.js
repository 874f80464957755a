// Byte helpers for the browser verifier: strict base64, hex, UTF-8, SHA-256 and Ed25519.
//
// Everything here runs on the browser's own primitives (atob/btoa, TextEncoder/TextDecoder,
// WebCrypto), so the verifier has no dependency that the server could swap.

/** A check that failed; `message` says what was expected and what was found. */
export class VerificationError extends Error {
  constructor(message) {
    super(message);
    this.name = "VerificationError";
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Encode bytes as standard, padded base64 (RFC 4648 §4). */
export function encodeBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Decode canonical standard base64 (padded, no whitespace, unused bits zero) or throw. */
export function decodeBase64(text, what) {
  if (typeof text !== "string" || !BASE64.test(text)) {
    throw new VerificationError(`${what} is not standard base64`);
  }
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  if (encodeBase64(bytes) !== text) {
    throw new VerificationError(`${what} is not canonical base64`);
  }
  return bytes;
}

/** Return lowercase hex of bytes. */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Return the concatenation of byte arrays. */
export function concatBytes(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Tell whether two byte arrays are equal. */
export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Return the UTF-8 bytes of a string. */
export function utf8(text) {
  return new TextEncoder().encode(text);
}

/** Decode strict UTF-8 (throws VerificationError on malformed bytes). */
export function fromUtf8(bytes, what) {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new VerificationError(`${what} is not valid UTF-8`);
  }
}

/** Return SHA-256(data) as a Uint8Array, computed by WebCrypto. */
export async function sha256(data) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

/**
 * Return whether `signature` (64 bytes) is a valid RFC 8032 Ed25519 signature of `message`
 * by the raw 32-byte `publicKey`, checked by WebCrypto. Throws VerificationError when the
 * browser has no Ed25519, so that "cannot check" is never reported as "invalid".
 */
export async function ed25519Verify(publicKey, message, signature) {
  if (publicKey.length !== 32) {
    throw new VerificationError(`Ed25519 public key is ${publicKey.length} bytes, want 32`);
  }
  if (signature.length !== 64) return false;
  let key;
  try {
    key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch (err) {
    if (err && err.name === "NotSupportedError") {
      throw new VerificationError("this browser's WebCrypto has no Ed25519: cannot verify");
    }
    throw new VerificationError(`the public key is not a valid Ed25519 key: ${err}`);
  }
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
}
