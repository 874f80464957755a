// The browser verifier's entry point: check a proof bundle against a pinned log key.
//
// A proof bundle is the JSON of GET /v1/log/proofs?indices=… (or of a batch's proofs):
//   {"checkpoint": note, "log_key": vkey, "tree_size": N,
//    "entries": [{"index", "leaf": b64, "leaf_hash": b64, "proof": [b64…],
//                 "signer": {"key_id", "public_key": b64, "name", "organisation", "role"}}]}
// verifyBundle trusts none of it: the checkpoint must be signed by the pinned log key, each
// leaf hash is recomputed from the leaf bytes, each inclusion proof must lead from that hash
// to the signed root, and each envelope signature must verify. Signer public keys come from
// the server's registry (as carried in the bundle) unless the caller pins them.

import { VerificationError, decodeBase64, encodeBase64 } from "./bytes.js";
import { leafHash, parseLeaf, verifyEnvelope } from "./leaf.js";
import { verifyInclusion } from "./merkle.js";
import { openCheckpoint, parseCheckpoint, parseVerifierKey } from "./note.js";

/** What the result can and cannot vouch for, in one sentence per key source. */
export const TRUST = {
  pinnedLogKey:
    "The checkpoint is checked against the log key pinned in this page, not the key the server sent.",
  registrySigners:
    "Signer public keys come from the server's signer registry (not pinned): a signature proves " +
    "the entry was signed by the key the log registered under that signer.",
  pinnedSigners: "Signer public keys are pinned by the caller.",
};

function errorText(err) {
  return err instanceof VerificationError ? err.message : `${err && err.name}: ${err && err.message}`;
}

function describe(value) {
  return value === undefined ? "missing" : JSON.stringify(value).slice(0, 60);
}

function b64(value, what) {
  if (typeof value !== "string") throw new VerificationError(`${what} is ${describe(value)}, not base64 text`);
  return decodeBase64(value, what);
}

async function checkEntry(raw, checkpoint, rootTrusted, options, add) {
  const index = raw && Number.isSafeInteger(raw.index) ? raw.index : null;
  const label = `entry ${index === null ? describe(raw && raw.index) : index}`;
  const out = { index, ok: false, received: null, payload: null, signer: null, keySource: null };
  let leaf;
  let parsed;
  let computed;
  let hashed = false;
  try {
    if (index === null) throw new VerificationError(`index is ${describe(raw && raw.index)}`);
    leaf = b64(raw.leaf, "leaf");
    parsed = parseLeaf(leaf);
    if (parsed.index !== index) {
      throw new VerificationError(`leaf says index ${parsed.index}, the bundle says ${index}`);
    }
    computed = await leafHash(leaf);
    const claimed = raw.leaf_hash === undefined ? null : b64(raw.leaf_hash, "leaf_hash");
    if (claimed !== null && encodeBase64(claimed) !== encodeBase64(computed)) {
      throw new VerificationError(
        `SHA-256(0x00 || leaf) is ${encodeBase64(computed)}, the server said ${raw.leaf_hash}`,
      );
    }
    hashed = true;
    add("leaf-hash", index, `${label} leaf hash`, true, `SHA-256(0x00 || leaf) = ${encodeBase64(computed)}`);
  } catch (err) {
    add("leaf-hash", index, `${label} leaf hash`, false, errorText(err));
  }

  let included = false;
  try {
    if (!computed) throw new VerificationError("no leaf hash to prove");
    if (!checkpoint) throw new VerificationError("no checkpoint root to prove against");
    if (!Array.isArray(raw.proof)) throw new VerificationError("proof is not a list");
    const proof = raw.proof.map((h, k) => b64(h, `proof hash ${k}`));
    await verifyInclusion(index, checkpoint.size, computed, proof, checkpoint.root);
    if (!rootTrusted) {
      throw new VerificationError("the proof reaches the checkpoint's root, but that root is not signed by the pinned key");
    }
    included = true;
    add("inclusion-proof", index, `${label} inclusion proof`, true,
      `${proof.length} hashes lead to the signed root of tree size ${checkpoint.size}`);
  } catch (err) {
    add("inclusion-proof", index, `${label} inclusion proof`, false, errorText(err));
  }

  let signed = false;
  try {
    if (!parsed) throw new VerificationError("the leaf could not be parsed");
    const signer = raw.signer || {};
    const keys = options.signerKeys || {};
    const pinned = Object.hasOwn(keys, parsed.payload.signer) ? keys[parsed.payload.signer] : null;
    out.keySource = pinned ? "pinned" : "registry";
    const publicKey = b64(pinned || signer.public_key, "signer public key");
    await verifyEnvelope(parsed, publicKey, pinned ? undefined : signer.key_id);
    signed = true;
    out.signer = { key_id: parsed.payload.signer, organisation: signer.organisation, role: signer.role };
    add("envelope-signature", index, `${label} envelope signature`, true,
      `Ed25519 signature verifies under signer ${parsed.payload.signer} (key from the ${out.keySource === "pinned" ? "caller, pinned" : "server's registry, not pinned"})`);
  } catch (err) {
    add("envelope-signature", index, `${label} envelope signature`, false, errorText(err));
  }

  if (parsed) {
    out.received = parsed.received;
    out.payload = parsed.payload;
  }
  out.ok = hashed && included && signed;
  return out;
}

