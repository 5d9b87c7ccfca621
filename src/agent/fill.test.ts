// Runs on Node (vitest) and inside pear-fogd (make agent-tests): no node: imports.
import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { hexEncode } from "../protocol/hex";
import { generateKeyPair } from "../protocol/ed25519";
import { buildManifest, contentId, encodeManifest, signManifest } from "../protocol/manifest";
import type { HoldSource } from "../protocol/messages";
import { PlatformError, type HttpGetOptions, type Platform } from "../platform/platform";
import { StoreFiller } from "./fill";

const SIZE = 1024;
const hex = (b: Uint8Array) => hexEncode(sha256(b));
const randomBytes = (n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n));

/**
 * A signed one-file manifest of `n` random 1 KiB chunks at origin https://origin.example/, and
 * the file's bytes.
 */
function content(n: number) {
  const key = generateKeyPair();
  const data = Array.from({ length: n }, () => randomBytes(SIZE));
  const m = signManifest(
    buildManifest({
      type: "file",
      name: "f",
      version: 1,
      created: 1_700_000_000,
      chunkSize: SIZE,
      origins: ["https://origin.example/"],
      files: [
        { path: "f.bin", size: n * SIZE, chunks: data.map((d) => ({ id: hex(d), size: SIZE })) },
      ],
      publisher: key.did,
    }),
    key,
  );
  const whole = new Uint8Array(n * SIZE); // f.bin as the origin serves it
  data.forEach((d, i) => whole.set(d, i * SIZE));
  return { id: contentId(m), bytes: encodeManifest(m), data, whole, ids: data.map(hex) };
}

/**
 * The platform's I/O as a table of URLs (the filler's only inputs) and a store that records what
 * it was given; `serve` answers one URL (range applied for origin files).
 */
function platform(serve: (url: string, o: HttpGetOptions) => Uint8Array | number | Error) {
  const files = new Map<string, Uint8Array>();
  const stored = new Map<string, Uint8Array>();
  const asked: string[] = [];
  const p = {
    now: () => 0,
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>),
    async httpGet(url: string, o: HttpGetOptions) {
      asked.push(url);
      const r = serve(url, o);
      if (r instanceof Error) throw r;
      if (typeof r === "number") return { status: r, body: new Uint8Array() };
      if (!o.range) return { status: 200, body: r };
      return { status: 206, body: r.subarray(o.range[0], o.range[1] + 1) };
    },
    async writeFileAtomic(path: string, d: Uint8Array) {
      files.set(path, d);
    },
    async removeFile(path: string) {
      files.delete(path);
    },
    stagingPath: (n: string) => `/staging/${n}`,
    log() {},
    daemon: {
      async chunkHas() {
        return [];
      },
      async chunkPut(id: string, path: string) {
        const d = files.get(path)!;
        if (hex(d) !== id) throw new PlatformError("ctl:chunk_put", "bad_hash", "mismatch");
        stored.set(id, d);
      },
    },
  } as unknown as Platform;
  return { p, stored, asked };
}

function hold(c: ReturnType<typeof content>, sources: HoldSource[]) {
  return { t: "node.hold" as const, content: c.id, chunks: c.ids, sources };
}

describe("StoreFiller sources", () => {
  const origin: HoldSource = { kind: "origin", url: "https://origin.example/" };

  it("takes chunks from a node source first and asks the origin nothing", async () => {
    const c = content(3);
    const { p, stored, asked } = platform((url) => {
      if (url === "https://coord/m") return c.bytes;
      const i = c.ids.findIndex((id) => url === `http://10.0.0.2:8080/chunks/${id}`);
      return i >= 0 ? c.data[i]! : 404;
    });
    const f = new StoreFiller(
      p,
      () => "https://coord/m",
      () => undefined,
    );
    await f.hold(
      hold(c, [
        origin,
        { kind: "node", nodeId: "did:key:zA", url: "http://10.0.0.2:8080/chunks/" },
      ]),
    );
    await f.idle(1);
    expect([...stored.keys()].sort()).toEqual([...c.ids].sort());
    expect(f.stats.fromNodes).toBe(3);
    expect(asked.some((u) => u.startsWith("https://origin.example/"))).toBe(false);
  });

  it("a node's bad bytes are counted and never stored; the next node, then the origin, serve", async () => {
    const c = content(2);
    const bad = "http://10.0.0.66:8080/chunks/";
    const down = "http://10.0.0.67:8080/chunks/";
    const { p, stored } = platform((url) => {
      if (url === "https://coord/m") return c.bytes;
      if (url.startsWith(bad)) return randomBytes(SIZE);
      if (url.startsWith(down)) return new PlatformError("http_get", "refused", "connect");
      if (url === "https://origin.example/f.bin") return c.whole;
      return 404;
    });
    const f = new StoreFiller(
      p,
      () => "https://coord/m",
      () => undefined,
    );
    await f.hold(
      hold(c, [
        { kind: "node", nodeId: "did:key:zBad", url: bad },
        { kind: "node", nodeId: "did:key:zDown", url: down },
        { kind: "node", nodeId: "did:key:zNoUrl" },
        origin,
      ]),
    );
    await f.idle(1);
    for (const [id, d] of stored) expect(hex(d)).toBe(id);
    expect(stored.size).toBe(2);
    expect(f.stats.badNodeBytes).toBe(2);
    expect(f.stats.fromNodes).toBe(0);
    expect(f.stats.failed.bad_hash).toBe(0);
  });

  it("an unreachable node source is skipped for nodeSourcePauseMs, then asked again", async () => {
    const c = content(4);
    const dead = "http://10.0.0.68:8080/chunks/";
    let now = 1000;
    const { p, stored, asked } = platform((url) => {
      if (url === "https://coord/m") return c.bytes;
      if (url.startsWith(dead)) return new PlatformError("http_get", "timeout", "no answer");
      if (url === "https://origin.example/f.bin") return c.whole;
      return 404;
    });
    p.now = () => now;
    const f = new StoreFiller(
      p,
      () => "https://coord/m",
      () => undefined,
      { concurrency: 1, nodeSourcePauseMs: 5000 },
    );
    const deadAsked = () => asked.filter((u) => u.startsWith(dead)).length;
    const source: HoldSource = { kind: "node", nodeId: "did:key:zDead", url: dead };
    await f.hold({ ...hold(c, [source, origin]), chunks: c.ids.slice(0, 3) });
    await f.idle(1);
    // The first chunk found it dead; the next two went straight to the origin.
    expect(deadAsked()).toBe(1);
    expect(stored.size).toBe(3);
    expect(f.stats.nodeSourcePauses).toBe(1);
    now += 5000; // the pause is over: the node may be back
    await f.hold({ ...hold(c, [source, origin]), chunks: c.ids.slice(3) });
    await f.idle(1);
    expect(deadAsked()).toBe(2);
    expect(stored.size).toBe(4);
  });

  it("a node answering more than the chunk's size is refused (maxBytes is the chunk size)", async () => {
    const c = content(1);
    let maxAsked = -1;
    const { p } = platform((url, o) => {
      if (url === "https://coord/m") return c.bytes;
      if (url.includes("/chunks/")) maxAsked = o.maxBytes;
      return 404;
    });
    const f = new StoreFiller(
      p,
      () => "https://coord/m",
      () => undefined,
    );
    await f.hold(hold(c, [{ kind: "node", nodeId: "did:key:zA", url: "http://n/chunks/" }]));
    await f.idle(1);
    expect(maxAsked).toBe(SIZE);
    expect(f.stats.failed.no_source + f.stats.failed.http).toBe(1);
  });
});
