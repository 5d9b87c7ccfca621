// Delivery over real WebRTC: @roamhq/wrtc peer connections on both sides (the SDK's NodePool
// and ChunkClient against a test node serving the chunk protocol), a real HTTP origin with
// Range support. Signalling is an in-process relay instead of the coordinator.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import wrtc from "@roamhq/wrtc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerOffer, type ServeLog, type ServeOptions } from "../../test/sdk/fog-node";
import { until } from "../../test/support/until";
import { chunkBytes } from "../protocol/manifest";
import type { FoundNode } from "../protocol/messages";
import { SDK_DEFAULTS, type PeerConnectionCtor } from "./config";
import { deliverFile, type DeliveryDeps } from "./delivery";
import type { FileEntry } from "./manifest-index";
import { NodePool } from "./node-pool";
import type { FallbackReason } from "./stats";

const CHUNK = 16 * 1024;
const data = new Uint8Array(randomBytes(5 * CHUNK + 5000));
const chunks = chunkBytes(data, CHUNK);
const byId = new Map(chunks.map((c, i) => [c.id, data.subarray(i * CHUNK, i * CHUNK + c.size)]));

interface TestNode {
  opts: ServeOptions;
  log: ServeLog;
  holds: Map<string, Uint8Array>;
}

let origin: Server;
let url: string;
const ranges: (string | undefined)[] = [];
const peers: RTCPeerConnection[] = [];

