// RFC 9162 §2.1 Merkle tree hashing and §2.1.3.2 inclusion-proof verification, SHA-256.
//
//   leaf hash = SHA-256(0x00 || leaf bytes)
//   node hash = SHA-256(0x01 || left child hash || right child hash)
//
// Verification uses the bit arithmetic of transparency-dev/merkle (as the Python verifier in
// traceability/log/merkle.py does): the proof of leaf `index` in a tree of `size` leaves is
// `inner` siblings (bit i of index says left or right) followed by `border` left siblings.
// Indices and sizes are handled as BigInt, so any uint64 tree size is exact.

import { VerificationError, bytesEqual, concatBytes, sha256, toHex } from "./bytes.js";

/** Length in bytes of every hash in the tree. */
export const HASH_SIZE = 32;

/** An inclusion proof that is malformed or does not lead to the expected root. */
export class ProofError extends VerificationError {
  constructor(message) {
    super(message);
    this.name = "ProofError";
  }
}

/** Return SHA-256(0x00 || data): the RFC 9162 leaf hash. */
export function hashLeaf(data) {
  return sha256(concatBytes(Uint8Array.of(0), data));
}

/** Return SHA-256(0x01 || left || right): the RFC 9162 interior node hash. */
export function hashChildren(left, right) {
  return sha256(concatBytes(Uint8Array.of(1), left, right));
}

function toBigInt(value, what) {
  if (typeof value === "bigint") return value;
  if (Number.isSafeInteger(value)) return BigInt(value);
  throw new ProofError(`${what} ${value} is not an integer`);
}

function bitLength(n) {
  return n === 0n ? 0 : n.toString(2).length;
}

function bitCount(n) {
  let count = 0;
  for (const digit of n.toString(2)) if (digit === "1") count++;
  return count;
}

/**
 * Return the root that `proof` computes for leaf `index` (with hash `leafHash`) of a tree of
 * `size` leaves; throws ProofError if the proof has the wrong length or a hash of the wrong size.
 */
export async function rootFromInclusionProof(index, size, leafHash, proof) {
  const i = toBigInt(index, "index");
  const n = toBigInt(size, "tree size");
  if (i < 0n || i >= n) throw new ProofError(`index ${i} is beyond tree size ${n}`);
  if (leafHash.length !== HASH_SIZE) {
    throw new ProofError(`leaf hash is ${leafHash.length} bytes, want ${HASH_SIZE}`);
  }
  const inner = bitLength(i ^ (n - 1n));
  const border = bitCount(i >> BigInt(inner));
  if (proof.length !== inner + border) {
    throw new ProofError(
      `wrong inclusion proof length: got ${proof.length} want ${inner + border}`,
    );
  }
  proof.forEach((h, k) => {
    if (h.length !== HASH_SIZE) {
      throw new ProofError(`proof hash ${k} is ${h.length} bytes, want ${HASH_SIZE}`);
    }
  });
  let acc = leafHash;
  for (let k = 0; k < inner; k++) {
    acc = (i >> BigInt(k)) & 1n ? await hashChildren(proof[k], acc) : await hashChildren(acc, proof[k]);
  }
  for (let k = inner; k < proof.length; k++) acc = await hashChildren(proof[k], acc);
  return acc;
}

/**
 * Check that `proof` (an array of 32-byte Uint8Arrays, nearest sibling first) shows that leaf
 * `index` with hash `leafHash` is in the tree of `size` leaves whose root is `root`.
 * Resolves to undefined, or rejects with ProofError naming both roots.
 */
export async function verifyInclusion(index, size, leafHash, proof, root) {
  const calculated = await rootFromInclusionProof(index, size, leafHash, proof);
  if (!bytesEqual(calculated, root)) {
    throw new ProofError(
      `calculated root ${toHex(calculated)} does not match expected root ${toHex(root)}`,
    );
  }
}
