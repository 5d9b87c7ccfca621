// Integration: a real coordinator on 127.0.0.1:0 with SQLite in a temp dir, real WebSocket
// clients for nodes and browsers, real signed REST requests.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { signApiRequest } from "../src/coordinator/api-auth";
import { startCoordinator, type RunningCoordinator } from "../src/coordinator/main";
import { NodeClient, type WebSocketLike } from "../src/coordinator/node-client";
import { base64urlEncode } from "../src/coordinator/signature";
import { ed25519Sign, generateKeyPair, type KeyPair } from "../src/protocol/ed25519";
import { buildManifest, contentId, encodeManifest, signManifest } from "../src/protocol/manifest";
import { nodeAuthPayload, MAX_MESSAGE_BYTES } from "../src/protocol/messages";

type Msg = Record<string, unknown> & { t: string };

/** A WebSocket client that queues incoming JSON messages. */
class Client {
  readonly msgs: Msg[] = [];
  private waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (d) => {
      this.msgs.push(JSON.parse(d.toString()) as Msg);
      this.wake();
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }
  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  static open(url: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const c = new Client(ws);
      ws.once("open", () => resolve(c));
      ws.once("error", reject);
    });
  }
  send(m: unknown) {
    this.ws.send(typeof m === "string" ? m : JSON.stringify(m));
  }
  /** Next message (removed from the queue) matching `pred`. */
  async next(pred: (m: Msg) => boolean = () => true, timeoutMs = 3000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.msgs.findIndex(pred);
      if (i >= 0) return this.msgs.splice(i, 1)[0] as Msg;
      if (this.closed) throw new Error(`closed ${this.closed.code} ${this.closed.reason}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout; queue: ${JSON.stringify(this.msgs).slice(0, 300)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  async waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("not closed");
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closed;
  }
  close() {
    this.ws.close();
  }
}

const chunkIds = Array.from({ length: 4 }, (_, i) =>
  (i.toString(16) + "a".repeat(63)).slice(0, 64),
);

function heartbeat(seq: number, add: string[], extra: Partial<Record<string, unknown>> = {}) {
  return {
    t: "node.heartbeat",
    seq,
    capacity: {
      uplinkCapBps: 2_000_000,
      uplinkUsedBps: 0,
      storeBytes: 0,
      storeCapBytes: 1 << 30,
      load: 0.1,
      reachability: "public",
    },
    inventory: { add, remove: [] },
    bytesServed: 1000,
    ...extra,
  };
}

/** A signed one-file manifest whose 1 KiB chunks have the given ids; returns text and id. */
function signedManifest(key: KeyPair, name: string, ids: string[]) {
  const m = signManifest(
    buildManifest({
      type: "file",
      name,
      version: 1,
      created: 1_700_000_000,
      chunkSize: 1024,
      origins: [`https://origin.example/${name}`],
      files: [
        { path: name, size: ids.length * 1024, chunks: ids.map((id) => ({ id, size: 1024 })) },
      ],
      publisher: key.did,
    }),
    key,
  );
  return { text: new TextDecoder().decode(encodeManifest(m)), id: contentId(m) };
}

async function connectNode(base: string, kp: KeyPair, coordinatorId: string): Promise<Client> {
  const c = await Client.open(`${base}/ws/node`);
  c.send({ t: "node.hello", nodeId: kp.did, version: "test", probeUrl: "http://127.0.0.1:1/ping" });
  const ch = await c.next((m) => m.t === "node.challenge");
  expect(ch.coordinatorId).toBe(coordinatorId);
  const sig = ed25519Sign(nodeAuthPayload(kp.did, ch.nonce as string, coordinatorId), kp.seed);
  c.send({ t: "node.auth", sig: base64urlEncode(sig) });
  await c.next((m) => m.t === "node.welcome");
  return c;
}

