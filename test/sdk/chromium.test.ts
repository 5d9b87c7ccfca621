// The SDK in real Chromium: hls.js with PearFog.attachHls plays a stream whose segments come
// from a wrtc fog node over WebRTC data channels (browser ⇄ Node peer on this machine), every
// byte verified against the signed manifest; a node serving a corrupted chunk is caught and
// reported; with no node everything goes over HTTP; stats add up.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SdkEvents } from "../../src/sdk/events";
import type { StatsSnapshot } from "../../src/sdk/stats";
import type { WrtcFogNode } from "./fog-node";
import { type Fixture, startFixture } from "./fixture";
import type { PageGlobals } from "../../scripts/demo/page-globals";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../support/chromium";

interface PlayResult {
  frags: { url: string; bytes: number; sha: string }[];
  stats: StatsSnapshot;
  fallback: SdkEvents["fallback"][];
  badnode: SdkEvents["badnode"][];
  delivered: SdkEvents["delivered"][];
  errors: string[];
  fetched?: { url: string; sha: string; bytes: number };
}

interface PlayArgs {
  coordinator: string;
  manifestUrl: string;
  publisher: string;
  playlistUrl: string;
  frags: number;
  fetchUrl?: string;
  /** Extra SDK options. */
  sdk?: Record<string, unknown>;
}

