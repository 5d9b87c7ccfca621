// Node-to-node fill against real parts: a coordinator, two pear-fogd + agent nodes, an origin.
// Node A fills from the origin; then the origin goes down and node B, told to hold the same
// chunks, gets them from A's pear-fogd (GET /chunks/<id>) — each checked against the signed
// manifest before B's store takes it.
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publish } from "../../src/cli/publish";
import { startCoordinator } from "../../src/coordinator/main";
import { generateKeyPair } from "../../src/protocol/ed25519";
import { startDemoNode, type DemoNode } from "../../scripts/demo/node";
import { BrowserLink, startOrigin, until, uploadManifest } from "./support";

const CHUNK = 128 * 1024;

describe("a node fills from another node when the origin is down", () => {
  const dir = mkdtempSync(join(tmpdir(), "pear-fog-node-fill-"));
  const publisher = generateKeyPair();
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  const nodes: DemoNode[] = [];
  let link: BrowserLink;
  let content: string;
  let chunks: string[];

  beforeAll(async () => {
    const media = join(dir, "media");
    mkdirSync(media);
    writeFileSync(join(media, "movie.bin"), randomBytes(6 * CHUNK));
    origin = await startOrigin(media, new Map());
    const pub = await publish(media, {
      key: publisher,
      outDir: join(dir, "pub"),
      chunkSize: CHUNK,
      origins: [origin.url],
    });
    content = pub.contentId;
    chunks = pub.manifest.files[0]!.chunks.map((c) => c.id);
    coord = await startCoordinator({
      host: "127.0.0.1",
      port: 0,
      dbPath: join(dir, "coordinator.sqlite"),
      publishers: [publisher.did],
      placement: { intervalMs: 300, replication: 2 },
    });
    await uploadManifest(coord.url, publisher, pub.manifestPath);
    link = await BrowserLink.open(`${coord.url.replace(/^http/, "ws")}/ws/browser`);
  }, 60_000);

  afterAll(async () => {
    link?.close();
    for (const n of nodes) await n.stop();
    await coord?.close();
    await origin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const stored = async (n: DemoNode) =>
    (await n.daemon.ctl.request("chunk_has", { chunks })).have as string[];

  it("node A fills from the origin", async () => {
    nodes.push(await startDemoNode(coord.url, { build: "san", agent: { tickMs: 200 } }));
    const a = nodes[0]!;
    await until("A's fill", async () => {
      await link.find(content, chunks);
      return (await stored(a)).length === chunks.length || undefined;
    });
    expect(a.agent.stats().fill.fromNodes).toBe(0);
    expect(origin.requests()).toBeGreaterThanOrEqual(chunks.length);
  }, 40_000);

  it("node B, with the origin down, gets every chunk from A, verified", async () => {
    origin.goDown();
    const before = origin.requests();
    nodes.push(await startDemoNode(coord.url, { build: "san", agent: { tickMs: 200 } }));
    const b = nodes[1]!;
    await until("B's fill from A", async () => {
      await link.find(content, chunks);
      return (await stored(b)).length === chunks.length || undefined;
    });
    const fill = b.agent.stats().fill;
    expect(fill.fromNodes).toBe(chunks.length);
    expect(fill.badNodeBytes).toBe(0);
    expect(fill.failed.bad_hash).toBe(0);
    // B asked the origin nothing: its node source answered first.
    expect(origin.requests()).toBe(before);
    // And what B holds is what the manifest says: pear-fogd serves it under its hash.
    const port = (await b.daemon.ctl.request("status", {})).http_port as number;
    for (const id of chunks) {
      const r = await fetch(`http://127.0.0.1:${port}/chunks/${id}`);
      const body = new Uint8Array(await r.arrayBuffer());
      expect(createHash("sha256").update(body).digest("hex")).toBe(id);
    }
  }, 40_000);
});

describe("a node reports what it filled without waiting for its heartbeat", () => {
  const dir = mkdtempSync(join(tmpdir(), "pear-fog-report-soon-"));
  const publisher = generateKeyPair();
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let node: DemoNode | undefined;
  let link: BrowserLink;

  afterAll(async () => {
    link?.close();
    await node?.stop();
    await coord?.close();
    await origin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the coordinator offers filled chunks well before the next 10 s heartbeat", async () => {
    const media = join(dir, "media");
    mkdirSync(media);
    writeFileSync(join(media, "clip.bin"), randomBytes(3 * CHUNK));
    origin = await startOrigin(media, new Map());
    const pub = await publish(media, {
      key: publisher,
      outDir: join(dir, "pub"),
      chunkSize: CHUNK,
      origins: [origin.url],
    });
    const ids = pub.manifest.files[0]!.chunks.map((c) => c.id);
    coord = await startCoordinator({
      host: "127.0.0.1",
      port: 0,
      dbPath: join(dir, "coordinator.sqlite"),
      publishers: [publisher.did],
      heartbeatMs: 10_000,
      nodeDeadAfterMs: 60_000,
      placement: { intervalMs: 300 },
    });
    await uploadManifest(coord.url, publisher, pub.manifestPath);
    link = await BrowserLink.open(`${coord.url.replace(/^http/, "ws")}/ws/browser`);
    node = await startDemoNode(coord.url, { build: "san", agent: { tickMs: 200 } });
    const n = node;
    // Signed in: its first (full) heartbeat is out; the next regular one is 10 s away.
    await until("signed in", () => n.agent.stats().connected || undefined);
    const t0 = Date.now();
    await until(
      "the coordinator offering the node",
      async () => ((await link.find(pub.contentId, ids)).length > 0 ? true : undefined),
      8000,
    );
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(n.agent.stats().fill.stored).toBe(ids.length);
  }, 40_000);
});