async function api(
  base: string,
  method: string,
  path: string,
  body: string,
  kp: KeyPair | undefined,
  ts = Date.now(),
) {
  const bytes = new TextEncoder().encode(body);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (kp) headers.authorization = signApiRequest(kp.did, kp.seed, method, path, bytes, ts);
  const res = await fetch(base + path, {
    method,
    headers,
    body: method === "GET" ? undefined : body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("coordinator", () => {
  const dir = mkdtempSync(join(tmpdir(), "pf-coord-"));
  const dbPath = join(dir, "coord.db");
  const publisher = generateKeyPair();
  const opts = {
    port: 0,
    host: "127.0.0.1",
    dbPath,
    publishers: [publisher.did],
    nodeDeadAfterMs: 1500,
    sweepIntervalMs: 100,
    placement: { intervalMs: 200 },
    rateLimit: { signalBurst: 5, signalPerSec: 1, maxViolations: 1000 },
  };
  let coord: RunningCoordinator;
  let ws: string;
  const manifest = signedManifest(publisher, "video-1", chunkIds);
  const video1 = manifest.id;

  beforeAll(async () => {
    coord = await startCoordinator(opts);
    ws = coord.url.replace(/^http/, "ws");
  });
  afterAll(async () => {
    await coord.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves a real HTML status page and health check", async () => {
    const res = await fetch(coord.url + "/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("<svg");
    expect(await (await fetch(coord.url + "/healthz")).text()).toBe("ok\n");
  });

  it("refuses a node whose challenge signature is bad", async () => {
    const kp = generateKeyPair();
    const other = generateKeyPair();
    const c = await Client.open(`${ws}/ws/node`);
    c.send({ t: "node.hello", nodeId: kp.did, version: "test" });
    const ch = await c.next((m) => m.t === "node.challenge");
    // Signed by a different key than the claimed did.
    const sig = ed25519Sign(
      nodeAuthPayload(kp.did, ch.nonce as string, "pear-fog-coordinator"),
      other.seed,
    );
    c.send({ t: "node.auth", sig: base64urlEncode(sig) });
    const err = await c.next((m) => m.t === "error");
    expect(err.code).toBe("unauthorized");
    expect((await c.waitClosed()).code).toBe(4001);
    expect(coord.server.registry.get(kp.did)).toBeUndefined();
  });

  it("refuses a node that signs without the domain separation", async () => {
    const kp = generateKeyPair();
    const c = await Client.open(`${ws}/ws/node`);
    c.send({ t: "node.hello", nodeId: kp.did, version: "test" });
    const ch = await c.next((m) => m.t === "node.challenge");
    const sig = ed25519Sign(new TextEncoder().encode(ch.nonce as string), kp.seed);
    c.send({ t: "node.auth", sig: base64urlEncode(sig) });
    expect((await c.waitClosed()).code).toBe(4001);
  });

  it("authenticates a node, takes heartbeats, and drops it within the deadline when killed", async () => {
    const kp = generateKeyPair();
    const c = await connectNode(ws, kp, "pear-fog-coordinator");
    expect(coord.server.registry.get(kp.did)).toBeDefined();
    c.send(heartbeat(1, [chunkIds[0] as string]));
    await expect
      .poll(() => coord.server.content.holders(chunkIds[0] as string).has(kp.did))
      .toBe(true);
    expect(coord.server.registry.get(kp.did)?.capacity.reachability).toBe("public");
    // Kill it without a close handshake: the TCP socket just vanishes from our side.
    c.ws.pause();
    const killedAt = Date.now();
    await expect
      .poll(() => coord.server.registry.get(kp.did), { timeout: 4000, interval: 50 })
      .toBeUndefined();
    const took = Date.now() - killedAt;
    expect(took).toBeLessThan(1500 + 1000);
    expect(coord.server.content.holders(chunkIds[0] as string).has(kp.did)).toBe(false);
    c.ws.terminate();
  });

  it("accepts a signed manifest upload and refuses bad auth", async () => {
    const body = manifest.text;
    const stranger = generateKeyPair();
    expect((await api(coord.url, "POST", "/api/manifests", body, undefined)).status).toBe(401);
    expect((await api(coord.url, "POST", "/api/manifests", body, stranger)).status).toBe(403);
    const stale = await api(
      coord.url,
      "POST",
      "/api/manifests",
      body,
      publisher,
      Date.now() - 3_600_000,
    );
    expect(stale).toEqual({ status: 401, json: { error: "unauthorized", detail: "stale" } });
    // Signature over a different body.
    const tampered = await fetch(coord.url + "/api/manifests", {
      method: "POST",
      headers: {
        authorization: signApiRequest(
          publisher.did,
          publisher.seed,
          "POST",
          "/api/manifests",
          new TextEncoder().encode("{}"),
        ),
      },
      body,
    });
    expect(tampered.status).toBe(401);
    const ok = await api(coord.url, "POST", "/api/manifests", body, publisher);
    expect(ok).toEqual({ status: 201, json: { contentId: video1, chunks: 4 } });
    const bad = await api(
      coord.url,
      "POST",
      "/api/manifests",
      JSON.stringify({ contentId: "x" }),
      publisher,
    );
    expect(bad.status).toBe(422);
    // A manifest signed by someone else cannot be uploaded under this publisher's key.
    const foreign = signedManifest(stranger, "x", chunkIds);
    const wrong = await api(coord.url, "POST", "/api/manifests", foreign.text, publisher);
    expect(wrong.status).toBe(422);
    expect(wrong.json.error).toBe("wrong_publisher");
    const got = await fetch(coord.url + `/api/manifests/${video1}`);
    expect(await got.text()).toBe(manifest.text);
    expect((await fetch(coord.url + "/api/manifests/%E0%A4%A")).status).toBe(400);
    // Upload and delete a second content; only its publisher may delete it.
    const tmp = signedManifest(publisher, "tmp", chunkIds.slice(0, 1));
    expect((await api(coord.url, "POST", "/api/manifests", tmp.text, publisher)).status).toBe(201);
    expect((await api(coord.url, "DELETE", `/api/manifests/${tmp.id}`, "", stranger)).status).toBe(
      403,
    );
    expect((await api(coord.url, "DELETE", `/api/manifests/${tmp.id}`, "", publisher)).status).toBe(
      200,
    );
    expect((await fetch(coord.url + `/api/manifests/${tmp.id}`)).status).toBe(404);
  });

  it("answers find with a ranked node list and places popular content", async () => {
    const near = generateKeyPair();
    const far = generateKeyPair();
    const empty = generateKeyPair();
    const a = await connectNode(ws, near, "pear-fog-coordinator");
    const b = await connectNode(ws, far, "pear-fog-coordinator");
    const e = await connectNode(ws, empty, "pear-fog-coordinator");
    a.send(heartbeat(1, chunkIds.slice(0, 4)));
    b.send(heartbeat(1, chunkIds.slice(0, 2)));
    e.send(heartbeat(1, []));
    // Keep them alive (dead after 1.5 s in this test): empty inventory deltas every 300 ms.
    let seq = 2;
    const keepAlive = setInterval(() => {
      for (const c of [a, b, e]) if (!c.closed) c.send(heartbeat(seq, []));
      seq++;
    }, 300);
    await expect.poll(() => coord.server.content.holders(chunkIds[1] as string).size).toBe(2);
    const br = await Client.open(`${ws}/ws/browser`);
    br.send({ t: "browser.hello", version: "test" });
    const welcome = await br.next((m) => m.t === "browser.welcome");
    expect(typeof welcome.browser).toBe("string");
    br.send({
      t: "browser.rtt",
      samples: [
        { target: near.did, rttMs: 5 },
        { target: empty.did, rttMs: 30 },
        { target: far.did, rttMs: 120 },
      ],
    });
    br.send({ t: "browser.find", req: 7, content: video1, chunks: chunkIds });
    const found = await br.next((m) => m.t === "browser.found");
    expect(found.req).toBe(7);
    const nodes = found.nodes as { node: string; has: number[]; score: number; rttMs: number }[];
    expect(nodes.map((n) => n.node)).toEqual([near.did, far.did]);
    expect(nodes[0]?.has).toEqual([0, 1, 2, 3]);
    expect(nodes[1]?.has).toEqual([0, 1]);
    expect(nodes[0]?.rttMs).toBe(5);
    expect(nodes[0]!.score).toBeGreaterThan(nodes[1]!.score);
    // Unknown content: typed error echoing the request id.
    br.send({ t: "browser.find", req: 8, content: "nope", chunks: chunkIds });
    expect(await br.next((m) => m.t === "error")).toMatchObject({ code: "not_found", req: 8 });
    // The find made video-1 popular: with R = 2 the two nodes nearest the browser should hold
    // every chunk, so the empty node (30 ms; nearer than `far` at 120 ms) is told to fetch all
    // four — in one hold per node it copies from, that node first among the node sources (it
    // holds every chunk of the hold), the origin named too.
    const holding = new Map([
      [near.did, chunkIds],
      [far.did, chunkIds.slice(0, 2)],
    ]);
    const told: string[] = [];
    while (told.length < chunkIds.length) {
      const hold = await e.next((m) => m.t === "node.hold", 3000);
      expect(hold.content).toBe(video1);
      const sources = hold.sources as { kind: string; nodeId?: string; url?: string }[];
      expect(sources).toContainEqual({ kind: "origin", url: "https://origin.example/video-1" });
      const from = sources.find((x) => x.kind === "node")?.nodeId ?? "";
      for (const c of hold.chunks as string[]) expect(holding.get(from)).toContain(c);
      told.push(...(hold.chunks as string[]));
    }
    expect(told.sort()).toEqual([...chunkIds].sort());
    // Not re-sent while pending: no second hold within the next rounds.
    await new Promise((r) => setTimeout(r, 500));
    expect(e.msgs.filter((m) => m.t === "node.hold")).toEqual([]);

    // Signalling round trip browser -> node -> browser.
    br.send({ t: "sig.offer", session: "pc-1", node: near.did, sdp: "v=0 offer" });
    const offer = await a.next((m) => m.t === "sig.offer");
    expect(offer.sdp).toBe("v=0 offer");
    expect(offer.session).not.toBe("pc-1");
    a.send({ t: "sig.answer", session: offer.session, sdp: "v=0 answer" });
    expect(await br.next((m) => m.t === "sig.answer")).toEqual({
      t: "sig.answer",
      session: "pc-1",
      node: near.did,
      sdp: "v=0 answer",
    });
    br.send({
      t: "sig.candidate",
      session: "pc-1",
      candidate: "candidate:1 1 udp 1 1.2.3.4 5 typ host",
      mid: "0",
    });
    expect(await a.next((m) => m.t === "sig.candidate")).toMatchObject({
      session: offer.session,
      mid: "0",
    });
    a.send({
      t: "sig.candidate",
      session: offer.session,
      candidate: "candidate:2 1 udp 1 5.6.7.8 9 typ host",
    });
    expect(await br.next((m) => m.t === "sig.candidate")).toMatchObject({
      session: "pc-1",
      node: near.did,
    });
    // Another node cannot answer a session that is not its own.
    b.send({ t: "sig.answer", session: offer.session, sdp: "hijack" });
    expect(await b.next((m) => m.t === "error")).toMatchObject({ code: "not_found" });

    // Bad-chunk report lowers credibility and removes the chunk from the index.
    const before = coord.server.registry.get(far.did)!.credibility;
    br.send({
      t: "browser.badchunk",
      node: far.did,
      content: video1,
      chunk: chunkIds[0],
      reason: "hash_mismatch",
    });
    await expect.poll(() => coord.server.registry.get(far.did)!.credibility).toBeLessThan(before);
    expect(coord.server.content.holders(chunkIds[0] as string).has(far.did)).toBe(false);

    // Signalling rate limit (burst 5, 1/s): a burst of offers gets rate_limited errors.
    for (let i = 0; i < 10; i++)
      br.send({ t: "sig.offer", session: `s${i}`, node: near.did, sdp: "x" });
    expect(await br.next((m) => m.t === "error" && m.code === "rate_limited")).toBeDefined();
    expect(br.closed).toBeUndefined();

    // The status page lists the live nodes, their bytes served and the per-node chart.
    br.send({ t: "browser.stats", p2pBytes: 3000, httpBytes: 1000 });
    await expect
      .poll(async () => {
        const html = await (await fetch(coord.url + "/")).text();
        return html.includes(near.did) && html.includes("75.0%");
      })
      .toBe(true);
    const status = (await (await fetch(coord.url + "/api/status")).json()) as {
      nodes: { id: string; series: number[]; bytesServed: number }[];
    };
    const nearStatus = status.nodes.find((n) => n.id === near.did);
    expect(nearStatus?.bytesServed).toBeGreaterThanOrEqual(1000);
    expect(nearStatus?.series.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(1000);

    clearInterval(keepAlive);
    for (const c of [a, b, e, br]) c.close();
  });

  it("answers oversized, unknown and malformed messages with typed errors and stays usable", async () => {
    const br = await Client.open(`${ws}/ws/browser`);
    br.send({ t: "browser.teleport" });
    expect(await br.next((m) => m.t === "error")).toMatchObject({ code: "unknown_type" });
    br.send("{not json");
    expect(await br.next((m) => m.t === "error")).toMatchObject({ code: "invalid" });
    br.send({ t: "browser.find", req: 1, content: "video-1", chunks: ["zz"] });
    expect(await br.next((m) => m.t === "error")).toMatchObject({ code: "invalid" });
    br.send({ t: "browser.hello", version: "x", extra: 1 });
    expect(await br.next((m) => m.t === "error")).toMatchObject({ code: "invalid" });
    br.send({ t: "browser.hello", version: "x".repeat(MAX_MESSAGE_BYTES + 10) });
    expect(await br.next((m) => m.t === "error")).toMatchObject({ code: "too_large" });
    // Still sane: a valid message gets its answer.
    br.send({ t: "browser.hello", version: "ok" });
    expect(await br.next((m) => m.t === "browser.welcome")).toBeDefined();
    // A frame beyond the transport cap closes with 1009 (message too big).
    br.send("x".repeat(MAX_MESSAGE_BYTES * 5));
    expect((await br.waitClosed()).code).toBe(1009);
  });

  it("closes a connection that keeps sending junk with 4008", async () => {
    const c2 = await startCoordinator({
      ...opts,
      dbPath: ":memory:",
      rateLimit: { maxViolations: 5 },
    });
    try {
      const br = await Client.open(`${c2.url.replace(/^http/, "ws")}/ws/browser`);
      for (let i = 0; i < 10; i++) br.send("junk");
      expect((await br.waitClosed()).code).toBe(4008);
    } finally {
      await c2.close();
    }
  });

  it("keeps publisher data across a restart on the same database", async () => {
    await coord.close();
    coord = await startCoordinator(opts);
    ws = coord.url.replace(/^http/, "ws");
    const got = await fetch(coord.url + `/api/manifests/${video1}`);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe(manifest.text);
    const contents = (await (await fetch(coord.url + "/api/contents")).json()) as {
      contentId: string;
    }[];
    expect(contents.map((c) => c.contentId)).toEqual([video1]);
    // The publisher is still known: a new upload by the same key works without re-registering.
    const again = await api(
      coord.url,
      "POST",
      "/api/manifests",
      signedManifest(publisher, "video-2", chunkIds.slice(0, 2)).text,
      publisher,
    );
    expect(again.status).toBe(201);
    // Node identities and their bytes-served history survived too.
    const status = (await (await fetch(coord.url + "/api/status")).json()) as {
      publishers: number;
    };
    expect(status.publishers).toBe(1);
    expect(coord.server.db.listNodes().length).toBeGreaterThanOrEqual(3);
    // A node reconnects and is accepted again.
    const kp = generateKeyPair();
    const c = await connectNode(ws, kp, "pear-fog-coordinator");
    c.close();
  });

  it("a node client reconnects with backoff after a coordinator restart and resends its inventory", async () => {
    const port = Number(new URL(coord.url).port);
    const kp = generateKeyPair();
    const states: boolean[] = [];
    const client = new NodeClient({
      url: `${ws}/ws/node`,
      key: kp,
      version: "test",
      connect: (u) => new WebSocket(u) as unknown as WebSocketLike,
      heartbeat: (full) => ({
        capacity: {
          uplinkCapBps: 1_000_000,
          uplinkUsedBps: 0,
          storeBytes: 0,
          storeCapBytes: 1 << 20,
          load: 0,
          reachability: "public",
        },
        add: full ? [chunkIds[3] as string] : [],
        remove: [],
        bytesServed: 0,
      }),
      onState: (s) => states.push(s),
      backoff: { initialMs: 50, maxMs: 200 },
    });
    client.start();
    try {
      await expect
        .poll(() => coord.server.content.holders(chunkIds[3] as string).has(kp.did))
        .toBe(true);
      await coord.close();
      await expect.poll(() => client.authenticated).toBe(false);
      coord = await startCoordinator({ ...opts, port });
      await expect
        .poll(() => coord.server.content.holders(chunkIds[3] as string).has(kp.did), {
          timeout: 5000,
        })
        .toBe(true);
      expect(client.connections).toBeGreaterThanOrEqual(2);
      expect(states.slice(0, 3)).toEqual([true, false, true]);
    } finally {
      client.stop();
    }
  });
});

describe("coordinator placement on a cold find", () => {
  const dir = mkdtempSync(join(tmpdir(), "pf-coord-eager-"));
  const publisher = generateKeyPair();
  const manifest = signedManifest(publisher, "cold-1", chunkIds);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // The periodic round is far away (10 min): only the eager round can answer in time.
  async function coldFind(eagerGapMs: number): Promise<Record<string, unknown> | undefined> {
    const coord = await startCoordinator({
      port: 0,
      host: "127.0.0.1",
      dbPath: join(dir, `eager-${eagerGapMs}.db`),
      publishers: [publisher.did],
      placement: { intervalMs: 600_000, eagerGapMs },
    });
    try {
      const ws = coord.url.replace(/^http/, "ws");
      const up = await api(coord.url, "POST", "/api/manifests", manifest.text, publisher);
      expect(up.status).toBeLessThan(300);
      const node = await connectNode(ws, generateKeyPair(), "pear-fog-coordinator");
      node.send(heartbeat(1, []));
      await expect.poll(() => coord.server.registry.list().length).toBe(1);
      const br = await Client.open(`${ws}/ws/browser`);
      br.send({ t: "browser.hello", version: "test" });
      await br.next((m) => m.t === "browser.welcome");
      br.send({ t: "browser.find", req: 1, content: manifest.id, chunks: chunkIds });
      expect((await br.next((m) => m.t === "browser.found")).nodes).toEqual([]);
      return await node.next((m) => m.t === "node.hold", 1500).catch(() => undefined);
    } finally {
      await coord.close();
    }
  }

  it("a find no node can answer places the content at once", async () => {
    const hold = await coldFind(1000);
    expect(hold?.content).toBe(manifest.id);
    expect((hold?.chunks as string[]).sort()).toEqual([...chunkIds].sort());
  });

  it("with eagerGapMs 0 it waits for the periodic round", async () => {
    expect(await coldFind(0)).toBeUndefined();
  });
});

describe("coordinator prepositioning", () => {
  const dir = mkdtempSync(join(tmpdir(), "pf-coord-pre-"));
  const publisher = generateKeyPair();
  const manifest = signedManifest(publisher, "pre-1", chunkIds); // 4 chunks of 1 KiB
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Every node.hold a node gets within `ms` of publishing, nobody asking for the content. */
  async function holdsWithoutFinds(share: number, ms: number): Promise<Record<string, unknown>[]> {
    const coord = await startCoordinator({
      port: 0,
      host: "127.0.0.1",
      dbPath: join(dir, `pre-${share}.db`),
      publishers: [publisher.did],
      placement: { intervalMs: 100, prepositionShare: share },
    });
    try {
      const ws = coord.url.replace(/^http/, "ws");
      const node = await connectNode(ws, generateKeyPair(), "pear-fog-coordinator");
      // A 4 KiB store: a share of 0.5 is room for two of the four chunks.
      const capacity = { ...(heartbeat(1, []).capacity as object), storeCapBytes: 4096 };
      node.send({ ...heartbeat(1, []), capacity });
      await expect.poll(() => coord.server.registry.list().length).toBe(1);
      const up = await api(coord.url, "POST", "/api/manifests", manifest.text, publisher);
      expect(up.status).toBeLessThan(300);
      const holds: Record<string, unknown>[] = [];
      const end = Date.now() + ms;
      for (;;) {
        const left = end - Date.now();
        if (left <= 0) break;
        const h = await node.next((m) => m.t === "node.hold", left).catch(() => undefined);
        if (h) holds.push(h);
      }
      return holds;
    } finally {
      await coord.close();
    }
  }

  it("places the start of content nobody asked for, within prepositionShare of the store, once", async () => {
    const holds = await holdsWithoutFinds(0.5, 1500);
    // One hold for chunks 0 and 1 (the start first); pending holds count as used store, so
    // the ~14 rounds after it send nothing more.
    expect(holds).toHaveLength(1);
    expect(holds[0]?.content).toBe(manifest.id);
    expect(holds[0]?.chunks).toEqual(chunkIds.slice(0, 2));
    expect(holds[0]?.sources).toEqual([{ kind: "origin", url: "https://origin.example/pre-1" }]);
  });

  it("with prepositionShare 0 nothing is placed before a find", async () => {
    expect(await holdsWithoutFinds(0, 800)).toEqual([]);
  });
});