/** Runs in the page: play the stream with the fog loader until `frags` fragments loaded. */
async function play(page: Page, args: PlayArgs): Promise<PlayResult> {
  return page.evaluate(async (a: PlayArgs) => {
    const w = window as unknown as PageGlobals;
    const hex = (b: ArrayBuffer) =>
      [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
    const out = {
      frags: [] as { url: string; bytes: number; sha: Promise<string> }[],
      fallback: [] as unknown[],
      badnode: [] as unknown[],
      delivered: [] as unknown[],
      errors: [] as string[],
    };
    const hls = new w.Hls({ enableWorker: false, maxBufferLength: 30 });
    const opts = {
      coordinator: a.coordinator,
      manifestUrl: a.manifestUrl,
      publisher: a.publisher,
      statsIntervalMs: 0,
      ...a.sdk,
    };
    const fog = w.PearFog.attachHls(hls, opts);
    for (const ev of ["fallback", "badnode", "delivered"] as const) {
      fog.on(ev, (e: unknown) => out[ev].push(e));
    }
    let done: () => void = () => undefined;
    const all = new Promise<void>((r) => (done = r));
    hls.on(w.Hls.Events.FRAG_LOADED!, (_e: unknown, d: unknown) => {
      const { frag, payload } = d as { frag: { url: string }; payload: ArrayBuffer };
      // digest copies the bytes now, before hls.js transfers or parses them
      const sha = crypto.subtle.digest("SHA-256", payload).then(hex);
      out.frags.push({ url: frag.url, bytes: payload.byteLength, sha });
      if (out.frags.length >= a.frags) done();
    });
    hls.on(w.Hls.Events.ERROR!, (_e: unknown, d: unknown) => {
      const { details, fatal } = d as { details: string; fatal: boolean };
      out.errors.push(`${details}${fatal ? " (fatal)" : ""}`);
      if (fatal) done();
    });
    const video = document.getElementById("v") as HTMLVideoElement;
    hls.loadSource(a.playlistUrl);
    hls.attachMedia(video);
    void video.play().catch(() => undefined);
    await Promise.race([all, new Promise((r) => setTimeout(r, 40_000))]);
    const frags = await Promise.all(
      out.frags.map(async (f) => ({ url: f.url, bytes: f.bytes, sha: await f.sha })),
    );
    const stats = fog.stats();
    let fetched: { url: string; sha: string; bytes: number } | undefined;
    if (a.fetchUrl) {
      const c = w.PearFog.create(opts);
      const bytes = await c.fetch(a.fetchUrl);
      const sha = hex(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
      fetched = { url: a.fetchUrl, sha, bytes: bytes.length };
      c.destroy();
    }
    hls.destroy();
    return { ...out, frags, stats, fetched } as unknown as PlayResult;
  }, args);
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("SDK in Chromium", () => {
  let fx: Fixture;
  let ctx: BrowserContext;
  let profile: string;
  const consoleLines: string[] = [];

  beforeAll(async () => {
    fx = await startFixture();
    profile = mkdtempSync(join(tmpdir(), "pf-chromium-"));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: false, // --headless=new is in the args
      args: CHROMIUM_ARGS,
    });
  });
  afterAll(async () => {
    await ctx?.close();
    await fx?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function newPage(): Promise<Page> {
    const page = await ctx.newPage();
    page.on("console", (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
    page.on("pageerror", (e) => consoleLines.push(`[pageerror] ${e.message}`));
    await page.goto(fx.origin + "/");
    return page;
  }

  const args = (extra: Partial<PlayArgs> = {}): PlayArgs => ({
    coordinator: fx.coordinatorWs,
    manifestUrl: fx.manifestUrl,
    publisher: fx.publisher.did,
    playlistUrl: fx.playlistUrl,
    frags: fx.segments.size,
    ...extra,
  });

  /** Every fragment hls.js got is byte-identical to the published segment. */
  function expectVerified(r: PlayResult) {
    expect(r.frags.length, `errors: ${r.errors.join(", ")}`).toBe(fx.segments.size);
    for (const f of r.frags) expect(f.sha).toBe(sha(fx.segments.get(f.url)!));
    const bytes = r.frags.reduce((n, f) => n + f.bytes, 0);
    // Stats add up: what came from the fog plus what came over HTTP is what hls.js got.
    expect(r.stats.bytesFog + r.stats.bytesHttp).toBe(bytes);
    expect(r.delivered.length).toBe(fx.segments.size);
  }

  async function stopNode(n: WrtcFogNode) {
    await n.close();
    for (let i = 0; i < 100 && fx.coord.server.registry.get(n.did)?.link; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it("plays with every segment from two fog nodes in parallel, verified; fetch(url) too", async () => {
    const node = await fx.startNode();
    const node2 = await fx.startNode();
    const page = await newPage();
    fx.requests.length = 0;
    const fetchUrl = [...fx.segments.keys()][2]!;
    const r = await play(page, args({ fetchUrl }));
    const pairs = [...(await node.candidatePairs()), ...(await node2.candidatePairs())];
    await page.close();
    await stopNode(node);
    await stopNode(node2);
    expectVerified(r);
    expect(r.stats.bytesHttp, consoleLines.join("\n")).toBe(0);
    expect(r.stats.offloadRatio).toBe(1);
    expect(r.fallback).toEqual([]);
    // Chunks were spread over both nodes; per-node bytes add up to what came from the fog.
    const n1 = r.stats.nodes[node.did]!;
    const n2 = r.stats.nodes[node2.did]!;
    expect(n1.bytes).toBeGreaterThan(0);
    expect(n2.bytes).toBeGreaterThan(0);
    expect(n1.bytes + n2.bytes).toBe(r.stats.bytesFog);
    expect(n1.throughputBps).toBeGreaterThan(0);
    // The data channels really ran over ICE between Chromium and the Node peers.
    expect(pairs.length).toBeGreaterThanOrEqual(2);
    console.log(`ICE pairs (node side): ${pairs.join("; ")}`);
    // The origin served the playlist and manifest, never a segment.
    expect(fx.requests.filter((q) => q.path.endsWith(".ts"))).toEqual([]);
    expect(r.fetched).toEqual({
      url: fetchUrl,
      sha: sha(fx.segments.get(fetchUrl)!),
      bytes: fx.segments.get(fetchUrl)!.length,
    });
    expect(node.log.gets.length + node2.log.gets.length).toBeGreaterThanOrEqual(fx.chunks.size);
  });

  it("catches a node serving a corrupted chunk: HTTP for it, node reported, no bad byte played", async () => {
    const seg1 = fx.manifest.files[1]!;
    const badId = seg1.chunks[1]!.id;
    const node = await fx.startNode({ corrupt: new Set([badId]) });
    const credBefore = fx.coord.server.registry.get(node.did)!.credibility;
    const page = await newPage();
    fx.requests.length = 0;
    const r = await play(page, args());
    await page.close();
    expectVerified(r);
    expect(r.badnode).toContainEqual({ node: node.did, chunk: badId, reason: "hash_mismatch" });
    expect(r.stats.fallbacks.bad_hash).toBe(1);
    expect(r.stats.bytesFog).toBeGreaterThan(0); // segment 0 (at least) came from the fog
    expect(r.stats.bytesHttp).toBeGreaterThan(0);
    // The bad chunk's bytes came over HTTP: a Range request covering them (merged with any
    // chunk that was still in flight on the dropped node), or the whole segment if all were.
    const off = fx.manifest.chunkSize;
    const seg1Path = new URL(seg1.uri!).pathname;
    const covering = fx.requests.filter((q) => {
      if (q.path !== seg1Path) return false;
      if (q.range === undefined) return true;
      const m = /^bytes=(\d+)-(\d+)$/.exec(q.range);
      return m !== null && Number(m[1]) <= off && Number(m[2]) >= off + seg1.chunks[1]!.size - 1;
    });
    expect(covering.length, JSON.stringify(fx.requests)).toBeGreaterThan(0);
    // The coordinator took the report: credibility down, chunk no longer listed for the node.
    await expect
      .poll(() => fx.coord.server.registry.get(node.did)!.credibility)
      .toBeLessThan(credBefore);
    expect(fx.coord.server.content.holders(badId).has(node.did)).toBe(false);
    await stopNode(node);
  });

  it("a node slower than the deadline: HTTP takes over, playback data still verified", async () => {
    const node = await fx.startNode({ delayMs: 1500 });
    const page = await newPage();
    const started = Date.now();
    const r = await play(page, args({ sdk: { minDeadlineMs: 200, maxDeadlineMs: 200 } }));
    const took = Date.now() - started;
    await page.close();
    await stopNode(node);
    expectVerified(r);
    expect(r.stats.fallbacks.deadline).toBe(fx.chunks.size);
    expect(r.stats.bytesFog).toBe(0);
    // Four segments one after another, each capped by the 200 ms deadline + HTTP, not 1.5 s.
    expect(took).toBeLessThan(fx.segments.size * 1500);
  });

  it("with no fog node, every segment comes over HTTP", async () => {
    const page = await newPage();
    fx.requests.length = 0;
    const r = await play(page, args());
    await page.close();
    expectVerified(r);
    expect(r.stats.bytesFog).toBe(0);
    expect(r.stats.offloadRatio).toBe(0);
    expect(r.stats.fallbacks.no_nodes).toBe(fx.chunks.size);
    expect(fx.requests.filter((q) => q.path.endsWith(".ts")).length).toBe(fx.segments.size);
  });
});