/**
 * Verify a proof bundle (parsed JSON) against `pinnedLogKey` (a vkey string).
 * options.signerKeys: {key_id: base64 public key} pins signer keys (default: the registry's).
 * options.indices: the entry indices asked for; the bundle must hold exactly these.
 * Resolves (never rejects) to {ok, checks: [{name, kind, index, ok, detail}], trust: [sentences],
 * checkpoint: {origin, size, rootBase64, verified} | null, entries: [{index, ok, received,
 * payload, signer, keySource}]}. `ok` is true only if every check passed.
 */
export async function verifyBundle(bundle, pinnedLogKey, options = {}) {
  const checks = [];
  const add = (kind, index, name, ok, detail) => checks.push({ name, kind, index, ok, detail });
  const trust = [TRUST.pinnedLogKey, options.signerKeys ? TRUST.pinnedSigners : TRUST.registrySigners];
  if (!bundle || typeof bundle !== "object" || !Array.isArray(bundle.entries)) {
    add("bundle-format", null, "bundle format", false, "not a proof bundle: no entries list");
    return { ok: false, checks, trust, checkpoint: null, entries: [] };
  }

  let verifier = null;
  try {
    verifier = await parseVerifierKey(pinnedLogKey);
    if (bundle.log_key !== undefined && bundle.log_key !== pinnedLogKey) {
      throw new VerificationError(`the server names log key ${describe(bundle.log_key)}, not the pinned ${pinnedLogKey}`);
    }
    add("log-key", null, "log key", true, `pinned ${pinnedLogKey}`);
  } catch (err) {
    add("log-key", null, "log key", false, errorText(err));
  }

  let checkpoint = null;
  let rootTrusted = false;
  try {
    if (!verifier) throw new VerificationError("no valid pinned log key to check the checkpoint with");
    checkpoint = await openCheckpoint(bundle.checkpoint, verifier);
    rootTrusted = true;
    add("checkpoint-signature", null, "checkpoint signature", true,
      `signed by ${verifier.name}: tree size ${checkpoint.size}, root ${checkpoint.rootBase64}`);
  } catch (err) {
    add("checkpoint-signature", null, "checkpoint signature", false, errorText(err));
    try {
      const text = String(bundle.checkpoint);
      checkpoint = parseCheckpoint(text.slice(0, text.lastIndexOf("\n\n") + 1));
    } catch {
      checkpoint = null;
    }
  }
  const sizeAgrees = Boolean(checkpoint) && bundle.tree_size === checkpoint.size;
  add("tree-size", null, "tree size", sizeAgrees, sizeAgrees
    ? `every proof is against tree size ${checkpoint.size}`
    : `the bundle says tree size ${describe(bundle.tree_size)}, its checkpoint ${checkpoint ? checkpoint.size : "cannot be read"}`);

  if (options.indices) {
    const want = [...new Set(options.indices)].sort((a, b) => a - b).join(",");
    const got = [...new Set(bundle.entries.map((e) => e && e.index))].sort((a, b) => a - b).join(",");
    add("coverage", null, "entries asked for", want === got,
      want === got ? `all ${options.indices.length} entries are in the bundle` : `asked for ${want}, got ${got}`);
  }

  const entries = [];
  for (const raw of bundle.entries) entries.push(await checkEntry(raw, checkpoint, rootTrusted, options, add));
  if (entries.length === 0) add("bundle-format", null, "bundle format", false, "the bundle holds no entries");
  const summary = checkpoint && { origin: checkpoint.origin, size: checkpoint.size, rootBase64: checkpoint.rootBase64, verified: rootTrusted };
  return { ok: checks.every((c) => c.ok), checks, trust, checkpoint: summary, entries };
}

/** Return the log key pinned in a page's `<meta name="herbtrace-log-key" content="…">`, or throw. */
export function pinnedLogKey(doc = document) {
  const meta = doc.querySelector('meta[name="herbtrace-log-key"]');
  const vkey = meta && meta.getAttribute("content");
  if (!vkey) throw new VerificationError("this page pins no log key (meta herbtrace-log-key)");
  return vkey;
}

/** Fetch a proof bundle from `path` (see proofsPath, batchProofsPath); rejects with the reason. */
export async function fetchBundle(path, base = "") {
  const response = await fetch(`${base}${path}`);
  let body;
  try {
    body = await response.json();
  } catch {
    throw new VerificationError(`the server answered ${response.status} without JSON`);
  }
  if (!response.ok) throw new VerificationError(`the server refused the proofs: ${body.reason || response.status}`);
  return body;
}

/** Return the path of the bundle of log entries `indices`: /v1/log/proofs?indices=1,5,9. */
export function proofsPath(indices) {
  return `/v1/log/proofs?indices=${indices.map((i) => encodeURIComponent(String(i))).join(",")}`;
}

/** Return the path of a batch's bundle; scope "batch" (its own entries) or "trace" (and upstream). */
export function batchProofsPath(batchId, scope = "batch") {
  return `/v1/batches/${encodeURIComponent(batchId)}/proofs?scope=${encodeURIComponent(scope)}`;
}

/** Fetch the bundle of entries `indices` and verify it against the pinned key (see verifyBundle). */
export async function fetchAndVerify(indices, logKey, options = {}) {
  const bundle = await fetchBundle(proofsPath(indices), options.base || "");
  return verifyBundle(bundle, logKey, { ...options, indices });
}

/** Fetch a batch's bundle (options.scope, default "batch") and verify it against the pinned key. */
export async function fetchAndVerifyBatch(batchId, logKey, options = {}) {
  const bundle = await fetchBundle(batchProofsPath(batchId, options.scope), options.base || "");
  return verifyBundle(bundle, logKey, options);
}
