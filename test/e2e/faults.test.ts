// Faults while a viewer watches: the demo's parts (ffmpeg HLS stream, origin, coordinator on
// SQLite, pear-fogd nodes with the agent, Chromium + hls.js + the SDK) with something going
// wrong mid-stream. Each test plays a 40 s stream at 2x and acts at 8 s of playback.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publish, type PublishResult } from "../../src/cli/publish";
import { signApiRequest } from "../../src/coordinator/api-auth";
import { startCoordinator } from "../../src/coordinator/main";
import { generateKeyPair, type KeyPair } from "../../src/protocol/ed25519";
import { makeHlsStream } from "../../scripts/demo/media";
import { startDemoNode, type DemoNode, type DemoNodeOptions } from "../../scripts/demo/node";
import { parseHours } from "../../src/agent/config";
import { startOrigin, type Origin } from "../../scripts/demo/origin";
import { PLAYER_PAGE, startPlayback, type PlayHandle } from "../../scripts/demo/player";
import { warmUp } from "../../scripts/demo/warmup";
import { WrtcFogNode } from "../sdk/fog-node";
import { execFileSync } from "node:child_process";

const ROOT = join(import.meta.dirname, "../..");
const SECONDS = 40;
const RATE = 2;
const ACT_AT = 8; // seconds of playback
const CHUNK = 64 * 1024;

interface Fog {
  coordUrl: string;
  coordPort: number;
  dbPath: string;
  restartCoordinator(): Promise<void>;
  nodes: DemoNode[];
  play(): Promise<PlayHandle>;
  status(): Promise<{ nodes: { id: string; credibility: number }[]; browsers: number }>;
  close(): Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), "pear-fog-faults-"));
const publisher: KeyPair = generateKeyPair();
let origin: Origin;
let pub: PublishResult;
let playlistUrl: string;
let allChunks: string[];
/** SHA-256 of every segment file, by URL path. */
const segmentHash = new Map<string, string>();

beforeAll(async () => {
  execFileSync(process.execPath, ["scripts/build.mjs", "sdk"], { cwd: ROOT });
  const media = join(dir, "media");
  makeHlsStream(media, SECONDS);
  const served: Record<string, string | Buffer> = {
    "/": PLAYER_PAGE,
    "/hls.js": readFileSync(join(ROOT, "node_modules/hls.js/dist/hls.min.js")),
    "/pear-fog-sdk.js": readFileSync(join(ROOT, "dist/pear-fog-sdk.js")),
  };
  origin = await startOrigin(dir, served);
  playlistUrl = `${origin.url}/media/master.m3u8`;
  pub = await publish(playlistUrl, { key: publisher, outDir: join(dir, "pub"), chunkSize: CHUNK });
  served["/manifest.json"] = readFileSync(pub.manifestPath);
  allChunks = pub.manifest.files.flatMap((f) => f.chunks.map((c) => c.id));
  for (const r of readdirSync(media, { withFileTypes: true })) {
    if (!r.isDirectory()) continue;
    for (const f of readdirSync(join(media, r.name))) {
      if (!f.endsWith(".ts")) continue;
      const bytes = readFileSync(join(media, r.name, f));
      segmentHash.set(`/media/${r.name}/${f}`, createHash("sha256").update(bytes).digest("hex"));
    }
  }
}, 120_000);

