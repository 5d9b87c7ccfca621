import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { hexEncode } from "./hex";
import { merkleProof, merkleRoot, verifyMerkleProof } from "./merkle";

const id = (i: number): Uint8Array => sha256(Uint8Array.of(i & 255, i >> 8));
const ids = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => id(i));

// RFC 6962 section 2.1, written recursively, as the reference.
function mth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return sha256(new Uint8Array(0));
  if (d.length === 1) return sha256(Uint8Array.of(0, ...d[0]!));
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return sha256(Uint8Array.of(1, ...mth(d.slice(0, k)), ...mth(d.slice(k))));
}

describe("Merkle tree (RFC 6962)", () => {
  it("equals the recursive RFC 6962 definition for n = 0..70", () => {
    for (let n = 0; n <= 70; n++)
      expect(hexEncode(merkleRoot(ids(n)))).toBe(hexEncode(mth(ids(n))));
  });

  it("golden values", () => {
    expect(hexEncode(merkleRoot([]))).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    const one = new Uint8Array(32);
    expect(hexEncode(merkleRoot([one]))).toBe(hexEncode(sha256(new Uint8Array(33))));
  });

  it("depends on every id and on order", () => {
    const base = ids(9);
    const r = hexEncode(merkleRoot(base));
    for (let i = 0; i < base.length; i++) {
      const t = base.map((x) => x.slice());
      t[i]![31]! ^= 1;
      expect(hexEncode(merkleRoot(t))).not.toBe(r);
    }
    const swapped = [base[1]!, base[0]!, ...base.slice(2)];
    expect(hexEncode(merkleRoot(swapped))).not.toBe(r);
    expect(hexEncode(merkleRoot(base.slice(0, 8)))).not.toBe(r);
  });

  it("inclusion proofs verify for every leaf and fail when tampered", () => {
    for (const n of [1, 2, 3, 5, 7, 8, 13, 33]) {
      const d = ids(n);
      const root = merkleRoot(d);
      for (let i = 0; i < n; i++) {
        const p = merkleProof(d, i);
        expect(verifyMerkleProof(root, n, i, d[i]!, p)).toBe(true);
        expect(verifyMerkleProof(root, n, i, id(1000), p)).toBe(false);
        if (n > 1) {
          expect(verifyMerkleProof(root, n, (i + 1) % n, d[i]!, p)).toBe(false);
          const bad = p.map((x) => x.slice());
          bad[0]![0]! ^= 1;
          expect(verifyMerkleProof(root, n, i, d[i]!, bad)).toBe(false);
          expect(verifyMerkleProof(root, n, i, d[i]!, p.slice(1))).toBe(false);
        }
        expect(verifyMerkleProof(root, n, i, d[i]!, [...p, root])).toBe(false);
      }
    }
    expect(() => merkleProof(ids(3), 3)).toThrow(RangeError);
  });
});
