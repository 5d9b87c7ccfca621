// The hls.js loader contract, driven the way hls.js drives it, with a real FogClient whose
// manifest cannot be loaded (so fragments go over real HTTP from a local server).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FogClient } from "./client";
import {
  attachClientToHls,
  fogLoaderClass,
  type HlsLike,
  type HlsLoader,
  type HlsLoaderCallbacks,
  type HlsLoaderClass,
  type HlsLoaderContext,
  type HlsLoaderStats,
} from "./hls-loader";

const body = new Uint8Array(3000).map((_, i) => i & 0xff);
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const delay = req.url?.includes("slow") ? 500 : 0;
    setTimeout(() => {
      if (req.url?.includes("missing")) {
        res.writeHead(404);
        return res.end();
      }
      res.writeHead(200);
      res.end(body);
    }, delay);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function newClient(): FogClient {
  return new FogClient({
    coordinator: "ws://127.0.0.1:1/ws/browser",
    manifestUrl: `${base}/missing/manifest.json`,
    statsIntervalMs: 0,
  });
}

type Outcome =
  | { kind: "success"; data: ArrayBuffer; stats: HlsLoaderStats }
  | { kind: "error"; text: string }
  | { kind: "timeout" }
  | { kind: "abort" };

function callbacks(onDone: (o: Outcome) => void): HlsLoaderCallbacks {
  return {
    onSuccess: (r, stats) => onDone({ kind: "success", data: r.data, stats }),
    onError: (e) => onDone({ kind: "error", text: e.text }),
    onTimeout: () => onDone({ kind: "timeout" }),
    onAbort: () => onDone({ kind: "abort" }),
  };
}

/** hls.js's default loader stand-in: records that it was used for byte ranges. */
const baseLoads: HlsLoaderContext[] = [];
class RecordingBase implements HlsLoader {
  context: HlsLoaderContext | null = null;
  stats = {} as HlsLoaderStats;
  load(c: HlsLoaderContext) {
    baseLoads.push(c);
  }
  abort() {}
  destroy() {}
}

function ctx(url: string, range?: [number, number]): HlsLoaderContext {
  return {
    url,
    responseType: "arraybuffer",
    rangeStart: range?.[0] ?? 0,
    rangeEnd: range?.[1] ?? 0,
  };
}

describe("fog fragment loader", () => {
  it("delivers the fragment as an ArrayBuffer with loader stats", async () => {
    const client = newClient();
    const L = fogLoaderClass(client, RecordingBase, () => null);
    const loader = new L({});
    const o = await new Promise<Outcome>((r) =>
      loader.load(ctx(`${base}/seg0.ts`), { loadPolicy: { maxLoadTimeMs: 5000 } }, callbacks(r)),
    );
    expect(o.kind).toBe("success");
    if (o.kind !== "success") return;
    expect(o.data).toBeInstanceOf(ArrayBuffer);
    expect(new Uint8Array(o.data)).toEqual(body);
    expect(o.stats.loaded).toBe(body.length);
    expect(o.stats.loading.end).toBeGreaterThanOrEqual(o.stats.loading.start);
    expect(client.stats()).toMatchObject({ bytesHttp: body.length, bytesFog: 0, delivered: 1 });
    expect(client.stats().fallbacks.not_in_manifest).toBe(1);
    loader.destroy();
    client.destroy();
  });

  it("reports HTTP failure through onError", async () => {
    const client = newClient();
    const loader = new (fogLoaderClass(client, RecordingBase, () => null))({});
    const o = await new Promise<Outcome>((r) =>
      loader.load(ctx(`${base}/missing/seg.ts`), {}, callbacks(r)),
    );
    expect(o).toMatchObject({ kind: "error" });
    expect((o as { text: string }).text).toMatch(/HTTP 404/);
    client.destroy();
  });

  it("abort calls onAbort once and never onSuccess", async () => {
    const client = newClient();
    const loader = new (fogLoaderClass(client, RecordingBase, () => null))({});
    const seen: Outcome[] = [];
    loader.load(
      ctx(`${base}/slow/seg.ts`),
      {},
      callbacks((o) => seen.push(o)),
    );
    loader.abort();
    loader.abort();
    await new Promise((r) => setTimeout(r, 800));
    expect(seen.map((o) => o.kind)).toEqual(["abort"]);
    expect(loader.stats.aborted).toBe(true);
    client.destroy();
  });

  it("times out by the hls.js load policy", async () => {
    const client = newClient();
    const loader = new (fogLoaderClass(client, RecordingBase, () => null))({});
    const o = await new Promise<Outcome>((r) =>
      loader.load(ctx(`${base}/slow/seg.ts`), { loadPolicy: { maxLoadTimeMs: 100 } }, callbacks(r)),
    );
    expect(o.kind).toBe("timeout");
    client.destroy();
  });

  it("hands byte-range fragments to hls.js's own loader", () => {
    const client = newClient();
    const loader = new (fogLoaderClass(client, RecordingBase, () => null))({});
    baseLoads.length = 0;
    loader.load(
      ctx(`${base}/seg.ts`, [100, 200]),
      {},
      callbacks(() => undefined),
    );
    expect(baseLoads.map((c) => c.rangeStart)).toEqual([100]);
    client.destroy();
  });
});

describe("attachClientToHls", () => {
  it("installs fLoader, counts stalls, destroys the client with the player", () => {
    const handlers = new Map<string, (e: string, d: { details?: string }) => void>();
    const hls: HlsLike = {
      config: { loader: RecordingBase as HlsLoaderClass },
      media: null,
      on: (ev, cb) => void handlers.set(ev, cb),
    };
    const client = newClient();
    const stalls: number[] = [];
    client.on("stall", (s) => stalls.push(s.bufferAheadS));
    attachClientToHls(hls, client);
    expect(typeof hls.config.fLoader).toBe("function");
    handlers.get("hlsError")!("hlsError", { details: "bufferStalledError" });
    handlers.get("hlsError")!("hlsError", { details: "fragLoadError" });
    expect(client.stats().stalls).toBe(1);
    expect(stalls).toEqual([0]);
    handlers.get("hlsDestroying")!("hlsDestroying", {});
    return expect(client.fetch(`${base}/seg.ts`)).rejects.toMatchObject({ code: "aborted" });
  });
});
