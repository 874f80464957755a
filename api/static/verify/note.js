// C2SP signed notes and tlog-checkpoints with Ed25519 keys, verified by WebCrypto.
//
// Byte layouts (UTF-8; base64 is RFC 4648 §4 standard, padded):
//   key ID        = SHA-256(name || 0x0A || 0x01 || 32-byte public key)[0:4]
//   verifier key  = <name>+<key ID, 8 lowercase hex>+<base64(0x01 || 32-byte public key)>
//   signed note   = text || 0x0A || signature lines, the text running up to the last empty line
//   signature line= "— " <name> " " base64(key ID (4 bytes) || Ed25519 signature (64 bytes)) 0x0A
//   checkpoint    = the note text "<origin>\n<tree size, decimal>\n<base64 32-byte root>\n"
// A note verifies when a signature line names a pinned key (name and key ID) and its
// signature over the text's UTF-8 bytes verifies; signatures by other keys are ignored.

import {
  VerificationError,
  bytesEqual,
  concatBytes,
  decodeBase64,
  ed25519Verify,
  sha256,
  toHex,
  utf8,
} from "./bytes.js";

/** A signed note or checkpoint that is malformed or not signed by the pinned key. */
export class NoteError extends VerificationError {
  constructor(message) {
    super(message);
    this.name = "NoteError";
  }
}

const SIG_PREFIX = "\u2014 ";
const CONTROL = /[\x00-\x09\x0b-\x1f]/;
const MAX_SIGNATURE_LINES = 100;

function checkName(name) {
  if (!name || name.includes("+") || /\s/u.test(name) || CONTROL.test(name)) {
    throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  }
}

/** Return the 4-byte key ID SHA-256(name || 0x0A || 0x01 || publicKey)[0:4]. */
export async function noteKeyId(name, publicKey) {
  checkName(name);
  const digest = await sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, 0x01), publicKey));
  return digest.slice(0, 4);
}

/**
 * Parse a verifier key `<name>+<8 hex>+<base64(0x01 || key)>` and check its key ID against the
 * key. Resolves to {name, keyId (4 bytes), publicKey (32 bytes), vkey}; rejects with NoteError.
 */
export async function parseVerifierKey(vkey) {
  if (typeof vkey !== "string") throw new NoteError("verifier key must be a string");
  const first = vkey.indexOf("+");
  const second = vkey.indexOf("+", first + 1);
  if (first < 0 || second < 0) {
    throw new NoteError("verifier key must be <name>+<hex key ID>+<base64 key>");
  }
  const name = vkey.slice(0, first);
  const hexId = vkey.slice(first + 1, second);
  checkName(name);
  if (!/^[0-9a-f]{8}$/.test(hexId)) {
    throw new NoteError(`verifier key ID ${JSON.stringify(hexId)} is not 8 lowercase hex digits`);
  }
  let key;
  try {
    key = decodeBase64(vkey.slice(second + 1), "verifier key material");
  } catch (err) {
    throw new NoteError(err.message);
  }
  if (key[0] !== 0x01) throw new NoteError("verifier key is not of signature type 0x01 (Ed25519)");
  if (key.length !== 33) throw new NoteError(`verifier key is ${key.length - 1} bytes, want 32`);
  const publicKey = key.slice(1);
  const keyId = await noteKeyId(name, publicKey);
  if (toHex(keyId) !== hexId) {
    throw new NoteError(`verifier key ID ${hexId} does not match its key (${toHex(keyId)})`);
  }
  return { name, keyId, publicKey, vkey };
}

