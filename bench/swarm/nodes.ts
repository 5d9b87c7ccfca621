// The swarm bench's fog nodes. `nativeNodes: 1` (default): pear-fogd (release build) with the
// agent embedded in its QuickJS — what a router runs; fills hashed in C, nothing of the node in
// the bench process. `nativeNodes: 0`: the demo node glue (scripts/demo/node.ts): pear-fogd with
// the agent on the Node platform inside the bench process, whose fills (SHA-256 in JS, HTTP)
// then share the viewers' event loop.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDemoNode } from "../../scripts/demo/node";
import { startPearFogdWithAgent } from "../../test/support/pear-fogd";

export interface SwarmNode {
  /** pear-fogd's pid (its CPU is the node's; a native node's agent runs inside it). */
  pid: number;
  /** Chunks in the store now, and fills refused (undefined where the agent does not say). */
  filled(): Promise<{ stored: number; failed: number | undefined }>;
  /** pear-fogd's status (its metrics as JSON members). */
  status(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Store cap and upload cap of every node (1 GiB, 100 MB/s: the demo's). */
const STORE = "1G";
const UPLOAD = "100M";

export async function startSwarmNode(coordinatorUrl: string, native: boolean): Promise<SwarmNode> {
  if (!native) {
    const n = await startDemoNode(coordinatorUrl);
    return {
      pid: n.daemon.proc.pid ?? 0,
      filled: async () => {
        const f = n.filled();
        return { stored: f.ok, failed: f.failed };
      },
      status: async () => (await n.daemon.ctl.request("status", {})) as Record<string, unknown>,
      stop: () => n.stop(),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "pear-fog-swarm-node-"));
  const d = await startPearFogdWithAgent(dir, coordinatorUrl, {
    build: "release",
    http: true, // other nodes fill from it
    extraConfig: { store_size: STORE, upload_cap: UPLOAD },
  });
  const status = async () => (await d.ctl.request("status", {})) as Record<string, unknown>;
  return {
    pid: d.proc.pid ?? 0,
    async filled() {
      const s = await status();
      return { stored: typeof s.store_chunks === "number" ? s.store_chunks : 0, failed: undefined };
    },
    status,
    async stop() {
      await d.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
