// Node-to-node fill against real parts: a coordinator, two pear-fogd + agent nodes, an origin.
// Node A fills from the origin; then the origin goes down and node B, told to hold the same
// chunks, gets them from A's pear-fogd (GET /chunks/<id>) — each checked against the signed
// manifest before B's store takes it. And a node reports what it filled at once.
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoNode, type DemoNode } from "../../scripts/demo/node";
import { LONGER_THAN_A_TEST_MS, startContentWorld, until, type ContentWorld } from "./support";

const CHUNK = 128 * 1024;

describe("a node fills from another node when the origin is down", () => {
  let w: ContentWorld;
  const nodes: DemoNode[] = [];
  let chunks: string[];

  beforeAll(async () => {
    w = await startContentWorld({
      files: { "movie.bin": randomBytes(6 * CHUNK) },
      chunkSize: CHUNK,
      coordinator: { placement: { intervalMs: 300, replication: 2 } },
    });
    chunks = w.chunks.get("movie.bin")!;
  }, 60_000);

  afterAll(async () => {
    for (const n of nodes) await n.stop();
    await w?.close();
  });

  const stored = async (n: DemoNode) =>
    (await n.daemon.ctl.request("chunk_has", { chunks })).have as string[];

  it("node A fills from the origin", async () => {
    nodes.push(await startDemoNode(w.coord.url, { build: "san", agent: { tickMs: 200 } }));
    const a = nodes[0]!;
    await until("A's fill", async () => {
      await w.link.find(w.contentId, chunks);
      return (await stored(a)).length === chunks.length || undefined;
    });
    expect(a.agent.stats().fill.fromNodes).toBe(0);
    expect(w.origin.requests()).toBeGreaterThanOrEqual(chunks.length);
  }, 40_000);

  it("node B, with the origin down, gets every chunk from A, verified", async () => {
    w.origin.goDown();
    const before = w.origin.requests();
    nodes.push(await startDemoNode(w.coord.url, { build: "san", agent: { tickMs: 200 } }));
    const b = nodes[1]!;
    await until("B's fill from A", async () => {
      await w.link.find(w.contentId, chunks);
      return (await stored(b)).length === chunks.length || undefined;
    });
    const fill = b.agent.stats().fill;
    expect(fill.fromNodes).toBe(chunks.length);
    expect(fill.badNodeBytes).toBe(0);
    expect(fill.failed.bad_hash).toBe(0);
    // B asked the origin nothing: its node source answered first.
    expect(w.origin.requests()).toBe(before);
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
  let w: ContentWorld | undefined;
  let node: DemoNode | undefined;

  afterAll(async () => {
    await node?.stop();
    await w?.close();
  });

  it("the coordinator offers filled chunks without waiting for the next heartbeat", async () => {
    w = await startContentWorld({
      files: { "clip.bin": randomBytes(3 * CHUNK) },
      chunkSize: CHUNK,
      coordinator: {
        heartbeatMs: LONGER_THAN_A_TEST_MS,
        nodeDeadAfterMs: 2 * LONGER_THAN_A_TEST_MS,
        placement: { intervalMs: 300 },
      },
    });
    const world = w;
    const ids = world.chunks.get("clip.bin")!;
    node = await startDemoNode(world.coord.url, {
      build: "san",
      agent: { tickMs: 200, inventoryRefreshMs: LONGER_THAN_A_TEST_MS },
    });
    const n = node;
    // Signed in: its first (full) heartbeat is out, before anything was filled; the next
    // regular one is ten minutes away, so only the prompt fill report can tell the coordinator.
    await until("signed in", () => n.agent.stats().connected || undefined);
    await until(
      "the coordinator offering the node",
      async () => ((await world.link.find(world.contentId, ids)).length > 0 ? true : undefined),
      20_000,
    );
    expect(n.agent.stats().fill.stored).toBe(ids.length);
  }, 40_000);
});
