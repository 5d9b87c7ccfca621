// The agent inside pear-fogd (QuickJS-ng, the native platform's WebSocket on ws_client.c) against a
// real coordinator (src/coordinator, SQLite in a temp dir, loopback): it registers, shows up as a
// live node, heartbeats; a browser's offer relayed by the coordinator gets pear-fogd's answer, and
// a @roamhq/wrtc peer then fetches a chunk over the data channel and checks its hash. The
// coordinator restarting on the same port: the agent reconnects by itself.
import wrtc from "@roamhq/wrtc";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startCoordinator } from "../../src/coordinator/main";
import {
  decodeCoordinatorToBrowser,
  encodeMessage,
  type CoordinatorToBrowser,
} from "../../src/protocol/messages";
import { ChunkClient } from "../../src/sdk/chunk-client";
import { randomChunk, startPearFogdWithAgent, type PearFogd } from "../support/pear-fogd";

async function until<T>(what: string, f: () => T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A browser's link to the coordinator: one sig.offer, its sig.answer. */
async function offerThroughCoordinator(url: string, node: string, sdp: string): Promise<string> {
  const ws = new WebSocket(url);
  await new Promise<void>((res, rej) => (ws.once("open", () => res()), ws.once("error", rej)));
  try {
    ws.send(encodeMessage({ t: "browser.hello", version: "native-test" }));
    const answer = new Promise<string>((res, rej) => {
      const timer = setTimeout(() => rej(new Error("no sig.answer")), 15_000);
      ws.on("message", (d) => {
        const m: CoordinatorToBrowser = decodeCoordinatorToBrowser(String(d));
        if (m.t === "sig.answer" && m.session === "s1") {
          clearTimeout(timer);
          res(m.sdp);
        }
      });
    });
    ws.send(encodeMessage({ t: "sig.offer", session: "s1", node, sdp }));
    return await answer;
  } finally {
    ws.close();
  }
}

describe("pear-fogd's embedded agent with a real coordinator", () => {
  const dir = mkdtempSync(join(tmpdir(), "pear-fog-native-coord-"));
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let d: PearFogd;
  let did: string;

  beforeAll(async () => {
    coord = await startCoordinator({
      host: "127.0.0.1",
      port: 0,
      dbPath: join(dir, "coordinator.sqlite"),
    });
    d = await startPearFogdWithAgent(dir, coord.url, { http: true });
  }, 60_000);

  afterAll(async () => {
    const code = await d?.stop();
    if (code !== 0) console.error(d?.log());
    await coord?.close();
    rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  it("registers, shows up as a live node and heartbeats", async () => {
    did = await until("the node's key", () => /agent: node (did:key:\S+),/.exec(d.log())?.[1]);
    const entry = await until("the node in the registry", () =>
      coord.server.registry.list().find((n) => n.id === did),
    );
    // The registry has the node before the agent has read the welcome: wait for the log line.
    await until("the agent's sign-in", () => /agent: signed in to the coordinator/.test(d.log()));
    const seq0 = entry.lastSeq;
    await until("two more heartbeats", () => entry.lastSeq >= seq0 + 2 || undefined, 10_000);
    const status = coord.server.statusData().nodes.find((n) => n.id === did);
    expect(status).toBeDefined();
    expect(status!.lastSeenAgoMs).toBeLessThan(3000);
    // pear-fogd's own figures reached the coordinator through the heartbeats
    expect(entry.capacity.storeCapBytes).toBeGreaterThan(0);
  }, 30_000);

  it("answers a browser's offer relayed by the coordinator; a wrtc peer fetches a chunk", async () => {
    const chunk = randomChunk(200 * 1024);
    const id = await d.putChunk(chunk);
    const pc = new wrtc.RTCPeerConnection();
    try {
      const dc = pc.createDataChannel("pear-fog-chunks");
      await pc.setLocalDescription(await pc.createOffer());
      const answer = await offerThroughCoordinator(
        `${coord.url.replace(/^http/, "ws")}/ws/browser`,
        did,
        pc.localDescription!.sdp,
      );
      // pear-fogd answers as a full ICE agent (controlled) since the reachability work
      expect(answer).toMatch(/a=candidate:/);
      expect(answer).not.toMatch(/a=ice-lite/);
      await pc.setRemoteDescription({ type: "answer", sdp: answer });
      await until("data channel open", () => dc.readyState === "open" || undefined, 15_000);
      const client = new ChunkClient(dc as never, { requestTimeoutMs: 30_000 });
      const got = await client.get(Buffer.from(id, "hex"));
      expect(createHash("sha256").update(got).digest("hex")).toBe(id);
    } finally {
      pc.close();
    }
  }, 40_000);

  it("reconnects after the coordinator restarts on the same port", async () => {
    const port = Number(new URL(coord.url).port);
    await coord.close();
    await until(
      "the agent to see the drop",
      () => d.log().includes("coordinator connection lost") || undefined,
    );
    coord = await startCoordinator({
      host: "127.0.0.1",
      port,
      dbPath: join(dir, "coordinator.sqlite"),
    });
    await until(
      "the node back in the registry",
      () => coord.server.registry.list().find((n) => n.id === did),
      30_000,
    );
    // The registry takes the node before the agent has read its welcome: wait for the log line.
    await until(
      "the agent's second sign-in line",
      () => ((d.log().match(/signed in to the coordinator/g) ?? []).length >= 2 ? true : undefined),
      10_000,
    );
    expect(d.log()).not.toMatch(/AddressSanitizer|runtime error/);
  }, 45_000);
});
