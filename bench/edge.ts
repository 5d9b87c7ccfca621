// Edge-compute apps (issue 7): lifecycle latencies through a real coordinator to a real pear-fogd
// (release build, embedded agent), CPU-share convergence, the memory limit, and the data plane
// under two busy apps. Anchors: ParaDrop's published figures (deploy 527 s, start 5 s, stop
// 17 s, delete 7 s, share balance 11 s) — published, not measured here; the data-plane anchor
// (chunk fetch with no apps) is measured in the same run. Messages to browsers (a libwebrtc
// peer, @roamhq/wrtc): browser → app → browser round trip against a chunk request's round trip
// on the same connection (measured in the same run), and a pushing app's rate at the receiver
// over its uploadKiBps.
//
//   npm run bench -- edge [--json]
import { report } from "./report";
import { ECHO_APP, openAppChannel, PUSHER_APP } from "../test/apps/app-peer";
import { startAppsWorld, until, type AppsWorld } from "../test/apps/world";
import { connectWrtcPeer } from "../test/support/wrtc-peer";

const RUNS = 5;
const PUBLISHED = { deploy: 527_000, start: 5_000, stop: 17_000, delete: 7_000, converge: 11_000 };
const res = { memoryMiB: 8, cpuShares: 1024, uploadKiBps: 0, storageMiB: 1 };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** A ~100 KB bundle: a small app plus a data table, as real bundles carry. */
function bundle100k(tag: string): Uint8Array {
  const table = JSON.stringify(Array.from({ length: 9000 }, (_, i) => `row-${i}`));
  return enc(`const TABLE = ${table}; // ${tag}\nconsole.log('up', TABLE.length);`);
}

interface AppRow {
  name: string;
  state: string;
  cpu_ms: number;
  memory_bytes: number;
  memory_limit: number;
}

async function appList(w: AppsWorld): Promise<AppRow[]> {
  return (await w.d.ctl.request("app_list")).apps as AppRow[];
}

async function lifecycle(w: AppsWorld): Promise<Record<string, number[]>> {
  const t: Record<string, number[]> = { deploy: [], start: [], stop: [], delete: [] };
  for (let i = 0; i < RUNS; i++) {
    const name = `bench-${i}`;
    const b = bundle100k(name);
    const m = w.manifest({ name, version: "1", resources: res, capabilities: {} }, b);
    let t0 = performance.now();
    const r = await w.api("POST", "/api/apps", w.deployBody(m, b));
    if (r.status !== 202) throw new Error(`deploy: ${JSON.stringify(r.json)}`);
    await w.waitApp(name, (a) => a.state === "running");
    t.deploy!.push(performance.now() - t0);
    t0 = performance.now();
    await w.api("POST", `/api/apps/${name}/stop`, {});
    await w.waitApp(name, (a) => a.state === "stopped");
    t.stop!.push(performance.now() - t0);
    t0 = performance.now();
    await w.api("POST", `/api/apps/${name}/start`, {});
    await w.waitApp(name, (a) => a.state === "running");
    t.start!.push(performance.now() - t0);
    t0 = performance.now();
    await w.api("DELETE", `/api/apps/${name}`);
    await until("gone from the node", async () => !(await appList(w)).some((a) => a.name === name));
    t.delete!.push(performance.now() - t0);
  }
  return t;
}

