// CoordinatorLink against a real WebSocket server (ws) playing the coordinator, including a
// hostile one.
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { CoordinatorError, CoordinatorLink } from "./coordinator-link";

type Handler = (msg: Record<string, unknown>, ws: WebSocket) => void;
let handler: Handler = () => undefined;
let wss: WebSocketServer;
let url: string;
const received: Record<string, unknown>[] = [];

beforeAll(async () => {
  wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => wss.once("listening", r));
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws/browser`;
  wss.on("connection", (ws) => {
    ws.on("message", (d) => {
      const m = JSON.parse(d.toString()) as Record<string, unknown>;
      received.push(m);
      if (m.t === "browser.hello") {
        ws.send(JSON.stringify({ t: "browser.welcome", browser: "b1", probe: [] }));
        return;
      }
      handler(m, ws);
    });
  });
});
afterAll(async () => {
  for (const c of wss.clients) c.terminate();
  await new Promise((r) => wss.close(r));
});

const NODE = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
const ID = "ab".repeat(32);

function link(warnings: string[] = [], timeoutMs = 500) {
  return new CoordinatorLink({
    url,
    timeoutMs,
    webSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    onWarning: (d) => warnings.push(d),
  });
}

describe("CoordinatorLink", () => {
  it("finds nodes, matching answers by request id", async () => {
    handler = (m, ws) => {
      if (m.t !== "browser.find") return;
      // Answer a different request first: must not be taken for ours.
      ws.send(JSON.stringify({ t: "browser.found", req: 999, nodes: [] }));
      ws.send(
        JSON.stringify({
          t: "browser.found",
          req: m.req,
          nodes: [{ node: NODE, score: 0.5, has: [0], rttMs: 12 }],
        }),
      );
    };
    const l = link();
    const nodes = await l.find("content-1", [ID], 50);
    expect(nodes).toEqual([{ node: NODE, score: 0.5, has: [0], rttMs: 12 }]);
    const find = received.find((m) => m.t === "browser.find")!;
    expect(find).toMatchObject({ content: "content-1", chunks: [ID], max: 32 }); // capped
    l.close();
  });

  it("drops invalid frames with a warning and times out instead of trusting them", async () => {
    handler = (m, ws) => {
      if (m.t !== "browser.find") return;
      ws.send("not json");
      ws.send(JSON.stringify({ t: "browser.found", req: m.req, nodes: [{ node: "evil" }] }));
      ws.send(JSON.stringify({ t: "browser.found", req: m.req, nodes: [], extra: 1 }));
    };
    const warnings: string[] = [];
    const l = link(warnings);
    await expect(l.find("c", [ID], 4)).rejects.toMatchObject({ code: "timeout" });
    expect(warnings.filter((w) => w.startsWith("bad coordinator frame"))).toHaveLength(3);
    l.close();
  });

  it("a coordinator error for the request rejects the find", async () => {
    handler = (m, ws) => {
      if (m.t === "browser.find") {
        ws.send(JSON.stringify({ t: "error", code: "not_found", detail: "content c", req: m.req }));
      }
    };
    const l = link();
    const err = await l.find("c", [ID], 4).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoordinatorError);
    expect(err).toMatchObject({ code: "refused" });
    l.close();
  });

  it("relays offers and resolves with the answer for that session", async () => {
    handler = (m, ws) => {
      if (m.t !== "sig.offer") return;
      ws.send(JSON.stringify({ t: "sig.answer", session: "other", node: NODE, sdp: "x" }));
      ws.send(JSON.stringify({ t: "sig.answer", session: m.session, node: NODE, sdp: "v=0 a" }));
    };
    const l = link();
    expect(await l.offer("s1", NODE, "v=0 o")).toBe("v=0 a");
    l.close();
  });

  it("reconnects after the socket closes, and fails pending round trips on close", async () => {
    let kill = true;
    handler = (m, ws) => {
      if (m.t === "browser.find" && kill) {
        kill = false;
        ws.close();
      } else if (m.t === "browser.find") {
        ws.send(JSON.stringify({ t: "browser.found", req: m.req, nodes: [] }));
      }
    };
    const l = link([], 2000);
    await expect(l.find("c", [ID], 4)).rejects.toMatchObject({ code: "closed" });
    expect(await l.find("c", [ID], 4)).toEqual([]);
    l.close();
    await expect(l.find("c", [ID], 4)).rejects.toMatchObject({ code: "closed" });
  });

  it("reopens a dropped socket in the background, backing off while the coordinator is away", async () => {
    handler = () => undefined;
    const l = new CoordinatorLink({
      url,
      timeoutMs: 500,
      webSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      reconnectMinMs: 50,
      reconnectMaxMs: 200,
    });
    await l.find("c", [ID], 4).catch(() => undefined); // first use opens the socket
    expect(l.connections).toBe(1);
    for (const c of wss.clients) c.terminate(); // the coordinator drops every browser
    const t0 = Date.now();
    while (l.connections < 2 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(l.connections).toBe(2); // back without any use in between
    const hellos = () => received.filter((m) => m.t === "browser.hello").length;
    const before = hellos();
    l.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(hellos()).toBe(before); // closed: no more attempts
  });

  it("sends reports only with valid shapes", async () => {
    handler = () => undefined;
    received.length = 0;
    const l = link();
    await l.find("c", [ID], 4).catch(() => undefined); // opens the socket
    l.badChunk(NODE, "c", ID, "hash_mismatch");
    l.stats(10, 20);
    l.stats(0, 0); // nothing to say: not sent
    l.rtt([{ target: NODE, rttMs: 3 }]);
    await new Promise((r) => setTimeout(r, 100));
    expect(received.filter((m) => m.t !== "browser.hello" && m.t !== "browser.find")).toEqual([
      { t: "browser.badchunk", node: NODE, content: "c", chunk: ID, reason: "hash_mismatch" },
      { t: "browser.stats", p2pBytes: 10, httpBytes: 20 },
      { t: "browser.rtt", samples: [{ target: NODE, rttMs: 3 }] },
    ]);
    l.close();
  });
});
