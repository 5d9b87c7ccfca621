import { describe, expect, it } from "vitest";
import { AppError, parseAppManifest, signApp, verifyApp, type AppFound } from "./app";
import { keyPairFromSeed } from "./ed25519";
import {
  decodeBrowserMessage,
  decodeCoordinatorToBrowser,
  decodeCoordinatorToNode,
  decodeNodeMessage,
  encodeMessage,
} from "./messages";

const key = keyPairFromSeed(new Uint8Array(32).fill(7));
const other = keyPairFromSeed(new Uint8Array(32).fill(8));
const bundle = new TextEncoder().encode("pear.post('hi')");
const base = {
  name: "hello",
  version: "1.0.0",
  resources: { memoryMiB: 4, cpuShares: 1024, uploadKiBps: 0, storageMiB: 1 },
  capabilities: { kv: true, fetch: ["api.example.org"] },
};

const code = (f: () => void): string => {
  try {
    f();
    return "ok";
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return (e as AppError).code;
  }
};

describe("app manifest", () => {
  it("signs and verifies, with the bundle it names", () => {
    const m = signApp(base, bundle, key);
    expect(m.developer).toBe(key.did);
    expect(m.bundle.size).toBe(bundle.length);
    expect(code(() => verifyApp(m, bundle))).toBe("ok");
  });

  it("refuses a tampered bundle, a tampered manifest, another signer", () => {
    const m = signApp(base, bundle, key);
    const evil = new TextEncoder().encode("pear.post('hj')");
    expect(code(() => verifyApp(m, evil))).toBe("bad_bundle");
    expect(code(() => verifyApp(m, bundle.slice(1)))).toBe("bad_bundle");
    const more = { ...m, resources: { ...m.resources, memoryMiB: 200 } };
    expect(code(() => verifyApp(more, bundle))).toBe("bad_signature");
    expect(code(() => verifyApp({ ...m, developer: other.did }, bundle))).toBe("bad_signature");
  });

  it("refuses malformed manifests with a typed error", () => {
    const m = signApp(base, bundle, key);
    for (const bad of [
      null,
      { ...m, name: "Bad Name" },
      { ...m, v: 2 },
      { ...m, resources: { ...m.resources, memoryMiB: 0 } },
      { ...m, capabilities: { shell: true } },
      { ...m, capabilities: { fetch: ["a b"] } },
      { ...m, extra: 1 },
    ]) {
      expect(code(() => parseAppManifest(bad))).toBe("invalid");
    }
  });

  it("app messages pass the wire decoders both ways", () => {
    const m = signApp(base, bundle, key);
    const run = { t: "app.run" as const, manifest: m, bundleUrl: "http://c/api/apps/bundles/x" };
    expect(decodeCoordinatorToNode(encodeMessage(run))).toEqual(run);
    const st = {
      t: "app.state" as const,
      name: "hello",
      version: "1.0.0",
      state: "running" as const,
    };
    expect(decodeNodeMessage(encodeMessage(st))).toEqual(st);
    expect(() => decodeNodeMessage(JSON.stringify({ ...st, state: "dancing" }))).toThrow(/invalid/);
  });
});

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

describe("app manifest under hostile input (seeded fuzz pass)", () => {
  it("every byte mutation of a signed manifest is refused with an AppError, never accepted", () => {
    const m = signApp(base, bundle, key);
    const text = JSON.stringify(m);
    const next = rng(7);
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const chars = [...text];
      for (let n = 1 + (next() % 3); n > 0; n--) {
        chars[next() % chars.length] = String.fromCharCode(32 + (next() % 95));
      }
      const mutated = chars.join("");
      if (mutated === text) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(mutated);
      } catch {
        continue;
      }
      // JSON-equal mutations (e.g. whitespace) are the same manifest
      if (JSON.stringify(parsed) === text) continue;
      expect(code(() => verifyApp(parsed as typeof m, bundle))).not.toBe("ok");
      refused++;
    }
    expect(refused).toBeGreaterThan(500);
  });
});

describe("app.find / app.found (browser ↔ coordinator)", () => {
  it("round-trips and refuses bad names, ids and too many nodes", () => {
    const find = { t: "app.find", req: 3, name: "chat" } as const;
    expect(decodeBrowserMessage(encodeMessage(find))).toEqual(find);
    const node = keyPairFromSeed(new Uint8Array(32).fill(1)).did;
    const found: AppFound = { t: "app.found", req: 3, name: "chat", nodes: [node] };
    expect(decodeCoordinatorToBrowser(encodeMessage(found))).toEqual(found);
    expect(() => decodeBrowserMessage(JSON.stringify({ ...find, name: "Chat!" }))).toThrow();
    expect(() => decodeBrowserMessage(JSON.stringify({ ...find, req: -1 }))).toThrow();
    expect(() =>
      decodeCoordinatorToBrowser(JSON.stringify({ ...found, nodes: ["not-a-did"] })),
    ).toThrow();
    expect(() =>
      decodeCoordinatorToBrowser(JSON.stringify({ ...found, nodes: Array(9).fill(node) })),
    ).toThrow();
  });
});
