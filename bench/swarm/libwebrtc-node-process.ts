// The swarm bench's libwebrtc fog node (`libwebrtcNodes: 1`): Google's WebRTC stack
// (@roamhq/wrtc) as the server side of the fog, in a process of its own like pear-fogd. It signs
// in to the coordinator as a node (test/sdk/fog-node.ts: node.hello → challenge → auth,
// heartbeats), holds every chunk of the catalogue in memory from the start (read from the
// origin's files and checked against the published manifests) and answers the viewers' offers,
// serving the chunk protocol with DATA frames as large as pear-fogd's.
//   child:  tsx bench/swarm/libwebrtc-node-process.ts COORDINATOR_URL CATALOGUE_DIR
//           → prints "ready <did> <chunks>"
//   parent: startLibwebrtcSwarmNode(coordinatorUrl, dir)
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Manifest } from "../../src/protocol/manifest-types";
import { PEARFOGD_DATA_PIECE, WrtcFogNode } from "../../test/sdk/fog-node";
import { childLines, spawnModule, stopChild } from "./child";
import type { SwarmNode } from "./nodes";

/** Every chunk of the catalogue under `root` (items/v<i>/manifest.json), each one verified. */
export function loadCatalogueChunks(root: string): Map<string, Uint8Array> {
  const chunks = new Map<string, Uint8Array>();
  const items = join(root, "items");
  for (const item of readdirSync(items)) {
    const m = JSON.parse(readFileSync(join(items, item, "manifest.json"), "utf8")) as Manifest;
    for (const f of m.files) {
      const bytes = readFileSync(join(root, new URL(f.uri!).pathname));
      let off = 0;
      for (const c of f.chunks) {
        const b = new Uint8Array(bytes.subarray(off, off + c.size));
        off += c.size;
        if (createHash("sha256").update(b).digest("hex") !== c.id) {
          throw new Error(`${f.uri}: the bytes of chunk ${c.id} do not match the manifest`);
        }
        chunks.set(c.id, b);
      }
    }
  }
  return chunks;
}

export async function startLibwebrtcSwarmNode(
  coordinatorUrl: string,
  dir: string,
): Promise<SwarmNode> {
  const child = spawnModule(fileURLToPath(import.meta.url), [coordinatorUrl, dir]);
  const line = await childLines(child, "libwebrtc node")();
  const [word, , count] = line.split(" ");
  if (word !== "ready") throw new Error(`libwebrtc node said: ${line}`);
  return {
    pid: child.pid ?? 0,
    filled: async () => ({ stored: Number(count), failed: undefined }),
    status: async () => ({}), // no SCTP counters or served bytes of its own to report
    stop: () => stopChild(child),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [coordinatorUrl, dir] = process.argv.slice(2);
  const chunks = loadCatalogueChunks(dir!);
  const node = new WrtcFogNode(chunks, { pieceBytes: PEARFOGD_DATA_PIECE });
  await node.start(coordinatorUrl!);
  process.stdout.write(`ready ${node.did} ${chunks.size}\n`);
  process.on("SIGTERM", () => {
    void node.close().finally(() => process.exit(0));
  });
}
