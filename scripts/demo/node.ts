// A demo fog node: a real pear-fogd (release build) plus the control-plane duties the node
// agent performs — sign in to the coordinator, relay offers to pear-fogd's control socket, fill
// the store as told (fetch from the origin, verify SHA-256, chunk_put), heartbeat inventory and
// bytes served. Kept to what the demo needs; the agent in src/agent/ is the product version.
import { createHash } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { NodeClient, type WebSocketLike } from "../../src/coordinator/node-client";
import { generateKeyPair } from "../../src/protocol/ed25519";
import { chunkLocations, parseManifest } from "../../src/protocol/manifest";
import type { ChunkLocation, Manifest } from "../../src/protocol/index";
import type { CoordinatorToNode, HoldSource } from "../../src/protocol/messages";
import { startPearFogd, type PearFogd } from "../../test/support/pear-fogd";

export interface DemoNode {
  did: string;
  daemon: PearFogd;
  /** Chunks fetched into the store, and fetches refused (bad hash / HTTP error). */
  filled(): { ok: number; failed: number };
  stop(): Promise<void>;
}

export async function startDemoNode(coordinatorUrl: string): Promise<DemoNode> {
  const daemon = await startPearFogd({ build: "release", http: true });
  const key = generateKeyPair();
  const held = new Set<string>();
  const pending: string[] = []; // added since the last heartbeat
  const manifests = new Map<string, Promise<{ m: Manifest; at: Map<string, ChunkLocation> }>>();
  let lastServed = 0;
  let ok = 0;
  let failed = 0;
  let staged = 0;

  const status = async () => (await daemon.ctl.request("status")) as Record<string, number>;
  let snapshot = await status();
  const poll = setInterval(
    () =>
      void status().then(
        (s) => (snapshot = s),
        () => undefined,
      ),
    500,
  );

  function manifestOf(content: string) {
    let p = manifests.get(content);
    if (!p) {
      p = fetch(`${coordinatorUrl}/api/manifests/${content}`).then(async (r) => {
        if (!r.ok) throw new Error(`manifest ${content}: HTTP ${r.status}`);
        const m = parseManifest(new Uint8Array(await r.arrayBuffer()));
        return { m, at: new Map([...chunkLocations(m)].map((l) => [l.id, l])) };
      });
      manifests.set(content, p);
    }
    return p;
  }

  async function fill(content: string, chunks: string[], sources: HoldSource[]) {
    const { m, at } = await manifestOf(content);
    if (!sources.some((s) => s.kind === "origin")) return;
    for (const id of chunks) {
      const loc = at.get(id);
      const file = loc && m.files[loc.file];
      if (!loc || !file?.uri) {
        failed++;
        continue;
      }
      try {
        const r = await fetch(file.uri, {
          headers: { range: `bytes=${loc.offset}-${loc.offset + loc.size - 1}` },
        });
        const bytes = new Uint8Array(await r.arrayBuffer());
        if (createHash("sha256").update(bytes).digest("hex") !== id) throw new Error("bad hash");
        const path = join(daemon.dir, `fill-${staged++}`);
        writeFileSync(path, bytes);
        await daemon.ctl.request("chunk_put", { chunk: id, path });
        rmSync(path, { force: true });
        held.add(id);
        pending.push(id);
        ok++;
      } catch {
        failed++;
      }
    }
  }

  const client: NodeClient = new NodeClient({
    url: `${coordinatorUrl.replace(/^http/, "ws")}/ws/node`,
    key,
    version: "demo",
    connect: (u) => new WebSocket(u) as unknown as WebSocketLike,
    heartbeat: (full) => {
      const served = snapshot.bytes_served_rtc_total ?? 0;
      const state = {
        capacity: {
          uplinkCapBps: 100_000_000,
          uplinkUsedBps: 0,
          storeBytes: snapshot.store_bytes ?? 0,
          storeCapBytes: snapshot.store_cap ?? 0,
          load: 0,
          reachability: "public" as const,
        },
        // After each (re)connect the first heartbeat carries the whole inventory.
        add: full ? (pending.splice(0), [...held]) : pending.splice(0),
        remove: [],
        bytesServed: served - lastServed,
      };
      lastServed = served;
      return state;
    },
    onMessage: (msg: CoordinatorToNode) => {
      if (msg.t === "sig.offer") {
        daemon.ctl.request("offer", { sdp: msg.sdp }).then(
          (r) => client.send({ t: "sig.answer", session: msg.session, sdp: r.sdp as string }),
          () => undefined, // refused (sharing off, full): the browser times out and falls back
        );
      } else if (msg.t === "node.hold") {
        void fill(msg.content, msg.chunks, msg.sources);
      }
    },
  });
  client.start();
  return {
    did: key.did,
    daemon,
    filled: () => ({ ok, failed }),
    async stop() {
      clearInterval(poll);
      client.stop();
      await daemon.stop();
    },
  };
}
