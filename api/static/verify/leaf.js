// herbtrace log entries: parse the six-line leaf, recompute its leaf hash, check its envelope.
//
// Leaf layout (docs/protocol.md §3), six lines each ending in 0x0A:
//   herbtrace/v1/entry
//   <index, decimal, no leading zeros>
//   <prev: leaf hash of entry index−1, 64 lowercase hex; 64 zeros for entry 0>
//   <received: YYYY-MM-DDTHH:MM:SS.ffffffZ>
//   <sig: the envelope's Ed25519 signature, base64 of 64 bytes>
//   <payload_bytes: the envelope payload as RFC 8785 canonical JSON, UTF-8, never 0x0A>
//
//   leaf_hash      = SHA-256(0x00 || leaf)
//   signed_message = "herbtrace/v1/envelope" || 0x0A || payload_bytes
//   key_id         = hex(SHA-256(signer public key)[0:16])
// The signature is checked over the payload bytes exactly as they stand in the leaf, so no
// JSON canonicalisation is needed here; the bytes are parsed only to display them.

import {
  VerificationError,
  concatBytes,
  decodeBase64,
  ed25519Verify,
  fromUtf8,
  sha256,
  toHex,
  utf8,
} from "./bytes.js";
import { hashLeaf } from "./merkle.js";

/** First line of every leaf. */
export const LEAF_MAGIC = "herbtrace/v1/entry";

/** Bytes the envelope signature covers before the payload: "herbtrace/v1/envelope\n". */
export const SIGNING_PREFIX = utf8("herbtrace/v1/envelope\n");

/** A leaf that is malformed, or an envelope signature that does not verify. */
export class LeafError extends VerificationError {
  constructor(message) {
    super(message);
    this.name = "LeafError";
  }
}

const INDEX = /^(0|[1-9][0-9]{0,15})$/;
const HEX64 = /^[0-9a-f]{64}$/;
const TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$/;
const SIG = /^[A-Za-z0-9+/]{85}[AQgw]==$/;

/**
 * Parse leaf bytes strictly. Returns {index, prev (hex), received, signature (64 bytes),
 * payloadBytes (the exact line-6 bytes), payload (parsed JSON)}; throws LeafError naming the
 * first line that is wrong.
 */
export function parseLeaf(leaf) {
  if (leaf.length === 0 || leaf[leaf.length - 1] !== 0x0a) {
    throw new LeafError("leaf does not end in a newline");
  }
  const lines = [];
  let start = 0;
  for (let i = 0; i < leaf.length; i++) {
    if (leaf[i] === 0x0a) {
      lines.push(leaf.subarray(start, i));
      start = i + 1;
    }
  }
  if (lines.length !== 6) throw new LeafError(`leaf has ${lines.length} lines, want 6`);
  const [magic, index, prev, received, sig] = lines.slice(0, 5).map((l) => fromUtf8(l, "leaf"));
  const payloadBytes = lines[5].slice();
  if (magic !== LEAF_MAGIC) throw new LeafError(`leaf does not start with ${LEAF_MAGIC}`);
  if (!INDEX.test(index)) throw new LeafError("leaf index line is not a decimal number");
  if (!HEX64.test(prev)) throw new LeafError("leaf prev line is not 64 lowercase hex digits");
  if (!TIME.test(received)) {
    throw new LeafError("leaf received line is not a UTC timestamp with microseconds");
  }
  if (!SIG.test(sig)) throw new LeafError("leaf signature line is not base64 of 64 bytes");
  let payload;
  try {
    payload = JSON.parse(fromUtf8(payloadBytes, "leaf payload"));
  } catch (err) {
    throw new LeafError(`leaf payload is not JSON: ${err.message}`);
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new LeafError("leaf payload is not a JSON object");
  }
  return {
    index: Number(index),
    prev,
    received,
    signature: decodeBase64(sig, "leaf signature"),
    payloadBytes,
    payload,
  };
}

/** Return the RFC 9162 leaf hash SHA-256(0x00 || leaf) of the leaf bytes. */
export function leafHash(leaf) {
  return hashLeaf(leaf);
}

/** Return the signer key ID hex(SHA-256(publicKey)[0:16]). */
export async function signerKeyId(publicKey) {
  return toHex((await sha256(publicKey)).slice(0, 16));
}

/**
 * Check the envelope in a parsed leaf against a signer's raw 32-byte Ed25519 public key:
 * the key's ID must be the payload's `signer` (and `keyId` if given), and the signature must
 * verify over SIGNING_PREFIX || payloadBytes. Resolves to undefined or rejects with LeafError.
 */
export async function verifyEnvelope(entry, publicKey, keyId) {
  const derived = await signerKeyId(publicKey);
  if (keyId !== undefined && keyId !== derived) {
    throw new LeafError(`signer key ID ${keyId} is not the ID of its public key (${derived})`);
  }
  if (entry.payload.signer !== derived) {
    throw new LeafError(
      `payload names signer ${entry.payload.signer}, but the key given is ${derived}`,
    );
  }
  const message = concatBytes(SIGNING_PREFIX, entry.payloadBytes);
  if (!(await ed25519Verify(publicKey, message, entry.signature))) {
    throw new LeafError(`envelope signature does not verify under signer ${derived}`);
  }
}
