// The SDK client on Node against the real thing: coordinator, signed manifest published with
// the CLI, HTTP origin, and wrtc fog nodes (real WebRTC peers). Browser specifics are covered
// by chromium.test.ts; this one checks the client's plumbing and stats arithmetic quickly.
import { createHash } from "node:crypto";
import wrtc from "@roamhq/wrtc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { FogClient } from "../../src/sdk/client";
import { FogPeers } from "../../src/sdk/peers";
import type { PeerConnectionCtor } from "../../src/sdk/config";
import type { SdkEvents } from "../../src/sdk/events";
import { type Fixture, startFixture } from "./fixture";

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => {
  await fx?.close();
});

function client(extra: Partial<ConstructorParameters<typeof FogClient>[0]> = {}) {
  return new FogClient({
    coordinator: fx.coordinatorWs,
    manifestUrl: fx.manifestUrl,
    publisher: fx.publisher.did,
    peerConnection: wrtc.RTCPeerConnection as unknown as PeerConnectionCtor,
    webSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    statsIntervalMs: 0,
    ...extra,
  });
}

/** The page's shared peers, as PearFog.peers() makes them, on wrtc and ws. */
const sharedPeers = () =>
  new FogPeers({
    coordinator: fx.coordinatorWs,
    peerConnection: wrtc.RTCPeerConnection as unknown as PeerConnectionCtor,
    webSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("FogClient on Node", () => {
  it("refuses a manifest signed by someone else: everything over HTTP, warning emitted", async () => {
    const c = client({ publisher: "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK" });
    const warnings: string[] = [];
    c.on("warning", (w) => warnings.push(w.detail));
    expect(await c.ready()).toBe(false);
    expect(warnings.join("\n")).toMatch(/wrong_publisher/);
    const [url, bytes] = [...fx.segments][0]!;
    expect(sha(await c.fetch(url))).toBe(sha(bytes));
    expect(c.stats()).toMatchObject({ bytesFog: 0, bytesHttp: bytes.length });
    expect(c.stats().fallbacks.not_in_manifest).toBe(1);
    c.destroy();
  });

  it("fetch(url) from a fog node, then from HTTP once the node is gone; stats add up", async () => {
    const node = await fx.startNode();
    const before = fx.coord.server.statusData().offload;
    const c = client();
    const delivered: SdkEvents["delivered"][] = [];
    c.on("delivered", (d) => delivered.push(d));
    expect(await c.ready()).toBe(true);
    const urls = [...fx.segments.keys()];
    fx.requests.length = 0;
    for (const u of urls.slice(0, 2)) expect(sha(await c.fetch(u))).toBe(sha(fx.segments.get(u)!));
    expect(fx.requests.filter((r) => r.path.startsWith("/media/"))).toEqual([]);
    let s = c.stats();
    const fogTotal = fx.segments.get(urls[0]!)!.length + fx.segments.get(urls[1]!)!.length;
    expect(s.bytesFog).toBe(fogTotal);
    expect(s.bytesHttp).toBe(0);
    expect(s.offloadRatio).toBe(1);
    expect(s.nodes[node.did]!.bytes).toBe(fogTotal);
    expect(s.nodes[node.did]!.throughputBps).toBeGreaterThan(0);
    expect(node.offers).toBe(1); // one peer connection reused for both segments

    await node.close();
    // Wait for the coordinator to forget the node.
    for (let i = 0; i < 100 && fx.coord.server.registry.get(node.did)?.link; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const u = urls[2]!;
    expect(sha(await c.fetch(u))).toBe(sha(fx.segments.get(u)!));
    s = c.stats();
    expect(s.bytesHttp).toBe(fx.segments.get(u)!.length);
    expect(s.bytesFog + s.bytesHttp).toBe(delivered.reduce((n, d) => n + d.bytes, 0));
    expect(s.delivered).toBe(3);
    c.destroy(); // flushes browser.stats to the coordinator
    await expect
      .poll(() => {
        const now = fx.coord.server.statusData().offload;
        return { p2p: now.p2pBytes - before.p2pBytes, http: now.httpBytes - before.httpBytes };
      })
      .toEqual({ p2p: s.bytesFog, http: s.bytesHttp });
  });

  it("clients sharing FogPeers reuse the open data channel; destroying one keeps it for the next", async () => {
    const node = await fx.startNode();
    const peers = sharedPeers();
    const urls = [...fx.segments.keys()];
    const open = () =>
      new FogClient({
        peers,
        manifestUrl: fx.manifestUrl,
        publisher: fx.publisher.did,
        statsIntervalMs: 0,
      });
    const first = open();
    expect(await first.ready()).toBe(true);
    expect(sha(await first.fetch(urls[0]!))).toBe(sha(fx.segments.get(urls[0]!)!));
    first.destroy(); // the page's next video: the connection stays with the peers
    const second = open();
    expect(await second.ready()).toBe(true);
    expect(sha(await second.fetch(urls[1]!))).toBe(sha(fx.segments.get(urls[1]!)!));
    expect(second.stats().bytesHttp).toBe(0);
    expect(node.offers).toBe(1);
    second.destroy();
    peers.close();
    // A client without peers of its own after the shared ones closed: its own connection.
    const third = client();
    expect(sha(await third.fetch(urls[2]!))).toBe(sha(fx.segments.get(urls[2]!)!));
    expect(node.offers).toBe(2);
    third.destroy();
    await node.close();
  });

  it("asks the coordinator for the first segment's holders once the manifest is parsed, and for the next segment's while delivering this one", async () => {
    const node = await fx.startNode();
    const peers = sharedPeers();
    const finds: string[][] = [];
    const find = peers.coord.find.bind(peers.coord);
    peers.coord.find = (content, ids, max) => {
      finds.push(ids);
      return find(content, ids, max);
    };
    const c = new FogClient({
      peers,
      manifestUrl: fx.manifestUrl,
      publisher: fx.publisher.did,
      statsIntervalMs: 0,
    });
    // Manifest order is what "next" means (the playlist, then the segments as listed).
    const files = fx.manifest.files;
    const urls = files.map((f) => f.uri!);
    const ids = (i: number) => files[i]!.chunks.map((ch) => ch.id);
    expect(urls.length).toBeGreaterThan(2);
    // Where playback starts is asked for once the manifest is parsed, while its signature is
    // checked (startFinds), so before ready(); the first segment then reuses the answer.
    expect(await c.ready()).toBe(true);
    expect(finds).toEqual([ids(0)]);
    await c.fetch(urls[0]!);
    expect(finds).toEqual([ids(0), ids(1)]);
    await c.fetch(urls[1]!);
    // Segment 1's find was answered already: only segment 2's is new.
    expect(finds).toEqual([ids(0), ids(1), ids(2)]);
    expect(c.stats().bytesHttp).toBe(0);
    c.destroy();
    peers.close();
    await node.close();
  });
  it("connects to the nodes a find names before a segment asks for them (preconnect), and only then when preconnect is off", async () => {
    const node = await fx.startNode();
    const urls = [...fx.segments.keys()];
    const off = client({ preconnect: false });
    expect(await off.ready()).toBe(true);
    // The start find has been answered (its holders are cached) and nothing connected.
    await new Promise((r) => setTimeout(r, 300));
    expect(node.offers).toBe(0);
    expect(sha(await off.fetch(urls[0]!))).toBe(sha(fx.segments.get(urls[0]!)!));
    expect(node.offers).toBe(1);
    off.destroy();

    const peers = sharedPeers();
    const on = client({ peers });
    expect(await on.ready()).toBe(true);
    // The start find's answer opens the connection without any fetch.
    await expect.poll(() => node.offers, { timeout: 5000 }).toBe(2);
    await expect.poll(() => peers.pool.connected()).toEqual([node.did]);
    expect(sha(await on.fetch(urls[0]!))).toBe(sha(fx.segments.get(urls[0]!)!));
    expect(on.stats().bytesFog).toBe(fx.segments.get(urls[0]!)!.length);
    expect(node.offers).toBe(2); // the fetch used the connection opened ahead
    on.destroy();
    peers.close();
    await node.close();
  });
  it("opens its coordinator socket while the manifest is still loading", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const peers = sharedPeers();
    const c = client({
      peers,
      fetch: async (input, init) => {
        await held; // the manifest (and anything else over HTTP) waits
        return fetch(input, init);
      },
    });
    await expect.poll(() => peers.coord.connections, { timeout: 5000 }).toBe(1);
    release();
    expect(await c.ready()).toBe(true);
    expect(peers.coord.connections).toBe(1);
    c.destroy();
    peers.close();
  });
});
