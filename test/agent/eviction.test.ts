// Chunks pear-fogd evicts leave the coordinator's index within seconds, not at the agent's
// minute-long inventory refresh: a coordinator, one pear-fogd + agent node with a store of four
// chunks, an origin. The node fills a clip's three chunks; then four other chunks put straight
// into its store push the clip's out (LRU), and the coordinator must stop offering the node for
// them. Heartbeat and inventory refresh are set to ten minutes, so only the prompt report the
// eviction triggers can explain the coordinator forgetting them within the test's time.
import { randomBytes } from "node:crypto";
import { afterEach, expect, it } from "vitest";
import { startDemoNode, type DemoNode } from "../../scripts/demo/node";
import { LONGER_THAN_A_TEST_MS, startContentWorld, until, type ContentWorld } from "./support";

const CHUNK = 64 * 1024;

let w: ContentWorld | undefined;
let node: DemoNode | undefined;

afterEach(async () => {
  await node?.stop();
  await w?.close();
});

it("the coordinator stops offering a node for chunks its store evicted", async () => {
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
    config: { storeSizeBytes: 4 * CHUNK },
    agent: { tickMs: 200, inventoryRefreshMs: LONGER_THAN_A_TEST_MS },
  });
  const n = node;
  await until(
    "the node offered for every chunk",
    async () => ((await world.link.find(world.contentId, ids)).length > 0 ? true : undefined),
    8000,
  );
  await until("all filled", () => (n.agent.stats().fill.stored === ids.length ? true : undefined));

  for (let i = 0; i < 4; i++) await n.daemon.putChunk(new Uint8Array(randomBytes(CHUNK)));
  const have = (await n.daemon.ctl.request("chunk_has", { chunks: ids })).have as string[];
  expect(have).toEqual([]); // the store really evicted them
  await until(
    "the coordinator forgetting the evicted chunks",
    async () => ((await world.link.find(world.contentId, ids)).length === 0 ? true : undefined),
    20_000,
  );
}, 40_000);