function parseSignatureLine(line) {
  if (!line.startsWith(SIG_PREFIX)) {
    throw new NoteError("malformed note: signature line does not start with '\u2014 '");
  }
  const rest = line.slice(SIG_PREFIX.length);
  const space = rest.indexOf(" ");
  if (space < 0) throw new NoteError("malformed note: signature line has no signature");
  const name = rest.slice(0, space);
  checkName(name);
  let raw;
  try {
    raw = decodeBase64(rest.slice(space + 1), `signature of ${name}`);
  } catch (err) {
    throw new NoteError(err.message);
  }
  if (raw.length < 5) throw new NoteError(`malformed note: signature of ${name} is too short`);
  return { name, keyId: raw.slice(0, 4), signature: raw.slice(4) };
}

/**
 * Split a signed note and verify it with known verifiers (one from parseVerifierKey, or an
 * array of them), as sumdb/note Open does: signatures by unknown keys are ignored, every
 * signature by a known key must verify, and at least one must. Resolves to
 * {text, signatures, verifiedBy: [key names]}; rejects with NoteError otherwise.
 */
export async function openNote(note, verifiers) {
  const known = Array.isArray(verifiers) ? verifiers : [verifiers];
  if (typeof note !== "string") throw new NoteError("a note must be text");
  const control = note.match(CONTROL);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).padStart(4, "0").toUpperCase();
    throw new NoteError(`note contains control character U+${code}`);
  }
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new NoteError("malformed note: no empty line before the signatures");
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith("\n")) {
    throw new NoteError("malformed note: signature block is empty or lacks a final newline");
  }
  const lines = [...new Set(block.slice(0, -1).split("\n"))];
  if (lines.length > MAX_SIGNATURE_LINES) {
    throw new NoteError(`malformed note: more than ${MAX_SIGNATURE_LINES} signature lines`);
  }
  const signatures = lines.map(parseSignatureLine);
  const message = utf8(text);
  const verifiedBy = [];
  for (const sig of signatures) {
    const verifier = known.find((v) => v.name === sig.name && bytesEqual(v.keyId, sig.keyId));
    if (!verifier) continue;
    if (!(await ed25519Verify(verifier.publicKey, message, sig.signature))) {
      throw new NoteError(`signature by pinned key ${verifier.name}+${toHex(verifier.keyId)} is invalid`);
    }
    if (!verifiedBy.includes(verifier.name)) verifiedBy.push(verifier.name);
  }
  if (verifiedBy.length === 0) {
    const names = known.map((v) => `${v.name}+${toHex(v.keyId)}`).join(", ");
    throw new NoteError(`note is not signed by the pinned key ${names}`);
  }
  return { text, signatures, verifiedBy };
}

/**
 * Parse checkpoint text (exactly origin, size and root lines). Resolves to
 * {origin, size (Number, exact up to 2^53 − 1), root (32 bytes), rootBase64}.
 */
export function parseCheckpoint(text) {
  if (!text.endsWith("\n")) throw new NoteError("checkpoint text must end in a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new NoteError("checkpoint needs origin, tree size and root hash lines");
  if (lines.length > 3) throw new NoteError("checkpoint extension lines are not accepted");
  const [origin, sizeText, rootText] = lines;
  if (!origin) throw new NoteError("checkpoint origin must be non-empty");
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) {
    throw new NoteError(`checkpoint tree size ${JSON.stringify(sizeText.slice(0, 32))} is not a decimal below 2^53`);
  }
  let root;
  try {
    root = decodeBase64(rootText, "checkpoint root hash");
  } catch (err) {
    throw new NoteError(err.message);
  }
  if (root.length !== 32) throw new NoteError(`checkpoint root hash is ${root.length} bytes, want 32`);
  return { origin, size: Number(sizeText), root, rootBase64: rootText };
}

/** Verify a signed checkpoint with the pinned verifier, then parse it; origin must be the key name. */
export async function openCheckpoint(note, verifier) {
  const checkpoint = parseCheckpoint((await openNote(note, [verifier])).text);
  if (checkpoint.origin !== verifier.name) {
    throw new NoteError(
      `checkpoint origin ${JSON.stringify(checkpoint.origin)} differs from key name ${JSON.stringify(verifier.name)}`,
    );
  }
  return checkpoint;
}
