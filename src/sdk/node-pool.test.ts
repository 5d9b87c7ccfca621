// NodePool with real @roamhq/wrtc peers on both sides; signalling is an in-process relay.
import wrtc from "@roamhq/wrtc";
import { afterAll, describe, expect, it } from "vitest";
import { answerOffer, type ServeLog } from "../../test/sdk/fog-node";
import { chunkBytes } from "../protocol/manifest";
import { hexDecode } from "../protocol/hex";
import type { PeerConnectionCtor } from "./config";
import { NodeConnectError, NodePool, type NodePoolOptions } from "./node-pool";

const data = new Uint8Array(5000).map((_, i) => (i * 7) & 0xff);
const [chunk] = chunkBytes(data, 8192);
const held = new Map([[chunk!.id, data]]);
const peers: RTCPeerConnection[] = [];
afterAll(() => peers.forEach((pc) => pc.close()));

function pool(opts: Partial<NodePoolOptions> = {}, offers: string[] = []) {
  const log: ServeLog = { gets: [], bytes: 0 };
  return new NodePool(
    {
      offer: async (session, node, sdp) => {
        offers.push(`${node}:${session}`);
        if (node === "silent") return new Promise<string>(() => undefined); // never answers
        return answerOffer(sdp, held, {}, log, peers);
      },
      dropSession: () => undefined,
    },
    {
      peerConnection: wrtc.RTCPeerConnection as unknown as PeerConnectionCtor,
      iceServers: [],
      connectTimeoutMs: 3000,
      chunkTimeoutMs: 3000,
      idleCloseMs: 60_000,
      badNodeMs: 60_000,
      ...opts,
    },
  );
}

describe("NodePool", () => {
  it("opens one connection per node and reuses it", async () => {
    const offers: string[] = [];
    const rtts: number[] = [];
    const p = pool({ onRtt: (_n, ms) => rtts.push(ms) }, offers);
    const [c1, c2] = await Promise.all([p.client("a"), p.client("a")]);
    expect(c1).toBe(c2);
    expect(offers).toHaveLength(1);
    expect(await c1.get(hexDecode(chunk!.id, 32)!)).toEqual(data);
    expect(p.connected()).toEqual(["a"]);
    await expect.poll(() => rtts.length).toBe(1);
    expect(rtts[0]).toBeGreaterThanOrEqual(0);
    expect(rtts[0]).toBeLessThan(1000);
    p.close();
  });

  it("closes idle connections", async () => {
    const p = pool({ idleCloseMs: 200 }); // sweep runs every max(1000, idle/2) ms
    const c = await p.client("a");
    expect(await c.get(hexDecode(chunk!.id, 32)!)).toEqual(data);
    await expect.poll(() => p.connected(), { timeout: 3000 }).toEqual([]);
    await expect(c.get(hexDecode(chunk!.id, 32)!)).rejects.toMatchObject({ code: "CLOSED" });
    p.close();
  });

  it("a node that never answers fails with NodeConnectError after the connect timeout", async () => {
    const p = pool({ connectTimeoutMs: 300 });
    const err = await p.client("silent").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeConnectError);
    expect(p.connected()).toEqual([]);
    p.close();
  });

  it("markBad closes the node and skips it until the time is up", async () => {
    let now = 1000;
    const p = pool({ now: () => now, badNodeMs: 500 });
    const c = await p.client("a");
    p.markBad("a");
    expect(p.usable("a")).toBe(false);
    expect(p.connected()).toEqual([]);
    await expect(c.get(hexDecode(chunk!.id, 32)!)).rejects.toMatchObject({ code: "CLOSED" });
    now = 1499;
    expect(p.usable("a")).toBe(false);
    now = 1500;
    expect(p.usable("a")).toBe(true);
    expect(p.usable("b")).toBe(true);
    p.close();
  });
});

describe("NodePool: coordinator ICE servers and trickle ICE", () => {
  it("uses the coordinator's iceServers and trickles candidates only after the answer", async () => {
    const events: string[] = [];
    const configs: RTCConfiguration[] = [];
    const log: ServeLog = { gets: [], bytes: 0 };
    const Ctor = function (this: unknown, cfg?: RTCConfiguration) {
      configs.push(cfg ?? {});
      return new wrtc.RTCPeerConnection(cfg);
    } as unknown as PeerConnectionCtor;
    const p = new NodePool(
      {
        offer: async (_session, _node, sdp) => {
          await new Promise((r) => setTimeout(r, 150)); // candidates are gathered meanwhile
          events.push("answer");
          return answerOffer(sdp, held, {}, log, peers);
        },
        dropSession: () => undefined,
        candidate: (_session, candidate) => events.push(`candidate ${candidate.split(" ")[7]}`),
        iceServers: () => [{ urls: ["stun:127.0.0.1:9"] }],
      },
      {
        peerConnection: Ctor,
        iceServers: [{ urls: ["stun:192.0.2.1:3478"] }],
        connectTimeoutMs: 3000,
        chunkTimeoutMs: 3000,
        idleCloseMs: 60_000,
        badNodeMs: 60_000,
      },
    );
    const c = await p.client("a");
    expect(await c.get(hexDecode(chunk!.id, 32)!)).toEqual(data);
    // the page's servers first, then the coordinator's
    expect(configs[0]!.iceServers).toEqual([
      { urls: ["stun:192.0.2.1:3478"] },
      { urls: ["stun:127.0.0.1:9"] },
    ]);
    // host candidates were gathered before the answer, and sent only after it
    await expect
      .poll(() => events.filter((e) => e.startsWith("candidate")).length)
      .toBeGreaterThan(0);
    expect(events[0]).toBe("answer");
    p.close();
  });
});