beforeAll(async () => {
  origin = createServer((req, res) => {
    ranges.push(req.headers.range);
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (m) {
      const a = Number(m[1]);
      const b = Number(m[2]);
      res.writeHead(206, { "content-range": `bytes ${a}-${b}/${data.length}` });
      res.end(data.subarray(a, b + 1));
    } else {
      res.writeHead(200);
      res.end(data);
    }
  });
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/seg1.ts`;
});
afterAll(async () => {
  for (const pc of peers) pc.close();
  await new Promise((r) => origin.close(r));
});

function setup(
  nodes: Record<string, TestNode>,
  found: FoundNode[],
  deadlineMs = 5000,
  stealFactor = 0,
) {
  const reports: [string, string, string][] = [];
  const steals: [string, string, string][] = [];
  const fallbacks: [FallbackReason, string | undefined][] = [];
  const fogBytes = new Map<string, number>();
  const bad = new Set<string>();
  const pool = new NodePool(
    {
      offer: (_session, node, sdp) => {
        const n = nodes[node]!;
        return answerOffer(sdp, n.holds, n.opts, n.log, peers);
      },
      dropSession: () => undefined,
    },
    {
      peerConnection: wrtc.RTCPeerConnection as unknown as PeerConnectionCtor,
      iceServers: [],
      connectTimeoutMs: 5000,
      chunkTimeoutMs: 3000,
      idleCloseMs: 60_000,
      badNodeMs: 60_000,
    },
  );
  const deps: DeliveryDeps = {
    find: () => Promise.resolve(found),
    usable: (n) => pool.usable(n),
    client: (n) => pool.client(n),
    markBad: (n) => {
      bad.add(n);
      pool.markBad(n);
    },
    report: (node, chunk, reason) => reports.push([node, chunk, reason]),
    fetch: globalThis.fetch,
    httpTimeoutMs: 5000,
    maxNodes: 3,
    maxInflightPerNode: 2,
    stealFactor,
    now: () => Date.now(),
    onFog: (node, bytes) => fogBytes.set(node, (fogBytes.get(node) ?? 0) + bytes),
    onNodeFailure: () => undefined,
    onFallback: (reason, chunk) => fallbacks.push([reason, chunk]),
    onSteal: (chunk, from, to) => steals.push([chunk, from, to]),
  };
  const entry: FileEntry = { url, file: { uri: url, size: data.length, chunks }, chunkSize: CHUNK };
  return {
    pool,
    run: () => deliverFile(entry, deps, deadlineMs),
    reports,
    fallbacks,
    fogBytes,
    bad,
    steals,
  };
}

const node = (opts: ServeOptions = {}, holds = byId): TestNode => ({
  opts,
  log: { gets: [], bytes: 0, messages: [] },
  holds,
});
const allIdx = chunks.map((_, i) => i);
/** The coordinator's answer: these nodes, best first, each holding every chunk. */
const ranked = (...names: string[]): FoundNode[] =>
  names.map((node, i) => ({ node, score: 0.9 - i / 10, has: allIdx, rttMs: 1 }));

describe("deliverFile over real WebRTC", () => {
  it("asks a node for its chunks in one message (a GET batch), and one GET at a time from a node that predates batches", async () => {
    const nodes = { a: node(), old: node({ noBatches: true }) };
    const t = setup(nodes, ranked("a", "old"));
    ranges.length = 0;
    const r = await t.run();
    t.pool.close();
    expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
    expect(r.bytesHttp).toBe(0);
    expect(ranges).toEqual([]);
    expect(t.fallbacks).toEqual([]);
    expect(t.bad.size).toBe(0);
    // maxInflightPerNode 2: the first two chunks for each node go in one message.
    expect(nodes.a.log.messages![0]).toBe(2);
    // The old node refused the batch (not logged as served); its GETs came again one by one.
    expect(nodes.old.log.messages!.length).toBeGreaterThanOrEqual(2);
    expect(nodes.old.log.messages!.every((n) => n === 1)).toBe(true);
    expect(nodes.a.log.gets.length + nodes.old.log.gets.length).toBe(chunks.length);
  });

  it("gets every chunk from two nodes in parallel, verified, no HTTP", async () => {
    const nodes = { a: node(), b: node() };
    const t = setup(nodes, ranked("a", "b"));
    ranges.length = 0;
    const r = await t.run();
    t.pool.close();
    expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
    expect(r.bytesFog).toBe(data.length);
    expect(r.bytesHttp).toBe(0);
    expect(ranges).toEqual([]);
    expect(nodes.a.log.gets.length).toBeGreaterThan(0);
    expect(nodes.b.log.gets.length).toBeGreaterThan(0); // spread over both
    expect(nodes.a.log.gets.length + nodes.b.log.gets.length).toBe(chunks.length);
    expect(t.fallbacks).toEqual([]);
  });

  it("catches a corrupted chunk: HTTP range for it, node reported and dropped", async () => {
    const badId = chunks[2]!.id;
    const nodes = { a: node({ corrupt: new Set([badId]) }) };
    const t = setup(nodes, ranked("a"));
    ranges.length = 0;
    const r = await t.run();
    t.pool.close();
    expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
    expect(t.reports).toContainEqual(["a", badId, "hash_mismatch"]);
    expect(t.bad.has("a")).toBe(true);
    expect(t.fallbacks).toContainEqual(["bad_hash", badId]);
    expect(r.bytesFog + r.bytesHttp).toBe(data.length);
    expect(r.bytesHttp).toBeGreaterThanOrEqual(CHUNK);
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges.every((x) => x !== undefined && x.startsWith("bytes="))).toBe(true);
    // Some Range request covers the bad chunk (it may be merged with chunks that were still
    // queued on the dropped node into one run).
    const covers = ranges.some((x) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(x ?? "");
      return m !== null && Number(m[1]) <= 2 * CHUNK && Number(m[2]) >= 3 * CHUNK - 1;
    });
    expect(covers, String(ranges)).toBe(true);
    expect(ranges).not.toContain(undefined); // never the whole file
  });

  it("a node speaking garbage is dropped and HTTP fills in", async () => {
    const nodes = { junk: node({ garbage: true }), good: node() };
    const t = setup(nodes, ranked("junk", "good"));
    const r = await t.run();
    t.pool.close();
    expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
    expect(t.bad.has("junk")).toBe(true);
    expect(t.bad.has("good")).toBe(false);
    expect(t.fogBytes.get("junk")).toBeUndefined();
    expect(t.fallbacks.every(([reason]) => reason === "node_error")).toBe(true);
    expect(t.fallbacks.length).toBeGreaterThan(0);
    expect(r.bytesFog + r.bytesHttp).toBe(data.length);
  });

  it("no nodes: one plain GET of the whole file", async () => {
    const t = setup({}, []);
    ranges.length = 0;
    const r = await t.run();
    t.pool.close();
    expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
    expect(r).toMatchObject({ bytesFog: 0, bytesHttp: data.length });
    expect(ranges).toEqual([undefined]);
    expect(t.fallbacks.map((f) => f[0])).toEqual(chunks.map(() => "no_nodes"));
  });

  it("a slow node misses the deadline: HTTP takes the missing chunks", async () => {
    const nodes = { slow: node({ delayMs: 1500 }) };
    const t = setup(nodes, ranked("slow"), 300);
    ranges.length = 0;
    const started = Date.now();
    const r = await t.run();
    const took = Date.now() - started;
    t.pool.close();
    expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
    expect(took).toBeLessThan(1500);
    expect(r.bytesHttp).toBe(data.length);
    expect(t.fallbacks.filter((f) => f[0] === "deadline")).toHaveLength(chunks.length);
  });

  it("a chunk slow on one node is also asked of an idle holder: the fast copy wins, the slow request is cancelled", async () => {
    const nodes = { slow: node({ delayMs: 1500 }), fast: node() };
    nodes.slow.log.cancels = 0;
    const t = setup(nodes, ranked("slow", "fast"), 5000, SDK_DEFAULTS.stealFactor);
    ranges.length = 0;
    const started = Date.now();
    const r = await t.run();
    const took = Date.now() - started;
    expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
    expect(took).toBeLessThan(1500);
    expect(r.bytesHttp).toBe(0);
    expect(ranges).toEqual([]);
    // slow got chunks 0 and 2 (maxInflightPerNode 2, least loaded first); both moved to fast.
    expect(t.steals).toEqual([
      [chunks[0]!.id, "slow", "fast"],
      [chunks[2]!.id, "slow", "fast"],
    ]);
    expect(t.fogBytes.get("fast")).toBe(data.length);
    expect(t.fallbacks).toEqual([]);
    expect(t.reports).toEqual([]);
    expect(t.bad.size).toBe(0); // a cancelled copy is not the node's failure
    // The CANCELs reach the slow node before its answers are due: it sends nothing.
    await until("2 CANCELs at the slow node", () => nodes.slow.log.cancels === 2, 3000, 10);
    await new Promise((res) => setTimeout(res, 1600));
    expect(nodes.slow.log.bytes).toBe(0);
    t.pool.close();
  });

  it("with stealFactor 0 a slow node keeps its chunks until they arrive", async () => {
    const nodes = { slow: node({ delayMs: 600 }), fast: node() };
    const t = setup(nodes, ranked("slow", "fast"), 5000, 0);
    const started = Date.now();
    const r = await t.run();
    const took = Date.now() - started;
    t.pool.close();
    expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
    expect(took).toBeGreaterThanOrEqual(600);
    expect(t.steals).toEqual([]);
    expect(t.fogBytes.get("slow")).toBe(2 * CHUNK);
  });

  it("a node that refuses (NOT_FOUND) is reported; a partial holder is combined with HTTP", async () => {
    const half = new Map([...byId].slice(0, 3));
    const nodes = { gone: node({ refuse: "NOT_FOUND" }), part: node({}, half) };
    const t = setup(nodes, [
      { node: "gone", score: 0.9, has: [5], rttMs: 1 },
      { node: "part", score: 0.8, has: [0, 1, 2], rttMs: 1 },
    ]);
    ranges.length = 0;
    const r = await t.run();
    t.pool.close();
    expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
    expect(r.bytesFog).toBe(3 * CHUNK);
    expect(r.bytesHttp).toBe(data.length - 3 * CHUNK);
    expect(t.reports).toContainEqual(["gone", chunks[5]!.id, "refused"]);
    expect(t.fallbacks).toContainEqual(["no_nodes", chunks[3]!.id]);
    expect(t.fallbacks).toContainEqual(["node_error", chunks[5]!.id]);
    expect(t.fogBytes.get("part")).toBe(3 * CHUNK);
  });
});