afterAll(async () => {
  await origin?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startFog(
  name: string,
  nNodes: number,
  nodeOptions: (i: number) => DemoNodeOptions = () => ({}),
): Promise<Fog> {
  const dbPath = join(dir, `${name}.sqlite`);
  const opts = {
    host: "127.0.0.1",
    dbPath,
    publishers: [publisher.did],
    placement: { intervalMs: 1000 },
  };
  let coord = await startCoordinator({ ...opts, port: 0 });
  const coordPort = Number(new URL(coord.url).port);
  const body = new Uint8Array(readFileSync(pub.manifestPath));
  const up = await fetch(`${coord.url}/api/manifests`, {
    method: "POST",
    headers: {
      authorization: signApiRequest(publisher.did, publisher.seed, "POST", "/api/manifests", body),
      "content-type": "application/json",
    },
    body,
  });
  expect(up.status).toBeLessThan(300);
  const nodes: DemoNode[] = [];
  for (let i = 0; i < nNodes; i++) nodes.push(await startDemoNode(coord.url, nodeOptions(i)));
  const browserWs = `${coord.url.replace(/^http/, "ws")}/ws/browser`;
  const players: PlayHandle[] = [];
  return {
    coordUrl: coord.url,
    coordPort,
    dbPath,
    nodes,
    async restartCoordinator() {
      await coord.close();
      await new Promise((r) => setTimeout(r, 500));
      coord = await startCoordinator({ ...opts, port: coordPort });
    },
    async play() {
      const covered = await warmUp(browserWs, pub.contentId, allChunks, 60_000);
      expect(covered).toBeGreaterThan(0.9);
      const h = await startPlayback({
        pageUrl: `${origin.url}/`,
        playlistUrl,
        coordinator: browserWs,
        manifestUrl: `${origin.url}/manifest.json`,
        publisher: publisher.did,
        rate: RATE,
        timeoutMs: (SECONDS / RATE) * 1000 * 3 + 30_000,
        hashFragments: true,
        // 10 s of media ahead (5 s of wall time at 2x): segments keep loading after the fault.
        maxBufferLength: 10,
      });
      players.push(h);
      return h;
    },
    async status() {
      const r = await fetch(`${coord.url}/api/status`);
      return (await r.json()) as { nodes: { id: string; credibility: number }[]; browsers: number };
    },
    async close() {
      for (const p of players) await p.close().catch(() => undefined);
      for (const n of nodes) await n.stop().catch(() => undefined);
      await coord.close().catch(() => undefined);
    },
  };
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every fragment hls.js received matches the origin's file byte for byte. */
function expectIntactFragments(fragments: { url: string; sha256: string }[]): void {
  expect(fragments.length).toBeGreaterThan(SECONDS / 2 - 2);
  for (const f of fragments) {
    const path = new URL(f.url).pathname;
    expect(f.sha256, path).toBe(segmentHash.get(path));
  }
}

const sum = (o: Record<string, { bytes: number }>, skip?: string) =>
  Object.entries(o).reduce((n, [id, s]) => (id === skip ? n : n + s.bytes), 0);

describe("faults mid-stream", () => {
  it("a node killed mid-stream: no stall, the others take over, the coordinator drops it", async () => {
    const fog = await startFog("kill", 3);
    try {
      const player = await fog.play();
      const before = await player.reach(ACT_AT, 60_000);
      const victim = fog.nodes.reduce((a, b) =>
        (before.nodes[a.did]?.bytes ?? 0) >= (before.nodes[b.did]?.bytes ?? 0) ? a : b,
      );
      expect(before.nodes[victim.did]?.bytes ?? 0).toBeGreaterThan(0);
      // The router dies: pear-fogd and its agent at once (the agent's socket drops with it).
      const exited = new Promise((r) => victim.daemon.proc.once("exit", r));
      victim.daemon.proc.kill("SIGKILL");
      await exited;
      await victim.agent.stop();
      const r = await player.result;
      expect(r.ended, JSON.stringify(r.errors)).toBe(true);
      expect(r.stalls, JSON.stringify({ stallAt: r.stallAt, fallbacks: r.fallbacks })).toBe(0);
      expect(sum(r.nodes, victim.did)).toBeGreaterThan(sum(before.nodes, victim.did));
      expectIntactFragments(r.fragments);
      const st = await fog.status();
      expect(st.nodes.map((n) => n.id)).not.toContain(victim.did);
      expect(st.nodes.length).toBe(2);
      console.log(
        `kill: fog ${r.bytesFog} http ${r.bytesHttp} fallback segments ${r.fallbackSegments} ${JSON.stringify(r.fallbacks)}`,
      );
    } finally {
      await fog.close();
    }
  }, 180_000);

  it("a node serving corrupted bytes: caught by hash, reported, banned; no bad byte reaches the player", async () => {
    // One honest node and a node that holds every chunk and lies about all of them. The SDK
    // spreads a segment's chunks over its holders (least in-flight first), so the liar is
    // asked as soon as a segment has two chunks that both nodes hold, whatever the ranking.
    const fog = await startFog("corrupt", 1);
    const chunks = new Map(
      allChunks.map((id) => [id, new Uint8Array(readFileSync(join(dir, "pub", "chunks", id)))]),
    );
    const liar = new WrtcFogNode(chunks, { corrupt: new Set(allChunks) });
    await liar.start(fog.coordUrl);
    try {
      const initial = (await fog.status()).nodes.find((n) => n.id === liar.did)!.credibility;
      const player = await fog.play();
      const r = await player.result;
      expect(r.ended, JSON.stringify(r.errors)).toBe(true);
      expect(r.stalls, JSON.stringify({ stallAt: r.stallAt, fallbacks: r.fallbacks })).toBe(0);
      expect(liar.log.gets.length).toBeGreaterThan(0); // it was asked, and it lied
      // Caught by hash: a failure on the liar (its chunk then comes over HTTP, or from the
      // honest node when that one was also asked for it: the endgame steal).
      expect(r.nodes[liar.did]?.failures ?? 0).toBeGreaterThanOrEqual(1);
      expectIntactFragments(r.fragments);
      // Banned for this viewer: after the first bad chunk(s) it is not asked again for long.
      expect(liar.log.gets.length).toBeLessThan(allChunks.length / 4);
      const after = (await fog.status()).nodes.find((n) => n.id === liar.did);
      expect(after?.credibility ?? 0).toBeLessThan(initial);
      console.log(
        `corrupt: liar asked ${liar.log.gets.length} times, failed ${r.nodes[liar.did]?.failures}, credibility ${initial} -> ${after?.credibility}, fallbacks ${JSON.stringify(r.fallbacks)}`,
      );
    } finally {
      await liar.close();
      await fog.close();
    }
  }, 180_000);

  it("the coordinator restarted mid-stream: playback goes on, nodes sign in again", async () => {
    const fog = await startFog("restart", 3);
    try {
      const player = await fog.play();
      const before = await player.reach(ACT_AT, 60_000);
      const restarted = Date.now();
      await fog.restartCoordinator();
      const back = await until(
        "nodes back",
        async () => {
          const s = await fog.status().catch(() => undefined);
          return s && s.nodes.length === 3 ? s : undefined;
        },
        20_000,
      );
      expect(back.nodes.length).toBe(3);
      // The viewer's SDK reconnects in the background (it has reports to send).
      await until(
        "browser back",
        async () => ((await fog.status().catch(() => undefined))?.browsers ? true : undefined),
        15_000,
      );
      const browserBackMs = Date.now() - restarted;
      const r = await player.result;
      expect(r.ended, JSON.stringify(r.errors)).toBe(true);
      expect(r.stalls, JSON.stringify({ stallAt: r.stallAt, fallbacks: r.fallbacks })).toBe(0);
      expect(r.bytesFog).toBeGreaterThan(before.bytesFog); // the fog kept serving
      expectIntactFragments(r.fragments);
      console.log(
        `restart: fog before ${before.bytesFog} after ${r.bytesFog}, http ${r.bytesHttp}, browser back ${browserBackMs} ms after the restart`,
      );
    } finally {
      await fog.close();
    }
  }, 180_000);

  it("a node whose sharing hours end mid-stream: it stops gracefully, the others take over", async () => {
    // Every node shares 00:00-12:00 on its own injected clock, all at 01:00 to start with.
    const minute = [60, 60, 60];
    const fog = await startFog("hours", 3, (i) => ({
      config: { hours: [parseHours("hours", "00:00-12:00")] },
      agent: { tickMs: 200, graceMs: 3000 },
      platform: (p) => ({ ...p, localTime: () => ({ minuteOfDay: minute[i]!, month: "2026-11" }) }),
    }));
    try {
      const player = await fog.play();
      const before = await player.reach(ACT_AT, 60_000);
      const i = fog.nodes.reduce(
        (best, n, k) =>
          (before.nodes[n.did]?.bytes ?? 0) > (before.nodes[fog.nodes[best]!.did]?.bytes ?? 0)
            ? k
            : best,
        0,
      );
      const node = fog.nodes[i]!;
      expect(before.nodes[node.did]?.bytes ?? 0).toBeGreaterThan(0);
      minute[i] = 12 * 60; // 12:00 on that router: its window has ended
      await node.agent.tick();
      expect(node.agent.stats().sharing).toBe(false);
      expect(node.agent.stats().reason).toBe("outside_hours");
      expect((await node.daemon.ctl.request("status")).sharing).toBe(false);
      // It leaves the coordinator; after the grace period its sessions are closed.
      await until(
        "node gone from the coordinator",
        async () => ((await fog.status()).nodes.some((n) => n.id === node.did) ? undefined : true),
        10_000,
      );
      await until(
        "sessions closed",
        async () =>
          ((await node.daemon.ctl.request("status")).peers_active as number) === 0
            ? true
            : undefined,
        15_000,
      );
      const r = await player.result;
      expect(r.ended, JSON.stringify(r.errors)).toBe(true);
      expect(r.stalls, JSON.stringify({ stallAt: r.stallAt, fallbacks: r.fallbacks })).toBe(0);
      expect(sum(r.nodes, node.did)).toBeGreaterThan(sum(before.nodes, node.did));
      expectIntactFragments(r.fragments);
      console.log(
        `hours: fog ${r.bytesFog} http ${r.bytesHttp} fallback segments ${r.fallbackSegments} ${JSON.stringify(r.fallbacks)}; ` +
          `node bytes at the switch ${before.nodes[node.did]?.bytes}, at the end ${r.nodes[node.did]?.bytes}`,
      );
    } finally {
      await fog.close();
    }
  }, 180_000);
});
