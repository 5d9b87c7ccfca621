import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { keyPairFromSeed } from "./ed25519";
import { hexEncode } from "./hex";
import {
  buildManifest,
  checkChunk,
  chunkLocations,
  chunkBytes,
  contentId,
  encodeManifest,
  findChunk,
  manifestChunkIds,
  manifestChunkProof,
  parseManifest,
  signManifest,
  verifyChunk,
  verifyManifest,
} from "./manifest";
import { ManifestError, type ManifestErrorCode } from "./manifest-error";
import { MANIFEST_LIMITS, type Manifest } from "./manifest-types";
import { merkleRoot, verifyMerkleProof } from "./merkle";
import { hexDecode } from "./hex";

const KEY = keyPairFromSeed(new Uint8Array(32).fill(7));
const OTHER = keyPairFromSeed(new Uint8Array(32).fill(8));
const CHUNK = 1024;

function data(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 5)) & 255;
  return b;
}

const FILES = { "a.bin": data(2500, 1), "dir/b.txt": data(1024, 2), empty: new Uint8Array(0) };

function make(key = KEY): Manifest {
  const unsigned = buildManifest({
    type: "dir",
    name: "test content",
    version: 3,
    created: 1_700_000_000,
    chunkSize: CHUNK,
    origins: ["https://origin.example/content/"],
    files: Object.entries(FILES).map(([path, b]) => ({
      path,
      size: b.length,
      chunks: chunkBytes(b, CHUNK),
    })),
    publisher: key.did,
  });
  return signManifest(unsigned, key);
}

function code(f: () => unknown): ManifestErrorCode | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof ManifestError) return e.code;
    throw e;
  }
  return undefined;
}

function parseAndVerify(bytes: Uint8Array): Manifest {
  const m = parseManifest(bytes);
  verifyManifest(m);
  return m;
}

