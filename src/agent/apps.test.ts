import { describe, expect, it } from "vitest";
import { signApp, type AppNodeToCoordinator } from "../protocol/app";
import { keyPairFromSeed } from "../protocol/ed25519";
import type {
  AppChannelEvent,
  AppHost,
  AppSandboxEvent,
  AppSandboxOptions,
  Platform,
} from "../platform/platform";
import { APP_MANAGER_DEFAULTS, AppManager } from "./apps";

const dev = keyPairFromSeed(new Uint8Array(32).fill(9));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const res = { memoryMiB: 2, cpuShares: 512, uploadKiBps: 0, storageMiB: 1 };

/** A fake sandbox host: records starts and posts; the test drives the events. */
function world(over: Partial<typeof APP_MANAGER_DEFAULTS> = {}) {
  const bundles = new Map<string, Uint8Array>();
  const started: { id: number; o: AppSandboxOptions; ev: (e: AppSandboxEvent) => void }[] = [];
  const posts: [number, string][] = [];
  const stops: number[] = [];
  const host: AppHost = {
    start(o, ev) {
      started.push({ id: started.length + 1, o, ev });
      return started.length;
    },
    post: (id, json) => void posts.push([id, json]),
    reply: () => undefined,
    stop(id) {
      stops.push(id);
      started[id - 1]?.ev({ type: "exit", status: "stopped", message: "stopped" });
      return true;
    },
    logs: () => "log text",
  };
  const p = {
    apps: host,
    log: () => undefined,
    async httpGet(url: string) {
      const b = bundles.get(url);
      return b ? { status: 200, body: b } : { status: 404, body: new Uint8Array() };
    },
  } as unknown as Platform;
  const sent: AppNodeToCoordinator[] = [];
  const mgr = new AppManager(p, (m) => void sent.push(m), {
    ...APP_MANAGER_DEFAULTS,
    ...over,
    dir: "/apps",
    httpBase: "http://c",
  });
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { bundles, started, posts, stops, sent, mgr, settle, p, host };
}

const states = (sent: AppNodeToCoordinator[]) =>
  sent.flatMap((m) =>
    m.t === "app.state"
      ? [`${m.version}:${m.state}${m.reason ? `:${m.reason.split(":")[0]}` : ""}`]
      : [],
  );

