// RFC 9162 §2.1.4.2: verify a consistency proof between two trees, and between two checkpoints.
//
// A consistency proof PROOF(first, D[second]) (§2.1.4.1) is a list of 32-byte node hashes
// showing that the tree of `first` leaves (root first_hash) is a prefix of the tree of
// `second` leaves (root second_hash): the log only appended. This module follows the RFC's
// own algorithm (fn, sn, fr, sr), not the bit-decomposition of merkle.js and the Python
// verifier, so the two implementations check each other on the transparency-dev vectors.
// Sizes are BigInt-exact for any uint64.

import { VerificationError, bytesEqual, decodeBase64, toHex } from "./bytes.js";
import { HASH_SIZE, ProofError, hashChildren } from "./merkle.js";
import { openCheckpoint, parseVerifierKey } from "./note.js";

function toBigInt(value, what) {
  if (typeof value === "bigint") return value;
  if (Number.isSafeInteger(value)) return BigInt(value);
  throw new ProofError(`${what} ${value} is not an integer`);
}

function checkHashes(proof) {
  if (!Array.isArray(proof)) throw new ProofError("the consistency proof is not a list");
  proof.forEach((h, k) => {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
      throw new ProofError(`proof hash ${k} is ${h && h.length} bytes, want ${HASH_SIZE}`);
    }
  });
}

function mismatch(which, calculated, expected) {
  return new ProofError(
    `calculated ${which} root ${toHex(calculated)} does not match expected root ${toHex(expected)}`,
  );
}

/**
 * Check that `proof` (32-byte Uint8Arrays, in RFC 9162 order) shows the tree of `size1` leaves
 * with root `root1` is a prefix of the tree of `size2` leaves with root `root2`.
 * Equal sizes need an empty proof and equal roots; size1 = 0 is refused (an empty tree proves
 * nothing). Resolves to undefined, or rejects with ProofError saying what failed.
 */
export async function verifyConsistency(size1, size2, proof, root1, root2) {
  const first = toBigInt(size1, "first tree size");
  const second = toBigInt(size2, "second tree size");
  if (first < 0n || second < first) throw new ProofError(`size1 ${first} > size2 ${second}`);
  if (first === 0n) throw new ProofError("a consistency proof from an empty tree (size1 = 0) is meaningless");
  checkHashes(proof);
  if (first === second) {
    if (proof.length !== 0) throw new ProofError(`sizes are equal (${first}) but the proof is not empty`);
    if (!bytesEqual(root1, root2)) throw mismatch("second", root1, root2);
    return;
  }
  // 1. An empty path fails.
  if (proof.length === 0) throw new ProofError(`empty consistency proof from size ${first} to ${second}`);
  // 2. If first is an exact power of 2, prepend first_hash to the path.
  const path = (first & (first - 1n)) === 0n ? [root1, ...proof] : [...proof];
  // 3.–4. fn = first - 1, sn = second - 1; shift both right while LSB(fn) is set.
  let fn = first - 1n;
  let sn = second - 1n;
  while (fn & 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  // 5. fr and sr both start as the first value of the path.
  let fr = path[0];
  let sr = path[0];
  // 6. Fold in each later value c.
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new ProofError(`the proof is longer than a proof from ${first} to ${second}`);
    if (fn & 1n || fn === sn) {
      fr = await hashChildren(c, fr);
      sr = await hashChildren(c, sr);
      if (!(fn & 1n)) {
        while (!(fn & 1n) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = await hashChildren(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  // 7. fr must be first_hash, sr second_hash, and sn must have reached 0.
  if (sn !== 0n) throw new ProofError(`the proof is shorter than a proof from ${first} to ${second}`);
  if (!bytesEqual(fr, root1)) throw mismatch("first", fr, root1);
  if (!bytesEqual(sr, root2)) throw mismatch("second", sr, root2);
}

function errorText(err) {
  return err instanceof VerificationError ? err.message : `${err && err.name}: ${err && err.message}`;
}

/**
 * Verify that checkpoint note `older` and checkpoint note `newer` are two views of one
 * append-only log: both signed by the pinned log key `pinnedLogKey` (a vkey string), and
 * `proof` (base64 hashes, as GET /v1/log/proof/consistency answers) leads from the older
 * root to the newer one. Resolves (never rejects) to {ok, checks: [{name, kind, index: null,
 * ok, detail}], trust: [sentence], first, second}, the shape badge.js `showResult` shows.
 */
export async function verifyCheckpointConsistency(older, newer, proof, pinnedLogKey) {
  const checks = [];
  const add = (kind, name, ok, detail) => checks.push({ name, kind, index: null, ok, detail });
  const trust = ["Both checkpoints are checked against the log key pinned in this page, not the key the server sent."];
  let verifier = null;
  try {
    verifier = await parseVerifierKey(pinnedLogKey);
    add("log-key", "log key", true, `pinned ${pinnedLogKey}`);
  } catch (err) {
    add("log-key", "log key", false, errorText(err));
  }
  const opened = [];
  for (const [label, note] of [["older", older], ["newer", newer]]) {
    try {
      if (!verifier) throw new VerificationError("no valid pinned log key to check the checkpoint with");
      const cp = await openCheckpoint(note, verifier);
      opened.push(cp);
      add("checkpoint-signature", `${label} checkpoint signature`, true,
        `signed by ${verifier.name}: tree size ${cp.size}, root ${cp.rootBase64}`);
    } catch (err) {
      opened.push(null);
      add("checkpoint-signature", `${label} checkpoint signature`, false, errorText(err));
    }
  }
  const [a, b] = opened;
  try {
    if (!a || !b) throw new VerificationError("both checkpoints must be signed by the pinned key");
    if (!Array.isArray(proof)) throw new ProofError("the consistency proof is not a list");
    const hashes = proof.map((h, k) => decodeBase64(h, `proof hash ${k}`));
    await verifyConsistency(a.size, b.size, hashes, a.root, b.root);
    add("consistency-proof", "consistency proof", true,
      `${hashes.length} hashes show tree ${a.size} is a prefix of tree ${b.size}: the log only appended`);
  } catch (err) {
    add("consistency-proof", "consistency proof", false, errorText(err));
  }
  return {
    ok: checks.every((c) => c.ok),
    checks,
    trust,
    first: a && { size: a.size, rootBase64: a.rootBase64 },
    second: b && { size: b.size, rootBase64: b.rootBase64 },
  };
}