describe("manifest", () => {
  it("builds, signs, encodes, parses, verifies", () => {
    const m = make();
    expect(m.size).toBe(2500 + 1024);
    expect(m.files[0]!.chunks.map((c) => c.size)).toEqual([1024, 1024, 452]);
    expect(m.files[2]!.chunks).toEqual([]);
    const bytes = encodeManifest(m);
    const back = parseAndVerify(bytes);
    expect(back).toEqual(m);
    expect(contentId(back)).toBe(hexEncode(sha256(bytes)));
    verifyManifest(back, KEY.did);
    expect(code(() => verifyManifest(back, OTHER.did))).toBe("wrong_publisher");
  });

  it("accepts injected crypto (native SHA-256 / Ed25519 of a platform)", () => {
    const m = make();
    let hashes = 0;
    const counting = (d: Uint8Array): Uint8Array => (hashes++, sha256(d));
    verifyManifest(m, undefined, { sha256: counting });
    expect(hashes).toBeGreaterThan(0);
    expect(contentId(m, counting)).toBe(contentId(m));
    expect(code(() => verifyManifest(m, undefined, { ed25519Verify: () => false }))).toBe(
      "bad_signature",
    );
    // A wrong hash function is caught by the Merkle check.
    expect(code(() => verifyManifest(m, undefined, { sha256: (d) => sha256(sha256(d)) }))).toBe(
      "bad_merkle",
    );
  });

  it("canonical bytes are stable: golden content id", () => {
    const a = encodeManifest(make());
    const b = encodeManifest(make());
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const text = new TextDecoder().decode(a);
    expect(
      text.startsWith('{"chunkSize":1024,"created":1700000000,"files":[{"chunks":[{"id":"'),
    ).toBe(true);
    expect(text).toMatch(/"type":"dir","v":1,"version":3}$/);
    // Ed25519 is deterministic (RFC 8032), so the whole signed manifest is too. If this
    // changes, the format changed: bump MANIFEST_VERSION.
    expect(contentId(make())).toBe(GOLDEN_CONTENT_ID);
  });

  it("detects a flipped bit in any manifest byte", () => {
    const bytes = encodeManifest(make());
    const seen = new Set<string>();
    for (let i = 0; i < bytes.length; i++) {
      for (const bit of [0, 1, 5]) {
        const t = bytes.slice();
        t[i]! ^= 1 << bit;
        const c = code(() => parseAndVerify(t));
        expect(c, `byte ${i} bit ${bit}`).toBeDefined();
        seen.add(c!);
      }
    }
    // The interesting ones all show up somewhere.
    for (const c of ["malformed", "bad_field", "bad_signature", "bad_merkle", "bad_size"]) {
      expect(seen.has(c), c).toBe(true);
    }
  });

  it("signature covers every field", () => {
    const m = make();
    const edits: ((x: Manifest) => void)[] = [
      (x) => (x.name = "other"),
      (x) => (x.version += 1),
      (x) => (x.created += 1),
      (x) => x.origins.push("https://evil.example/"),
      (x) => (x.type = "file"),
      (x) => (x.files[0]!.path = "b.bin"),
      (x) => (x.publisher = OTHER.did),
    ];
    for (const edit of edits) {
      const x = structuredClone(m);
      edit(x);
      expect(code(() => verifyManifest(x))).toBe("bad_signature");
    }
    const x = structuredClone(m);
    x.signature = signManifest({ ...x, publisher: OTHER.did }, OTHER).signature;
    expect(code(() => verifyManifest(x))).toBe("bad_signature");
  });

  it("chunk ids are bound by the Merkle root", () => {
    const x = structuredClone(make());
    x.files[1]!.chunks[0]!.id = hexEncode(sha256(Uint8Array.of(1)));
    expect(code(() => verifyManifest(x))).toBe("bad_merkle");
  });

  it("verifies chunks by index and id; flipped bit or wrong length fails", () => {
    const m = make();
    const a = FILES["a.bin"];
    expect(verifyChunk(m, 0, a.subarray(0, 1024)).offset).toBe(0);
    const loc = verifyChunk(m, 2, a.subarray(2048));
    expect(loc).toMatchObject({ index: 2, file: 0, offset: 2048, size: 452 });
    const id3 = m.files[1]!.chunks[0]!.id;
    expect(verifyChunk(m, id3, FILES["dir/b.txt"]).index).toBe(3);
    for (let bit = 0; bit < 1024 * 8; bit += 997) {
      const t = a.slice(0, 1024);
      t[bit >> 3]! ^= 1 << (bit & 7);
      expect(code(() => verifyChunk(m, 0, t))).toBe("bad_chunk");
    }
    expect(code(() => verifyChunk(m, 2, a.subarray(2047)))).toBe("bad_chunk");
    expect(code(() => verifyChunk(m, 4, a))).toBe("no_such_chunk");
    expect(code(() => verifyChunk(m, "00".repeat(32), a))).toBe("no_such_chunk");
    expect(findChunk(m, -1)).toBeUndefined();
    expect(findChunk(m, 1.5)).toBeUndefined();
    const all = [...chunkLocations(m)];
    expect(all.map((l) => l.index)).toEqual([0, 1, 2, 3]);
    for (const l of all) {
      expect(findChunk(m, l.index)).toEqual(l);
      expect(findChunk(m, l.id)).toEqual(l);
      checkChunk(l, l.file === 0 ? a.subarray(l.offset, l.offset + l.size) : FILES["dir/b.txt"]);
    }
  });

  it("Merkle proofs of manifest chunks verify against merkleRoot", () => {
    const m = make();
    const ids = manifestChunkIds(m);
    const root = hexDecode(m.merkleRoot)!;
    expect(hexEncode(merkleRoot(ids))).toBe(m.merkleRoot);
    ids.forEach((id, i) => {
      const p = manifestChunkProof(m, i).map((h) => hexDecode(h)!);
      expect(verifyMerkleProof(root, ids.length, i, id, p)).toBe(true);
    });
  });

  it("refuses truncated, oversized, non-canonical and hostile manifests", () => {
    const bytes = encodeManifest(make());
    for (const n of [0, 1, 10, bytes.length / 2, bytes.length - 1]) {
      expect(
        code(() => parseManifest(bytes.subarray(0, n))),
        `len ${n}`,
      ).toBe("malformed");
    }
    const big = new Uint8Array(MANIFEST_LIMITS.maxManifestBytes + 1).fill(0x20);
    expect(code(() => parseManifest(big))).toBe("too_large");
    expect(code(() => parseManifest(bytes, { ...MANIFEST_LIMITS, maxManifestBytes: 100 }))).toBe(
      "too_large",
    );
    const text = new TextDecoder().decode(bytes);
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    const obj = JSON.parse(text);
    expect(code(() => parseManifest(enc(text + "\n")))).toBe("non_canonical");
    expect(code(() => parseManifest(enc(JSON.stringify(obj, null, 1))))).toBe("non_canonical");
    expect(code(() => parseManifest(enc(text.replace('{"chunkSize"', '{"v":1,"chunkSize"'))))).toBe(
      "non_canonical",
    );
    const mutate = (f: (o: Record<string, unknown>) => void): Uint8Array => {
      const o = structuredClone(obj);
      f(o);
      return enc(JSON.stringify(o));
    };
    const cases: [string, (o: Record<string, unknown>) => void, ManifestErrorCode][] = [
      ["version 2", (o) => (o.v = 2), "unsupported_version"],
      ["extra field", (o) => (o.extra = 1), "bad_field"],
      ["missing field", (o) => delete o.name, "bad_field"],
      ["float", (o) => (o.version = 1.5), "bad_field"],
      ["ftp origin", (o) => (o.origins = ["ftp://x/"]), "bad_field"],
      ["javascript origin", (o) => (o.origins = ["javascript:alert(1)"]), "bad_field"],
      ["too many origins", (o) => (o.origins = Array(17).fill("https://a/")), "over_limit"],
      ["long name", (o) => (o.name = "x".repeat(257)), "over_limit"],
      ["dotdot path", (o) => ((o.files as { path: string }[])[0]!.path = "../x"), "bad_field"],
      ["abs path", (o) => ((o.files as { path: string }[])[0]!.path = "/etc/x"), "bad_field"],
      ["chunk size 0", (o) => (o.chunkSize = 0), "bad_field"],
      ["huge chunk size", (o) => (o.chunkSize = 2 ** 30), "bad_field"],
      ["size lie", (o) => (o.size = 1), "bad_size"],
      ["file size lie", (o) => ((o.files as { size: number }[])[0]!.size = 2049), "bad_size"],
      ["upper hex", (o) => (o.merkleRoot = (o.merkleRoot as string).toUpperCase()), "bad_field"],
      ["short sig", (o) => (o.signature = "00"), "bad_field"],
      ["not did:key", (o) => (o.publisher = "did:web:x"), "bad_field"],
      ["array", (o) => (o.files = {}), "bad_field"],
      [
        "duplicate path",
        (o) => {
          const f = o.files as { path: string }[];
          f[1]!.path = f[0]!.path;
        },
        "bad_field",
      ],
    ];
    for (const [what, f, want] of cases)
      expect(
        code(() => parseManifest(mutate(f))),
        what,
      ).toBe(want);
    expect(code(() => parseManifest(enc("[]")))).toBe("bad_field");
    expect(code(() => parseManifest(enc("null")))).toBe("bad_field");
    expect(code(() => parseManifest(Uint8Array.of(0xff, 0xfe)))).toBe("malformed");
  });

  it("refuses more chunks than the cap without hashing them", () => {
    const id = "ab".repeat(32);
    const n = 5;
    const o = {
      v: 1,
      type: "file",
      name: "x",
      version: 0,
      created: 0,
      chunkSize: 1024,
      size: n * 1024,
      origins: [],
      files: [{ path: "x", size: n * 1024, chunks: Array(n).fill({ id, size: 1024 }) }],
      merkleRoot: id,
      publisher: KEY.did,
      signature: "00".repeat(64),
    };
    const bytes = new TextEncoder().encode(JSON.stringify(o));
    expect(code(() => parseManifest(bytes, { ...MANIFEST_LIMITS, maxChunks: 4 }))).toBe(
      "over_limit",
    );
  });

  it("buildManifest validates and signManifest checks the key", () => {
    expect(() =>
      buildManifest({
        type: "file",
        name: "x",
        version: 0,
        created: 0,
        chunkSize: 1024,
        origins: [],
        files: [{ path: "x", size: 5, chunks: [{ id: "00".repeat(32), size: 4 }] }],
        publisher: KEY.did,
      }),
    ).toThrow(ManifestError);
    // buildManifest refuses what parseManifest would refuse as too large, exactly at the edge.
    const exact = encodeManifest(make()).length;
    const input = {
      type: "dir" as const,
      name: "test content",
      version: 3,
      created: 1_700_000_000,
      chunkSize: CHUNK,
      origins: ["https://origin.example/content/"],
      files: Object.entries(FILES).map(([path, b]) => ({
        path,
        size: b.length,
        chunks: chunkBytes(b, CHUNK),
      })),
      publisher: KEY.did,
    };
    expect(() =>
      buildManifest(input, { ...MANIFEST_LIMITS, maxManifestBytes: exact }),
    ).not.toThrow();
    expect(
      code(() => buildManifest(input, { ...MANIFEST_LIMITS, maxManifestBytes: exact - 1 })),
    ).toBe("too_large");
    const { signature: _s, ...unsigned } = make();
    expect(code(() => signManifest(unsigned, OTHER))).toBe("wrong_publisher");
  });
});

// Recorded from this implementation on first run; a change means the encoding changed.
const GOLDEN_CONTENT_ID = "ecd06ff78b7ee383f56c9742e72a13694e78dd43e1f4442f296dc20f1e198f4c";
