// Browsers ↔ apps over the data channel (issue 7, docs/apps.md "Messages to browsers"): a real
// coordinator deploys apps to a real pear-fogd (ASan+UBSan, embedded agent); a libwebrtc peer
// (@roamhq/wrtc) opens "pear-fog-app:<name>" channels beside its chunk channel on one peer
// connection. Echo round trip; a pushing app held to its uploadKiBps (bytes/s measured at the
// receiver); refusals (no `messages`, not running, unknown label); bad messages close only their
// channel; chunks still flow on the same connection. The SDK's FogPeers.app on Node (wrtc, ws):
// the coordinator names the node, the channel rides the page's connection to it.
import wrtc from "@roamhq/wrtc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { AppChannelError } from "../../src/sdk/app-channel";
import type { PeerConnectionCtor } from "../../src/sdk/config";
import { FogPeers } from "../../src/sdk/peers";
import { randomChunk, sha256Hex } from "../support/pear-fogd";
import { connectWrtcPeer, type WrtcPeer } from "../support/wrtc-peer";
import { ECHO_APP, openAppChannel, PUSHER_APP } from "./app-peer";
import { startAppsWorld, until, type AppsWorld } from "./world";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex2bytes = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));

const PUSH_KIBPS = 32;

describe("browsers ↔ apps over the data channel", () => {
  let w: AppsWorld;
  let peer: WrtcPeer;

  beforeAll(async () => {
    w = await startAppsWorld();
    const res = { memoryMiB: 4, cpuShares: 1024, storageMiB: 0 };
    const deploy = async (name: string, src: string, uploadKiBps: number, messages: boolean) => {
      const bundle = enc(src);
      const m = w.manifest(
        {
          name,
          version: "1.0.0",
          resources: { ...res, uploadKiBps },
          capabilities: messages ? { messages: true } : {},
        },
        bundle,
      );
      const r = await w.api("POST", "/api/apps", w.deployBody(m, bundle));
      expect(r.status).toBe(202);
    };
    await deploy("echo", ECHO_APP, 256, true);
    await deploy("pusher", PUSHER_APP, PUSH_KIBPS, true);
    await deploy("quiet", "console.log('no messages');", 0, false);
    await deploy("flood", PUSHER_APP, 1024, true); // as much as the owner's apps total allows
    for (const n of ["echo", "pusher", "quiet", "flood"])
      await w.waitApp(n, (a) => a.state === "running");
    peer = await connectWrtcPeer(w.d);
  }, 120_000);
  afterAll(async () => {
    peer?.pc.close();
    await w?.close();
  });

  it("echo: browser → app → browser, several channels on one connection", async () => {
    const a = await openAppChannel(peer, "pear-fog-app:echo");
    const b = await openAppChannel(peer, "pear-fog-app:echo");
    a.dc.send(JSON.stringify({ hello: "a", n: [1, 2, 3] }));
    b.dc.send('"from b"');
    await until("both echoes", () => a.got.length >= 1 && b.got.length >= 1);
    expect(JSON.parse(a.got[0]!.text)).toEqual({ m: { echo: { hello: "a", n: [1, 2, 3] } } });
    expect(JSON.parse(b.got[0]!.text)).toEqual({ m: { echo: "from b" } });
    // Round trips one after another.
    for (let i = 0; i < 20; i++) {
      a.dc.send(String(i));
      await a.received(i + 2);
    }
    expect(a.got.slice(1).map((g) => JSON.parse(g.text).m.echo)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    a.dc.close();
    b.dc.close();
  }, 30_000);

  it("a pushing app is held to its uploadKiBps at the receiver (±15 %)", async () => {
    const c = await openAppChannel(peer, "pear-fog-app:pusher");
    c.dc.send('"go"');
    await until("the first push", () => c.got.length > 0);
    const t0 = c.got[0]!.at;
    // Past the bucket's first burst (64 KiB = 2 s at 32 KiB/s), measure 3 s.
    const from = t0 + 2500;
    const to = from + 3000;
    await new Promise((r) => setTimeout(r, to - performance.now() + 50));
    const bytes = c.got
      .filter((g) => g.at >= from && g.at < to)
      .reduce((n, g) => n + g.text.length, 0);
    const rate = bytes / 3 / 1024;
    expect(rate).toBeGreaterThan(PUSH_KIBPS * 0.85);
    expect(rate).toBeLessThan(PUSH_KIBPS * 1.15);
    const seqs = c.got.map((g) => (JSON.parse(g.text) as { m: { seq: number } }).m.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y)); // ordered, nothing lost
    const list = await w.d.ctl.request("app_list");
    const pusher = (list.apps as Record<string, unknown>[]).find((a) => a.name === "pusher")!;
    expect(pusher.upload_rate).toBe(PUSH_KIBPS * 1024);
    expect(pusher.upload_bytes as number).toBeGreaterThan(bytes);
    expect(pusher.upload_refused as number).toBeGreaterThan(0);
    expect(list.apps_upload).toBe(1024 * 1024);
    // The developer sees it too (app.stats → GET /api/apps/<name>, `pear-fog app status`).
    const v = await w.waitApp("pusher", (x) => (x.upload?.bytes ?? 0) > 0, 15_000);
    expect(v.upload!.refused).toBeGreaterThan(0);
    c.dc.close();
  }, 30_000);

  it("refuses an app without `messages`, an app not running here, and unknown labels", async () => {
    const quiet = await openAppChannel(peer, "pear-fog-app:quiet");
    await quiet.closed;
    expect(JSON.parse(quiet.got[0]!.text).close.code).toBe("no_messages");
    const ghost = await openAppChannel(peer, "pear-fog-app:ghost");
    await ghost.closed;
    expect(JSON.parse(ghost.got[0]!.text).close.code).toBe("not_running");
    const before = (await w.d.ctl.request("status")).channels_refused_total as number;
    const chat = peer.pc.createDataChannel("chat");
    await new Promise<void>((r) => (chat.onclose = () => r()));
    const after = (await w.d.ctl.request("status")).channels_refused_total as number;
    expect(after).toBe(before + 1);
  }, 30_000);

  it("a malformed or oversized message closes only its channel; chunks still flow", async () => {
    const good = await openAppChannel(peer, "pear-fog-app:echo");
    const notJson = await openAppChannel(peer, "pear-fog-app:echo");
    const big = await openAppChannel(peer, "pear-fog-app:echo");
    const binary = await openAppChannel(peer, "pear-fog-app:echo");
    notJson.dc.send("{not json");
    big.dc.send(JSON.stringify("y".repeat(70_000)));
    binary.dc.send(new Uint8Array([1, 2, 3]));
    await Promise.all([notJson.closed, big.closed, binary.closed]);
    expect(JSON.parse(notJson.got[0]!.text).close.code).toBe("bad_message");
    expect(JSON.parse(big.got[0]!.text).close.code).toBe("too_large");
    expect(JSON.parse(binary.got[0]!.text).close.code).toBe("bad_message");
    good.dc.send('"still here"');
    await until("echo on the good channel", () => good.got.length > 0);
    expect(JSON.parse(good.got[0]!.text)).toEqual({ m: { echo: "still here" } });
    expect(good.isClosed()).toBe(false);
    const chunk = randomChunk(200_000);
    const id = await w.d.putChunk(chunk);
    expect(sha256Hex(await peer.client.get(hex2bytes(id)))).toBe(id);
    good.dc.close();
  }, 30_000);

  it("SDK: peers.app(name) finds the node through the coordinator, shares its connection", async () => {
    const peers = new FogPeers({
      coordinator: `${w.coordUrl.replace(/^http/, "ws")}/ws/browser`,
      peerConnection: wrtc.RTCPeerConnection as unknown as PeerConnectionCtor,
      webSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    try {
      const chunk = randomChunk(50_000);
      const id = await w.d.putChunk(chunk);
      const client = await peers.pool.client(w.nodeId);
      const echo = await peers.app("echo");
      expect(echo.node).toBe(w.nodeId);
      expect(peers.pool.connected()).toEqual([w.nodeId]); // one connection for both
      const got: unknown[] = [];
      echo.onmessage = (v) => got.push(v);
      echo.send({ q: 1 });
      await until("the echo", () => got.length > 0);
      expect(got[0]).toEqual({ echo: { q: 1 } });
      expect(() => echo.send("z".repeat(70_000))).toThrow(AppChannelError);
      expect(sha256Hex(await client.get(hex2bytes(id)))).toBe(id);
      for (const name of ["ghost", "quiet"]) {
        const e = await peers.app(name).catch((err: unknown) => err);
        expect(e).toBeInstanceOf(AppChannelError);
        expect((e as AppChannelError).code).toBe("not_running");
      }
      echo.close();
      expect(await echo.closed).toEqual({ code: "closed", detail: "the channel closed" });
    } finally {
      peers.close();
    }
  }, 30_000);

  it("the owner's upload_cap holds app bytes too: past it an app's messages queue, then its channel closes", async () => {
    const CAP = 64 * 1024; // B/s, far below flood's 1 MiB/s allowance
    await w.d.ctl.request("limits", { upload_cap: CAP });
    try {
      const c = await openAppChannel(peer, "pear-fog-app:flood");
      c.dc.send('"go"');
      await until("the first push", () => c.got.length > 0);
      const t0 = c.got[0]!.at;
      await new Promise((r) => setTimeout(r, 3000));
      const bytes = c.got.filter((g) => g.at < t0 + 3000).reduce((n, g) => n + g.text.length, 0);
      // The node's bucket: its burst (two chunk frames, ~514 KiB) and 3 s at the cap. Without
      // the cap on app bytes this is the app's allowance: its 2 s burst + 3 s at 1 MiB/s.
      expect(bytes).toBeLessThan(2 * 257 * 1024 + 3 * CAP + 16 * 1024);
      // The app keeps sending within its own allowance: its queue (256 KiB) overflows and the
      // channel is closed with a notice, after what is queued drains at the cap.
      await c.closed;
      expect(JSON.parse(c.got.at(-1)!.text).close.code).toBe("queue_full");
    } finally {
      await w.d.ctl.request("limits", { upload_cap: 0 });
    }
  }, 60_000);
});
