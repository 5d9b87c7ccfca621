// The native platform inside pear-fogd (runs only there: `make agent-tests` adds *.qjs-test.ts
// files to the bundle; vitest on Node does not pick them up). pear-fogd runs with a store and
// its control ops, so the Daemon mapping is exercised against the real handlers.
import * as fog from "pear-fog:native";
import { describe, expect, it } from "vitest";
import { PlatformError } from "../platform";
import { createNativePlatform } from "./platform";

const dir = `/tmp/pear-fog-qjs-test-${fog.info().pid}`;

describe("native platform (inside pear-fogd)", () => {
  it("files: atomic write with mode, read, missing is null, remove", async () => {
    const p = await createNativePlatform({ stagingDir: `${dir}/staging` });
    const path = `${dir}/state/key.json`;
    await p.writeFileAtomic(path, new TextEncoder().encode("{}"), 0o600);
    expect(new TextDecoder().decode((await p.readFile(path))!)).toBe("{}");
    expect(await p.readFile(`${dir}/nope`)).toBeNull();
    await p.removeFile(path);
    await p.removeFile(path);
    expect(await p.readFile(path)).toBeNull();
    expect(p.stagingPath("x")).toBe(`${dir}/staging/x`);
    let err: unknown;
    try {
      await p.readFile(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlatformError);
    expect((err as PlatformError).code).toBe("EISDIR");
    // /proc files report st_size 0: read to the end, past the first 4 KiB buffer too.
    const text = async (f: string) => new TextDecoder().decode((await p.readFile(f))!);
    expect(await text("/proc/meminfo")).toMatch(/^MemTotal:\s+\d+ kB$/m);
    const maps = await text("/proc/self/maps");
    expect(maps.length).toBeGreaterThan(4096);
    expect(maps.endsWith("\n")).toBe(true);
  });

  it("daemon: status, chunk_put of a staged file, has, list, remove, sharing, limits", async () => {
    const p = await createNativePlatform({ stagingDir: `${dir}/staging` });
    const bytes = p.randomBytes(1000);
    const id = Array.from(fog.sha256(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
    const staged = p.stagingPath("c");
    await p.writeFileAtomic(staged, bytes);
    const before = await p.daemon.status();
    await p.daemon.chunkPut(id, staged);
    expect(await p.daemon.chunkHas([id, "00".repeat(32)])).toEqual([id]);
    const list = await p.daemon.chunkList(0, 10);
    expect(list.chunks).toContain(id);
    const after = await p.daemon.status();
    expect(after.storeChunks).toBe(before.storeChunks + 1);
    await p.daemon.chunkRemove(id);
    expect(await p.daemon.chunkHas([id])).toEqual([]);
    await p.daemon.sharing(false);
    expect((await p.daemon.status()).sharing).toBe(false);
    await p.daemon.sharing(true);
    await p.daemon.limits({ uploadCap: 123456 });
    expect((await p.daemon.status()).uploadCap).toBe(123456);
    await p.daemon.limits({ uploadCap: 0 });
  });

  it("daemon errors are PlatformErrors named after the op", async () => {
    const p = await createNativePlatform({ stagingDir: `${dir}/staging` });
    let err: unknown;
    try {
      await p.daemon.chunkPut("zz", "/nonexistent");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlatformError);
    expect((err as PlatformError).op).toBe("ctl:chunk_put");
    expect((err as PlatformError).code).toBe("bad_request");
  });

  it("timers, clock and local time", async () => {
    const p = await createNativePlatform({ stagingDir: `${dir}/staging` });
    const order: number[] = [];
    await new Promise<void>((resolve) => {
      p.setTimeout(() => order.push(2), 20);
      const h = p.setTimeout(() => order.push(9), 10);
      p.setTimeout(() => order.push(1), 5);
      p.clearTimeout(h);
      p.setTimeout(resolve, 40);
    });
    expect(order).toEqual([1, 2]);
    expect(Math.abs(p.now() - Date.now())).toBeLessThan(1000);
    const lt = p.localTime(p.now());
    expect(lt.month).toMatch(/^\d{4}-\d{2}$/);
    expect(lt.minuteOfDay).toBeLessThan(1440);
  });

  it("WebSocket: refused, bad URL are errors then close 1006, never thrown at connect; send before open throws", async () => {
    const p = await createNativePlatform({ stagingDir: `${dir}/staging`, logLevel: "error" });
    const outcome = (url: string) =>
      new Promise<{ events: string[]; code: number; sendCode: string }>((resolve) => {
        const events: string[] = [];
        const ws = p.connectWebSocket(url);
        let sendCode = "";
        try {
          ws.send("too early");
        } catch (e) {
          sendCode = (e as PlatformError).code;
        }
        ws.onopen = () => events.push("open");
        ws.onerror = () => events.push("error");
        ws.onclose = (ev) => {
          events.push("close");
          resolve({ events, code: ev.code, sendCode });
        };
      });
    for (const url of ["ws://127.0.0.1:9/ws/node", "http://not-a-ws-url/", "ws://[::1"]) {
      const r = await outcome(url);
      expect(r.events).toEqual(["error", "close"]);
      expect(r.code).toBe(1006);
      expect(r.sendCode).toBe("connecting");
    }
    // closing before the handshake completes: error, close 1006; a second close is a no-op
    const events: string[] = [];
    await new Promise<void>((resolve) => {
      const ws = p.connectWebSocket("ws://127.0.0.1:9/ws/node");
      ws.onerror = () => events.push("error");
      ws.onclose = (ev) => {
        events.push(`close ${ev.code}`);
        resolve();
      };
      ws.close(1000, "bye");
      ws.close();
    });
    expect(events).toEqual(["error", "close 1006"]);
  });

  it("removes its scratch directory (spawn)", async () => {
    const r = await fog.spawn(["rm", "-rf", dir]);
    expect(r.status).toBe(0);
    expect(await fog.stat(dir)).toBeNull();
  });
});

describe("native platform (inside pear-fogd): runTask on sandbox threads", () => {
  const limits = { memoryBytes: 4 << 20, timeoutMs: 1000 };
  const code = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
      return "resolved";
    } catch (e) {
      expect(e).toBeInstanceOf(PlatformError);
      expect((e as PlatformError).op).toBe("run_task");
      return (e as PlatformError).code;
    }
  };

  it("runs a task to its JSON result, several at once", async () => {
    const p = await createNativePlatform({ stagingDir: `${dir}/staging` });
    const src =
      "function task(x) { let s = 0; for (let i = 0; i < x.n; i++) s += i; return { s } }";
    const results = await Promise.all([10, 100, 1000].map((n) => p.runTask!(src, { n }, limits)));
    expect(results).toEqual([{ s: 45 }, { s: 4950 }, { s: 499500 }]);
  });

  it("a task that throws, loops or exhausts memory fails only itself, with a typed code", async () => {
    const p = await createNativePlatform({ stagingDir: `${dir}/staging` });
    const t0 = fog.monotonic();
    const [thr, loop, mem, bad] = await Promise.all([
      code(p.runTask!("function task() { throw new Error('x') }", null, limits)),
      code(p.runTask!("function task() { for (;;) {} }", null, { ...limits, timeoutMs: 100 })),
      code(p.runTask!("function task() { return new Uint8Array(8 << 20) }", null, limits)),
      code(p.runTask!("function task() { return () => 1 }", null, limits)),
    ]);
    expect([thr, loop, mem, bad]).toEqual(["throw", "timeout", "memory", "bad_result"]);
    expect(fog.monotonic() - t0).toBeLessThan(5000);
    // the agent's own timers kept running meanwhile, and the host is fine afterwards
    expect(await p.runTask!("function task(x) { return x + 1 }", 41, limits)).toBe(42);
  });
});
