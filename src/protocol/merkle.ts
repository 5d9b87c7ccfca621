// Merkle tree over chunk ids, RFC 6962 section 2.1 (Certificate Transparency) with SHA-256:
//   MTH({})        = SHA-256()
//   leaf hash      = SHA-256(0x00 || id)                 id = the 32-byte chunk id
//   node hash      = SHA-256(0x01 || left || right)
//   MTH(D[n]), n>1 = node(MTH(D[0:k]), MTH(D[k:n])), k = largest power of two < n
// Computed bottom-up: pair neighbours level by level, an odd last node is promoted unchanged
// to the next level; this gives the same root as the recursive definition. Inclusion proofs
// are RFC 6962 section 2.1.1 audit paths, verified as in RFC 9162 section 2.1.3.2. Pure.
import { sha256 } from "@noble/hashes/sha2.js";

export const MERKLE_HASH_BYTES = 32;

/** SHA-256 implementation; defaults to @noble/hashes, a platform may pass a native one. */
export type MerkleHashFn = (data: Uint8Array) => Uint8Array;

function leafHash(id: Uint8Array, sha256: MerkleHashFn): Uint8Array {
  const buf = new Uint8Array(1 + id.length);
  buf[0] = 0x00;
  buf.set(id, 1);
  return sha256(buf);
}

function nodeHash(l: Uint8Array, r: Uint8Array, sha256: MerkleHashFn): Uint8Array {
  const buf = new Uint8Array(1 + l.length + r.length);
  buf[0] = 0x01;
  buf.set(l, 1);
  buf.set(r, 1 + l.length);
  return sha256(buf);
}

function checkIds(ids: readonly Uint8Array[]): void {
  for (const id of ids) {
    if (id.length !== MERKLE_HASH_BYTES) {
      throw new RangeError(`chunk id must be 32 bytes, got ${id.length}`);
    }
  }
}

/** Merkle tree head over the chunk ids, in order. */
export function merkleRoot(ids: readonly Uint8Array[], hash: MerkleHashFn = sha256): Uint8Array {
  checkIds(ids);
  if (ids.length === 0) return hash(new Uint8Array(0));
  let level = ids.map((id) => leafHash(id, hash));
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2)
      next.push(nodeHash(level[i]!, level[i + 1]!, hash));
    if (level.length % 2) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/**
 * Audit path for leaf `index` (RFC 6962 section 2.1.1): sibling hashes from the leaf up.
 * Throws RangeError if index is out of range.
 */
export function merkleProof(
  ids: readonly Uint8Array[],
  index: number,
  hash: MerkleHashFn = sha256,
): Uint8Array[] {
  checkIds(ids);
  if (!Number.isInteger(index) || index < 0 || index >= ids.length) {
    throw new RangeError(`leaf index ${index} out of range 0..${ids.length - 1}`);
  }
  const path: Uint8Array[] = [];
  let level = ids.map((id) => leafHash(id, hash));
  let i = index;
  while (level.length > 1) {
    const sibling = i ^ 1;
    if (sibling < level.length) path.push(level[sibling]!);
    const next: Uint8Array[] = [];
    for (let j = 0; j + 1 < level.length; j += 2)
      next.push(nodeHash(level[j]!, level[j + 1]!, hash));
    if (level.length % 2) next.push(level[level.length - 1]!);
    level = next;
    i >>= 1;
  }
  return path;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * True if `id` is leaf `index` of a tree of `size` leaves with head `root`, given `path` from
 * {@link merkleProof}. Algorithm of RFC 9162 section 2.1.3.2.
 */
export function verifyMerkleProof(
  root: Uint8Array,
  size: number,
  index: number,
  id: Uint8Array,
  path: readonly Uint8Array[],
  hash: MerkleHashFn = sha256,
): boolean {
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(index)) return false;
  if (index < 0 || index >= size || id.length !== MERKLE_HASH_BYTES) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash(id, hash);
  for (const p of path) {
    if (p.length !== MERKLE_HASH_BYTES || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r, hash);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p, hash);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}
