// A demo fog node: a real pear-fogd (release build) and the node agent (src/agent) on the Node
// platform next to it — sign-in, offer relay, store fill (other nodes, the origin), heartbeats — exactly
// what runs on a router, with loopback addresses and a temp store.
import { join } from "node:path";
import { AGENT_CONFIG_DEFAULTS, type AgentConfig } from "../../src/agent/config";
import { startAgent, type Agent, type AgentOptions } from "../../src/agent/agent";
import { createNodePlatform } from "../../src/platform/node/platform";
import type { Platform } from "../../src/platform/platform";
import { startPearFogd, type PearFogd } from "../../test/support/pear-fogd";

export interface DemoNode {
  did: string;
  daemon: PearFogd;
  agent: Agent;
  /** Chunks fetched into the store, and fetches refused (bad hash / HTTP error). */
  filled(): { ok: number; fromNodes: number; failed: number };
  stop(): Promise<void>;
}

export interface DemoNodeOptions {
  /** Agent configuration over the demo's (sharing on, 100 MB/s, 1 GiB store). */
  config?: Partial<AgentConfig>;
  agent?: Partial<AgentOptions>;
  /** Wrap the platform (tests inject a clock this way). */
  platform?: (p: Platform) => Platform;
  build?: "release" | "san";
}

export async function startDemoNode(
  coordinatorUrl: string,
  o: DemoNodeOptions = {},
): Promise<DemoNode> {
  const daemon = await startPearFogd({ build: o.build ?? "release", http: true });
  const base = await createNodePlatform({
    ctlPath: daemon.ctlPath,
    stagingDir: join(daemon.dir, "staging"),
    logLevel: "warn",
  });
  const platform = o.platform ? o.platform(base) : base;
  const config: AgentConfig = {
    ...AGENT_CONFIG_DEFAULTS,
    sharing: true,
    uploadCapBps: 100_000_000,
    storePath: daemon.storeDir,
    storeSizeBytes: 1 << 30,
    coordinatorUrl: `${coordinatorUrl.replace(/^http/, "ws")}/ws/node`,
    keyPath: join(daemon.dir, "node.key"),
    ...o.config,
  };
  const agent = await startAgent(config, platform, { tickMs: 500, ...o.agent });
  return {
    did: agent.stats().did,
    daemon,
    agent,
    filled() {
      const f = agent.stats().fill;
      return {
        ok: f.stored,
        fromNodes: f.fromNodes,
        failed: Object.values(f.failed).reduce((a, b) => a + b, 0),
      };
    },
    async stop() {
      await agent.stop();
      base.close();
      await daemon.stop();
    },
  };
}
