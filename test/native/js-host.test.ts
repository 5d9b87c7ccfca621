// pear-fogd's QuickJS-ng host from outside: a real pear-fogd (ASan+UBSan build) started with a
// small --agent-js file that exercises "pear-fog:native", a crashing agent while the data plane
// serves, and the real agent bundle (make agent) signing in its node key inside pear-fogd.
import { build } from "esbuild";
import { createServer, type Server } from "node:http";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import {
  buildAgentBundle,
  NATIVE_DIR,
  randomChunk,
  sha256Hex,
  startPearFogd,
  type PearFogd,
} from "../support/pear-fogd";

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "pear-fog-native-"));
  // The agent bundle and bytecode (a cold build compiles qjsc first: minutes on a busy
  // machine, so not inside a test's own timeout).
  buildAgentBundle();
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function waitFor<T>(what: string, f: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const readJson = (p: string) =>
  existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as Record<string, unknown>) : undefined;

async function metric(d: PearFogd, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${d.httpPort}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}

describe("pear-fogd JS host", () => {
  it("runs an agent file that uses the native module", async () => {
    const origin: Server = createServer((req, res) => {
      const body = Buffer.from("0123456789");
      const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? "");
      if (req.url === "/big") {
        res.writeHead(200, { "content-length": "5000" }).end(Buffer.alloc(5000));
      } else if (m) {
        const [a, b] = [Number(m[1]), Number(m[2])];
        res.writeHead(206, { "content-range": `bytes ${a}-${b}/10` }).end(body.subarray(a, b + 1));
      } else {
        res.writeHead(200).end(body);
      }
    });
    await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
    const chunk = randomChunk(3000);
    const id = sha256Hex(chunk);
    const script = join(dir, "native.mjs");
    const out = join(dir, "native-out.json");
    writeFileSync(
      script,
      `import * as fog from "pear-fog:native";
const res = {};
const staged = ${JSON.stringify(join(dir, "staging"))} + "/c1";
await fog.writeFile(staged, new Uint8Array(${JSON.stringify(Array.from(chunk))}));
res.put = (await fog.ctl("chunk_put", { chunk: ${JSON.stringify(id)}, path: staged })).ok;
res.has = (await fog.ctl("chunk_has", { chunks: [${JSON.stringify(id)}, "00".repeat(32)] })).have;
res.status = await fog.ctl("status");
try { await fog.ctl("chunk_put", { chunk: "zz", path: staged }); } catch (e) { res.badPut = e.code; }
res.sh = await fog.spawn(["sh", "-c", "echo uci-ok"]);
const whole = await fog.httpGet(${JSON.stringify(base)} + "/x", { maxBytes: 100 });
const part = await fog.httpGet(${JSON.stringify(base)} + "/x", { range: [2, 5], maxBytes: 100, timeoutMs: 5000 });
res.http = [whole.status, fog.utf8Decode(whole.body), part.status, fog.utf8Decode(part.body)];
try { await fog.httpGet(${JSON.stringify(base)} + "/big", { maxBytes: 1000 }); } catch (e) { res.big = e.code; }
try { await fog.httpGet("http://127.0.0.1:9/", { maxBytes: 10, timeoutMs: 2000 }); } catch (e) { res.refused = e.code; }
res.info = fog.info();
res.rand = fog.randomBytes(16).length;
const t0 = fog.monotonic();
await new Promise((r) => fog.setTimeout(r, 50));
res.slept = fog.monotonic() - t0;
fog.onSignal(async (s) => { await fog.writeFile(${JSON.stringify(join(dir, "signal.txt"))}, s); });
await fog.writeFile(${JSON.stringify(out)}, JSON.stringify(res));
`,
    );
    const d = await startPearFogd({ args: ["--agent-js", script], http: true });
    try {
      const r = await waitFor("the script's result", () => readJson(out));
      expect(r.put).toBe(true);
      expect(r.has).toEqual([id]);
      expect((r.status as Record<string, unknown>).store_chunks).toBe(1);
      expect(r.badPut).toBe("bad_request");
      expect(r.sh).toEqual({ status: 0, signal: null, stdout: "uci-ok\n", stderr: "" });
      expect(r.http).toEqual([200, "0123456789", 206, "2345"]);
      expect(r.big).toBe("too_big");
      expect(r.refused).toBe("fetch");
      expect((r.info as Record<string, unknown>).pid).toBe(d.proc.pid);
      expect(r.rand).toBe(16);
      expect(r.slept).toBeGreaterThanOrEqual(49);
      // the chunk JS stored is served over HTTP by the data plane
      const got = await fetch(`http://127.0.0.1:${d.httpPort}/chunks/${id}`);
      expect(new Uint8Array(await got.arrayBuffer())).toEqual(chunk);
      d.proc.kill("SIGHUP");
      const sig = join(dir, "signal.txt");
      await waitFor("SIGHUP in JS", () =>
        existsSync(sig) ? readFileSync(sig, "utf8") : undefined,
      );
      expect(readFileSync(sig, "utf8")).toBe("SIGHUP");
      expect(await metric(d, "pearfog_js_restarts_total")).toBe(0);
      expect(await metric(d, "pearfog_js_running")).toBe(1);
    } finally {
      const code = await d.stop();
      if (code !== 0) console.error(d.log());
      expect(code).toBe(0);
      origin.close();
    }
  });

  it("keeps serving while the agent throws, loops forever or runs out of memory", async () => {
    const script = join(dir, "crash.mjs");
    writeFileSync(
      script,
      `import * as fog from "pear-fog:native";
const n = (await fog.readFile(${JSON.stringify(join(dir, "crash-n"))}))?.length ?? 0;
await fog.writeFile(${JSON.stringify(join(dir, "crash-n"))}, "x".repeat(n + 1));
fog.setTimeout(() => {
  if (n % 3 === 0) throw new Error("boom " + n);
  if (n % 3 === 1) for (;;) {}
  const a = []; for (;;) a.push(new Array(4096).fill(n));
}, 20);
`,
    );
    const d = await startPearFogd({ args: ["--agent-js", script], http: true });
    try {
      const id = await d.putChunk(randomChunk(64 * 1024));
      const end = Date.now() + 6000;
      let gets = 0;
      while (Date.now() < end) {
        const r = await fetch(`http://127.0.0.1:${d.httpPort}/chunks/${id}`);
        expect(r.status).toBe(200);
        expect(sha256Hex(new Uint8Array(await r.arrayBuffer()))).toBe(id);
        expect((await d.ctl.request("status")).ok).toBe(true);
        gets++;
      }
      expect(gets).toBeGreaterThan(20);
      // 1 s + 2 s backoff after the first two failures: at least 3 generations in 6 s
      expect(await metric(d, "pearfog_js_restarts_total")).toBeGreaterThanOrEqual(3);
      expect(await metric(d, "pearfog_js_interrupts_total")).toBeGreaterThanOrEqual(1);
      expect(d.log()).toMatch(/agent: timer callback: Error: boom 0/);
      expect(d.log()).toMatch(/InternalError: interrupted/);
      expect(d.log()).toMatch(/out of memory/);
    } finally {
      const code = await d.stop();
      if (code !== 0) console.error(d.log());
      expect(code).toBe(0);
    }
  }, 20_000);

  it("runs the agent bundle: config, node key, sharing through the ctl ops", async () => {
    const conf = join(dir, "pear-fog");
    const key = join(dir, "node.key");
    writeFileSync(
      conf,
      `config pear-fog 'main'
	option sharing '1'
	option coordinator 'ws://127.0.0.1:9/ws/node'
	option key_path '${key}'
	option agent_staging '${join(dir, "agent-staging")}'
`,
    );
    const d = await startPearFogd({
      args: ["--config", conf, "--agent-js", join(NATIVE_DIR, "build/agent/agent.mjs")],
      http: true,
    });
    try {
      await waitFor("the node key", () => (existsSync(key) ? true : undefined));
      expect(readFileSync(key, "utf8")).toMatch(/did:key:z6Mk/);
      await waitFor("sharing on", () => (d.log().includes("sharing enabled") ? true : undefined));
      expect((await d.ctl.request("status")).sharing).toBe(true);
      await waitFor("a coordinator attempt", () =>
        d.log().includes("ws_connect ws://127.0.0.1:9/ws/node") ? true : undefined,
      );
      expect(await metric(d, "pearfog_js_restarts_total")).toBe(0);
      // SIGTERM: the agent stops first (stopDone), then pear-fogd exits cleanly
      const t0 = Date.now();
      expect(await d.stop()).toBe(0);
      expect(Date.now() - t0).toBeLessThan(2500);
      expect(d.log()).toMatch(/stopping the agent, then shutting down[\s\S]*agent stopped/);
    } finally {
      await d.stop();
    }
  }, 30_000);

  it("fog.wsConnect: messages both ways, server close; a throwing onEvent ends the generation and its socket", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    let connections = 0;
    let closedByPeer = 0;
    wss.on("connection", (ws) => {
      connections++;
      ws.on("close", () => closedByPeer++);
      ws.on("message", (d, binary) => {
        const m = String(d);
        if (binary) ws.send(d, { binary });
        else if (m === "close me") ws.close(4001, "as asked");
        else ws.send(`echo ${m}`);
      });
    });
    const out = join(dir, "ws-out.json");
    const script = join(dir, "ws.mjs");
    writeFileSync(
      script,
      `import * as fog from "pear-fog:native";
const n = (await fog.readFile(${JSON.stringify(join(dir, "ws-n"))}))?.length ?? 0;
await fog.writeFile(${JSON.stringify(join(dir, "ws-n"))}, "x".repeat(n + 1));
const res = { events: [] };
const ws = fog.wsConnect(${JSON.stringify(`${url}/a`)}, { idleTimeoutMs: 10000 }, (type, a, b, c) => {
  res.events.push([type, a, b, c]);
  if (type === "open") { ws.send("hi é"); ws.send(new Uint8Array([1, 2])); }
  if (type === "message" && a === "echo hi é") res.buffered = ws.bufferedAmount;
  if (type === "message" && typeof a !== "string") {
    if (n === 0) throw new Error("boom in onEvent"); // first generation: fail with the socket open
    ws.send("close me");
  }
  if (type === "close") {
    try { ws.send("late"); } catch (e) { res.late = e.code; }
    fog.writeFile(${JSON.stringify(out)}, JSON.stringify(res));
  }
});
`,
    );
    const d = await startPearFogd({ args: ["--agent-js", script], http: true });
    try {
      await waitFor("the script's result", () => readJson(out), 15_000);
      const r = readJson(out)!;
      expect(r.events).toEqual([
        ["open", null, null, null],
        ["message", "echo hi é", null, null],
        ["message", { 0: 1, 1: 2 }, null, null],
        ["close", 4001, "as asked", null],
      ]);
      expect(r.late).toBe("closed");
      expect(r.buffered).toBe(0);
      // generation 1 threw inside onEvent: its socket was closed when the generation ended
      expect(connections).toBe(2);
      await waitFor("both sockets closed", () => (closedByPeer === 2 ? true : undefined));
      expect(await metric(d, "pearfog_js_restarts_total")).toBe(1);
      expect(d.log()).toMatch(/ws event: Error: boom in onEvent/);
    } finally {
      const code = await d.stop();
      if (code !== 0) console.error(d.log());
      expect(code).toBe(0);
      wss.close();
    }
  }, 30_000);

  it("the native platform's WebSocket closes a link whose server stopped reading (bounded queue), the agent lives on", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    wss.on("connection", (ws) => (ws as unknown as { _socket: { pause(): void } })._socket.pause());
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/ws/node`;
    const out = join(dir, "stall-out.json");
    const entry = join(dir, "stall-entry.ts");
    const native = resolve(NATIVE_DIR, "../../src/platform/native");
    writeFileSync(
      entry,
      `import * as fog from "pear-fog:native";
import { nativeWebSocket, NATIVE_PLATFORM_DEFAULTS } from ${JSON.stringify(`${native}/platform`)};
const res = { sent: 0, events: [] as unknown[] };
const ws = nativeWebSocket(${JSON.stringify(url)}, NATIVE_PLATFORM_DEFAULTS, (l, m) => fog.log(l, m));
const big = "x".repeat(64 * 1024);
const pump = () => {
  for (let i = 0; i < 8 && res.sent < 2000; i++) { ws.send(big); res.sent++; }
  if (res.events.length === 1) fog.setTimeout(pump, 1);
};
ws.onopen = () => { res.events.push("open"); pump(); };
ws.onerror = () => res.events.push("error");
ws.onclose = (ev) => {
  res.events.push(["close", ev.code]);
  ws.send(big); // after close: dropped, not thrown
  fog.writeFile(${JSON.stringify(out)}, JSON.stringify(res));
};
`,
    );
    const bundle = join(dir, "stall.mjs");
    await build({
      entryPoints: [entry],
      bundle: true,
      format: "esm",
      target: "es2023",
      platform: "neutral",
      external: ["pear-fog:native"],
      outfile: bundle,
      logLevel: "warning",
    });
    const d = await startPearFogd({ args: ["--agent-js", bundle], http: true });
    try {
      const r = await waitFor("the close", () => readJson(out), 20_000);
      // the close frame was queued behind the full queue; the stalled server never answers it
      expect(r.events).toEqual(["open", "error", ["close", 1006]]);
      // one warning: sends after close() are dropped quietly
      expect(d.log().match(/send queue full, closing/g)).toHaveLength(1);
      expect(d.log()).toMatch(
        /ws_send ws:\/\/127\.0\.0\.1:\d+\/ws\/node: send queue full, closing/,
      );
      expect(await metric(d, "pearfog_js_restarts_total")).toBe(0);
      expect(await metric(d, "pearfog_js_running")).toBe(1);
    } finally {
      const code = await d.stop();
      if (code !== 0) console.error(d.log());
      expect(code).toBe(0);
      for (const c of wss.clients) c.terminate();
      wss.close();
    }
  }, 40_000);
});