describe("AppManager (node side)", () => {
  it("fetches, verifies and starts with the manifest's limits and only its capabilities", async () => {
    const w = world();
    const b = enc("1");
    const m = signApp(
      { name: "a", version: "1", resources: res, capabilities: { kv: true, fetch: ["x.org"] } },
      b,
      dev,
    );
    w.bundles.set(`http://c/api/apps/bundles/${m.bundle.sha256}`, b);
    w.mgr.handle({ t: "app.run", manifest: m, bundleUrl: `/api/apps/bundles/${m.bundle.sha256}` });
    await w.settle();
    expect(w.started[0]?.o).toMatchObject({
      name: "a",
      memoryBytes: 2 << 20,
      shares: 512,
      caps: ["kv", "fetch"],
      fetchHosts: ["x.org"],
      storageDir: "/apps/a",
      storageQuota: 1 << 20,
    });
    w.started[0]?.ev({ type: "started" });
    await w.settle();
    expect(states(w.sent)).toEqual(["1:deploying", "1:running"]);
  });

  it("refuses a bundle that is not the signed one, Wi-Fi unless allowed, and when disabled", async () => {
    const w = world();
    const b = enc("good");
    const m = signApp({ name: "a", version: "1", resources: res, capabilities: {} }, b, dev);
    w.bundles.set("http://c/b", enc("evil"));
    w.mgr.handle({ t: "app.run", manifest: m, bundleUrl: "/b" });
    const mw = signApp(
      { name: "w", version: "1", resources: res, capabilities: { wifi: true } },
      b,
      dev,
    );
    w.bundles.set("http://c/w", b);
    w.mgr.handle({ t: "app.run", manifest: mw, bundleUrl: "/w" });
    await w.settle();
    await w.settle();
    expect(states(w.sent).sort()).toEqual([
      "1:deploying",
      "1:deploying",
      "1:failed:bad_bundle",
      "1:failed:wifi_not_allowed",
    ]);
    expect(w.started).toEqual([]);
    const off = world({ enabled: false });
    off.mgr.handle({ t: "app.run", manifest: m, bundleUrl: "/b" });
    await off.settle();
    expect(states(off.sent)).toEqual(["1:deploying", "1:failed:apps_disabled"]);
  });

  it("a new version stops the old one first; Wi-Fi context reaches apps granted it", async () => {
    const w = world({ allowWifi: true });
    const b1 = enc("v1");
    const b2 = enc("v2");
    const m1 = signApp(
      { name: "a", version: "1", resources: res, capabilities: { wifi: true } },
      b1,
      dev,
    );
    const m2 = signApp(
      { name: "a", version: "2", resources: res, capabilities: { wifi: true } },
      b2,
      dev,
    );
    w.bundles.set("http://c/1", b1);
    w.bundles.set("http://c/2", b2);
    w.mgr.setWifi({ clients: 3, busy: false });
    w.mgr.handle({ t: "app.run", manifest: m1, bundleUrl: "/1" });
    await w.settle();
    expect(w.started[0]?.o.caps).toEqual(["messages"]);
    w.started[0]?.ev({ type: "started" });
    expect(w.posts).toEqual([[1, '{"wifi":{"clients":3,"busy":false}}']]);
    w.mgr.setWifi({ clients: 9, busy: true });
    expect(w.posts.at(-1)).toEqual([1, '{"wifi":{"clients":9,"busy":true}}']);
    w.mgr.handle({ t: "app.run", manifest: m2, bundleUrl: "/2" });
    await w.settle();
    await w.settle();
    expect(w.stops).toEqual([1]);
    expect(w.started[1]?.o.version).toBe("2");
    w.started[1]?.ev({ type: "exit", status: "throw", message: "Error: bad" });
    await w.settle();
    // the replaced version's exit is not reported; the new one's failure is
    expect(states(w.sent)).toEqual(["1:deploying", "1:running", "2:deploying", "2:failed:throw"]);
  });

  it("stop, logs and remove", async () => {
    const w = world();
    const b = enc("x");
    const m = signApp({ name: "a", version: "1", resources: res, capabilities: {} }, b, dev);
    w.bundles.set("http://c/x", b);
    w.mgr.handle({ t: "app.run", manifest: m, bundleUrl: "/x" });
    await w.settle();
    w.started[0]?.ev({ type: "started" });
    w.mgr.handle({ t: "app.logs", name: "a", req: 7 });
    await w.settle();
    expect(w.sent.at(-1)).toEqual({ t: "app.logs", name: "a", req: 7, text: "log text" });
    w.mgr.handle({ t: "app.stop", name: "a" });
    await w.settle();
    expect(states(w.sent).at(-1)).toBe("1:stopped:stopped");
    w.mgr.handle({ t: "app.remove", name: "a" });
    await w.settle();
    expect(w.mgr.list()).toEqual([]);
  });
});