/** Two busy apps, shares 512 and 1024: ms until their CPU split (per 200 ms window) is 1:2 ±10%. */
async function converge(w: AppsWorld): Promise<{ ms: number; ratio: number }> {
  await w.d.ctl.request("app_limits", { cpu_permille: 500, period_ms: 50 });
  const busy = enc("for (;;) {}");
  const deploy = async (name: string, cpuShares: number) => {
    const m = w.manifest(
      { name, version: "1", resources: { ...res, cpuShares }, capabilities: {} },
      busy,
    );
    await w.api("POST", "/api/apps", w.deployBody(m, busy));
  };
  await deploy("busy-a", 512);
  await deploy("busy-b", 1024);
  const t0 = performance.now();
  const samples: { t: number; a: number; b: number }[] = [];
  let ms = Number.NaN;
  let ratio = Number.NaN;
  while (performance.now() - t0 < 10_000) {
    const l = await appList(w);
    const a = l.find((x) => x.name === "busy-a");
    const b = l.find((x) => x.name === "busy-b");
    if (a && b) samples.push({ t: performance.now(), a: a.cpu_ms, b: b.cpu_ms });
    const last = samples.at(-1);
    const base = last && [...samples].reverse().find((s) => last.t - s.t >= 200);
    if (last && base && last.a > base.a) {
      ratio = (last.b - base.b) / (last.a - base.a);
      if (Math.abs(ratio - 2) <= 0.2) {
        ms = last.t - t0;
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { ms, ratio };
}

async function memoryLimit(w: AppsWorld): Promise<{ exact: number; peak: number; limit: number }> {
  const hog = enc(
    "const a = []; (function f() { a.push(new Uint8Array(64 << 10)); setTimeout(f, 0) })()",
  );
  const m = w.manifest(
    { name: "hog", version: "1", resources: { ...res, memoryMiB: 2 }, capabilities: {} },
    hog,
  );
  await w.api("POST", "/api/apps", w.deployBody(m, hog));
  let peak = 0;
  let limit = 0;
  const v = await w.waitApp("hog", (a) => a.state === "failed", 20_000).finally(() => undefined);
  for (const a of await appList(w)) if (a.name === "hog") peak = Math.max(peak, a.memory_bytes);
  limit = 2 * 1024 * 1024;
  const neighbours = (await appList(w)).filter((a) => a.name !== "hog");
  const ok =
    (v.reason ?? "").startsWith("memory") &&
    neighbours.length === 2 &&
    neighbours.every((a) => a.state === "running") &&
    peak <= limit;
  return { exact: ok ? 1 : 0, peak, limit };
}

/** Median ms of GET /chunks/<id> (pear-fogd's HTTP on its loop thread), n fetches. */
async function chunkLatency(w: AppsWorld, id: string, n = 60): Promise<number> {
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await fetch(`http://127.0.0.1:${w.d.httpPort}/chunks/${id}`);
    await r.arrayBuffer();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

async function deployMessaging(w: AppsWorld, name: string, src: string, kibps: number) {
  const b = enc(src);
  const m = w.manifest(
    {
      name,
      version: "1.0.0",
      resources: { ...res, uploadKiBps: kibps },
      capabilities: { messages: true },
    },
    b,
  );
  await w.api("POST", "/api/apps", w.deployBody(m, b));
  await w.waitApp(name, (a) => a.state === "running");
}

/** p50 ms of n browser → app → browser round trips, and of n 1-byte chunk requests. */
async function messageRtt(w: AppsWorld, n = 200): Promise<{ app: number; chunk: number }> {
  await deployMessaging(w, "bench-echo", ECHO_APP, 1024);
  const peer = await connectWrtcPeer(w.d);
  try {
    const ch = await openAppChannel(peer, "pear-fog-app:bench-echo");
    const app: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      ch.dc.send(String(i));
      await ch.received(i + 1);
      app.push(performance.now() - t0);
    }
    const tiny = Uint8Array.from(Buffer.from(await w.d.putChunk(new Uint8Array([7])), "hex"));
    const chunk: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await peer.client.get(tiny);
      chunk.push(performance.now() - t0);
    }
    return { app: median(app), chunk: median(chunk) };
  } finally {
    peer.pc.close();
  }
}

/** A pushing app's bytes/s at the receiver over its allowance (steady state, 4 s). */
async function allowanceRatio(w: AppsWorld, kibps = 256): Promise<number> {
  await deployMessaging(w, "bench-push", PUSHER_APP, kibps);
  const peer = await connectWrtcPeer(w.d);
  try {
    const ch = await openAppChannel(peer, "pear-fog-app:bench-push");
    ch.dc.send('"go"');
    await until("the first push", () => ch.got.length > 0);
    // Past the first burst (a quarter second of the rate, at least 64 KiB).
    const from = ch.got[0]!.at + 1000;
    const to = from + 4000;
    await new Promise((r) => setTimeout(r, to - performance.now() + 50));
    const bytes = ch.got
      .filter((g) => g.at >= from && g.at < to)
      .reduce((s, g) => s + g.text.length, 0);
    return bytes / 4 / 1024 / kibps;
  } finally {
    peer.pc.close();
  }
}

async function main(): Promise<void> {
  const w = await startAppsWorld("release");
  try {
    const chunk = new Uint8Array(256 * 1024).map((_, i) => (i * 7) & 255);
    const id = await w.d.putChunk(chunk);
    const idle = await chunkLatency(w, id);

    const t = await lifecycle(w);
    report({
      metric: "app_deploy_ms",
      value: median(t.deploy!),
      unit: "ms",
      anchor: "paradrop_published_deploy",
      anchor_value: PUBLISHED.deploy,
    });
    report({
      metric: "app_start_ms",
      value: median(t.start!),
      unit: "ms",
      anchor: "paradrop_published_start",
      anchor_value: PUBLISHED.start,
    });
    report({
      metric: "app_stop_ms",
      value: median(t.stop!),
      unit: "ms",
      anchor: "paradrop_published_stop",
      anchor_value: PUBLISHED.stop,
    });
    report({
      metric: "app_delete_ms",
      value: median(t.delete!),
      unit: "ms",
      anchor: "paradrop_published_delete",
      anchor_value: PUBLISHED.delete,
    });

    const c = await converge(w);
    report({
      metric: "cpu_share_converge_ms",
      value: c.ms,
      unit: "ms",
      anchor: "paradrop_published_share_balance",
      anchor_value: PUBLISHED.converge,
    });
    report({ metric: "cpu_share_ratio", value: c.ratio, unit: "x" });
    const busy = await chunkLatency(w, id);
    report({
      metric: "chunk_http_p50_ms_two_busy_apps",
      value: busy,
      unit: "ms",
      anchor: "chunk_http_p50_ms_no_apps",
      anchor_value: idle,
    });

    const mem = await memoryLimit(w);
    report({ metric: "app_memory_limit_exact", value: mem.exact, unit: "bool" });

    const rtt = await messageRtt(w);
    report({
      metric: "app_message_rtt_ms",
      value: rtt.app,
      unit: "ms",
      anchor: "chunk_rtc_rtt_p50_ms_same_connection",
      anchor_value: rtt.chunk,
    });
    report({ metric: "app_upload_allowance_ratio", value: await allowanceRatio(w), unit: "x" });
  } finally {
    await w.close();
  }
}

await main();
