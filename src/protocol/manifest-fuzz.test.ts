// Randomized hostile input for parseManifest/verifyManifest (a seeded, reproducible fuzz
// pass in the unit tier): every mutation of a valid manifest must either be refused with a
// ManifestError or, if it still parses, fail verification -- never any other exception,
// never accepted.
import { describe, expect, it } from "vitest";
import { keyPairFromSeed } from "./ed25519";
import {
  buildManifest,
  chunkBytes,
  encodeManifest,
  parseManifest,
  signManifest,
  verifyManifest,
} from "./manifest";
import { ManifestError } from "./manifest-error";

/** xorshift32: reproducible pseudo-random numbers. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const KEY = keyPairFromSeed(new Uint8Array(32).fill(3));
const DATA = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 255);
const VALID = encodeManifest(
  signManifest(
    buildManifest({
      type: "dir",
      name: "fuzz",
      version: 1,
      created: 1,
      chunkSize: 1024,
      origins: ["https://o.example/"],
      files: [
        { path: "a", size: DATA.length, chunks: chunkBytes(DATA, 1024) },
        { path: "b/c", size: 10, chunks: chunkBytes(DATA.subarray(0, 10), 1024) },
      ],
      publisher: KEY.did,
    }),
    KEY,
  ),
);

const TOKENS = [
  '"',
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  "0",
  "-1",
  "1e3",
  "null",
  "\\u0000",
  "é",
  "\ud800",
].map((t) => new TextEncoder().encode(t));

function mutate(r: () => number, src: Uint8Array): Uint8Array {
  let b = src.slice();
  const n = 1 + (r() % 4);
  for (let k = 0; k < n; k++) {
    const at = r() % (b.length + 1);
    switch (r() % 5) {
      case 0: // flip a bit
        if (b.length) b[at % b.length]! ^= 1 << (r() % 8);
        break;
      case 1: // random byte
        if (b.length) b[at % b.length] = r() & 255;
        break;
      case 2: // delete a range
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1 + (r() % 40))]);
        break;
      case 3: {
        // insert a JSON-ish token
        const t = TOKENS[r() % TOKENS.length]!;
        b = Uint8Array.from([...b.subarray(0, at), ...t, ...b.subarray(at)]);
        break;
      }
      default: // duplicate a range
        b = Uint8Array.from([
          ...b.subarray(0, at),
          ...b.subarray(at, at + (r() % 60)),
          ...b.subarray(at),
        ]);
    }
  }
  return b;
}

describe("manifest under random mutation", () => {
  it("never accepts and only ever throws ManifestError (3000 seeded cases)", () => {
    const r = rng(0x5eed);
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      const b = mutate(r, VALID);
      if (Buffer.from(b).equals(Buffer.from(VALID))) continue;
      let err: unknown;
      try {
        const m = parseManifest(b);
        parsed++;
        verifyManifest(m);
      } catch (e) {
        err = e;
      }
      expect(err, `case ${i}: ${new TextDecoder().decode(b).slice(0, 200)}`).toBeInstanceOf(
        ManifestError,
      );
    }
    // Mutations that keep the manifest well-formed reach the cryptographic checks.
    expect(parsed).toBeGreaterThan(0);
  });
});