describe("AppManager: browsers' app channels", () => {
  /** Two running apps (a: messages, 1 KiB/s; q: no messages) and a fake channel host. */
  async function channels() {
    const w = world();
    let onChannel: ((e: AppChannelEvent) => void) | null = null;
    const closes: [string, string | undefined][] = [];
    const sends: [string, string][] = [];
    let full = false;
    const host = w.host;
    host.channels = (fn) => void (onChannel = fn);
    host.channelSend = (ch, text) => {
      if (full) throw Object.assign(new Error("full"), { code: "queue_full" });
      sends.push([ch, text]);
    };
    host.channelClose = (ch, last) => (closes.push([ch, last]), true);
    // The manager registered on construction; make a new one on this host.
    const mgr = new AppManager(w.p, () => undefined, {
      ...APP_MANAGER_DEFAULTS,
      dir: "/apps",
      httpBase: "http://c",
    });
    for (const [name, caps, kib] of [
      ["a", { messages: true }, 1],
      ["q", {}, 0],
    ] as const) {
      const b = enc(name);
      const m = signApp(
        { name, version: "1", resources: { ...res, uploadKiBps: kib }, capabilities: caps },
        b,
        dev,
      );
      w.bundles.set(`http://c/b/${name}`, b);
      mgr.handle({ t: "app.run", manifest: m, bundleUrl: `http://c/b/${name}` });
      await w.settle();
      w.started.at(-1)!.ev({ type: "started" });
      await w.settle();
    }
    const code = (i: number) =>
      (JSON.parse(closes[i]![1]!) as { close: { code: string } }).close.code;
    return {
      w,
      ev: (e: AppChannelEvent) => onChannel!(e),
      closes,
      sends,
      code,
      setFull: (f: boolean) => (full = f),
    };
  }

  it("delivers open / data / close to the app and its sends to its own browsers only", async () => {
    const c = await channels();
    const [a, q] = c.w.started;
    expect(a!.o.uploadBytesPerSec).toBe(1024);
    expect(q!.o.uploadBytesPerSec).toBe(0);
    c.ev({ type: "open", channel: "s.1", app: "a" });
    c.ev({ type: "message", channel: "s.1", text: '{"x":[1]}' });
    expect(c.w.posts.slice(-2)).toEqual([
      [a!.id, '{"browser":{"id":1,"open":true}}'],
      [a!.id, '{"browser":{"id":1,"data":{"x":[1]}}}'],
    ]);
    a!.ev({ type: "send", to: 1, json: '"hi"' });
    q!.ev({ type: "send", to: 1, json: '"not yours"' });
    a!.ev({ type: "send", to: 99, json: '"nobody"' });
    expect(c.sends).toEqual([["s.1", '{"m":"hi"}']]);
    c.ev({ type: "close", channel: "s.1" });
    expect(c.w.posts.at(-1)).toEqual([a!.id, '{"browser":{"id":1,"close":true}}']);
    a!.ev({ type: "send", to: 1, json: '"late"' });
    expect(c.sends).toHaveLength(1);
  });

  it("refuses: not running, no `messages`, not JSON, a full inbox, a browser that does not read", async () => {
    const c = await channels();
    c.ev({ type: "open", channel: "s.1", app: "ghost" });
    c.ev({ type: "open", channel: "s.2", app: "q" });
    c.ev({ type: "open", channel: "s.3", app: "a" });
    c.ev({ type: "message", channel: "s.3", text: "{nope" });
    expect([c.code(0), c.code(1), c.code(2)]).toEqual([
      "not_running",
      "no_messages",
      "bad_message",
    ]);
    const host = c.w.host;
    const post = host.post;
    host.post = () => {
      throw new Error("busy");
    };
    c.ev({ type: "open", channel: "s.4", app: "a" });
    expect(c.code(3)).toBe("busy");
    host.post = post;
    c.ev({ type: "open", channel: "s.5", app: "a" });
    c.setFull(true);
    c.w.started[0]!.ev({ type: "send", to: 3, json: "1" });
    expect(c.code(4)).toBe("queue_full");
  });

  it("closes the browsers of an app that stops", async () => {
    const c = await channels();
    c.ev({ type: "open", channel: "s.1", app: "a" });
    c.ev({ type: "open", channel: "s.2", app: "a" });
    c.w.started[0]!.ev({ type: "exit", status: "stopped", message: "" });
    expect(c.closes.map(([ch]) => ch)).toEqual(["s.1", "s.2"]);
    expect([c.code(0), c.code(1)]).toEqual(["app_stopped", "app_stopped"]);
  });
});

describe("AppManager: app.stats", () => {
  it("reports pear.send totals of running messaging apps when they change", async () => {
    const w = world();
    const timers: (() => void)[] = [];
    const totals = new Map<number, { bytes: number; refused: number }>();
    w.host.uploadStats = (id) => totals.get(id) ?? null;
    (w.p as { setTimeout: unknown }).setTimeout = (fn: () => void) => timers.push(fn);
    const sent: AppNodeToCoordinator[] = [];
    const mgr = new AppManager(w.p, (m) => void sent.push(m), {
      ...APP_MANAGER_DEFAULTS,
      dir: "/apps",
      httpBase: "http://c",
    });
    for (const [name, caps] of [
      ["m", { messages: true }],
      ["k", { kv: true }],
    ] as const) {
      const b = enc(name);
      const man = signApp({ name, version: "2", resources: res, capabilities: caps }, b, dev);
      w.bundles.set(`http://c/${name}`, b);
      mgr.handle({ t: "app.run", manifest: man, bundleUrl: `http://c/${name}` });
      await w.settle();
      w.started.at(-1)!.ev({ type: "started" });
      await w.settle();
    }
    const stats = () => sent.filter((m) => m.t === "app.stats");
    totals.set(1, { bytes: 100, refused: 2 });
    totals.set(2, { bytes: 5, refused: 0 }); // no `messages`: never reported
    timers.shift()!();
    timers.shift()!(); // unchanged: nothing new
    totals.set(1, { bytes: 300, refused: 2 });
    timers.shift()!();
    expect(stats()).toEqual([
      { t: "app.stats", name: "m", version: "2", uploadBytes: 100, uploadRefused: 2 },
      { t: "app.stats", name: "m", version: "2", uploadBytes: 300, uploadRefused: 2 },
    ]);
    expect(timers).toHaveLength(1); // it goes on
  });
});
