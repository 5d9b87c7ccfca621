// `npm run bench -- gateway [--json] [--fogd PATH]`: pear-fogd's data plane against two WebRTC stacks, same
// run, same machine, loopback. The receiver is always @roamhq/wrtc in this process; the sender
// is, in turn, the release (-Os) pear-fogd (chunk responses to ChunkClient GETs, 8 in flight) and
// a Node child process (bench/gateway/sender.ts) running @roamhq/wrtc (anchor "libwebrtc") or
// node-datachannel (anchor "libdatachannel") that pushes the same bytes in the same framing.
//
// --fogd PATH measures that pear-fogd binary instead (e.g. the static musl router build
// dist/x86_64/pear-fogd from `npm run build:router -- --arch x86_64`).
//
// Metrics (value = pear-fogd, one line per anchor):
//   goodput_mb_s            payload bytes / wall seconds of the transfer, MB = 10^6 bytes;
//                           this and the CPU figure are medians of `transfers` runs
//   sender_cpu_ms_per_mib   sender's CPU (user+system) during the transfer / MiB sent;
//                           pear-fogd: /proc/<pid>/stat utime+stime; anchors: the child's
//                           process.cpuUsage() (Node runtime overhead included, not subtracted)
//   connect_ms              receiver's createOffer → data channel open at the receiver, median
//   rss_base_mib            pear-fogd: VmRSS idle right after "ready"; anchors: the child's VmRSS
//                           with its stack loaded (one peer connection created and closed) —
//                           whole process, Node runtime included, like the figures
//   rss_base_private_mib    pear-fogd: RssAnon idle (heap, stacks, data), no anchor
//   rss_kib_per_connection  (sender VmRSS with N connected open peers − VmRSS before) / N
import wrtc from "@roamhq/wrtc";
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ChunkClient } from "../src/sdk/chunk-client";
import { startPearFogd, type PearFogd } from "../test/support/pear-fogd";
import { connectWrtcPeer } from "../test/support/wrtc-peer";
import type { Anchor, FromSender, ToSender } from "./gateway/sender";
import { report } from "./report";

/** Every knob of this bench. */
export const GATEWAY_BENCH_DEFAULTS = {
  /** Chunks per transfer (count). */
  chunks: 1024,
  /** Bytes per chunk (256 KiB; 1024 × 256 KiB = 256 MiB). */
  chunkBytes: 256 * 1024,
  /** Transfers per sender; goodput and CPU per MiB are the medians (count). */
  transfers: 3,
  /** ChunkClient GETs in flight against pear-fogd (count). */
  inflight: 8,
  /** Connections timed for connect_ms (count; the median is reported). */
  connectSamples: 10,
  /** Open peers for rss_kib_per_connection (count). */
  rssPeers: 100,
  /** Settle time before reading an RSS, milliseconds. */
  rssSettleMs: 1_000,
  /** Upper bound on one transfer, milliseconds. */
  transferTimeoutMs: 120_000,
  /** Upper bound on one connection setup, milliseconds. */
  connectTimeoutMs: 10_000,
} as const;

const C = GATEWAY_BENCH_DEFAULTS;
const fogdArg = process.argv.indexOf("--fogd");
const FOGD_BINARY = fogdArg > 0 ? process.argv[fogdArg + 1] : undefined;
const MIB = 1024 * 1024;
const DATA_HDR = 16;

type PC = InstanceType<typeof wrtc.RTCPeerConnection>;
type DC = ReturnType<PC["createDataChannel"]>;

interface Result {
  goodputMbS: number;
  cpuMsPerMib: number;
  connectMs: number;
  rssBaseMib: number;
  rssKibPerConn: number;
  peers: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no result in ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** pear-fogd's private (anonymous) resident memory at idle, set by benchFogd. */
let fogdPrivateKib = Number.NaN;

function rssAnonKibOf(pid: number): number {
  const m = /RssAnon:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no RssAnon for pid ${pid}`);
  return Number(m[1]);
}

function rssKibOf(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** utime and stime of a process, milliseconds (fields 14 and 15 of /proc/<pid>/stat). */
function cpuOf(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // USER_HZ is 100 on Linux: 10 ms per tick.
  return { user: Number(f[11]) * 10, sys: Number(f[12]) * 10 };
}

function waitOpen(dc: DC): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => {
      if (dc.readyState === "open") resolve();
      else dc.onopen = () => resolve();
    }),
    C.connectTimeoutMs,
    "data channel open",
  );
}

// ---------------------------------------------------------------- pear-fogd

async function connectFogd(node: PearFogd): Promise<{ pc: PC; dc: DC; ms: number }> {
  const p = await connectWrtcPeer(node, { openTimeoutMs: C.connectTimeoutMs });
  return { pc: p.pc, dc: p.dc, ms: p.connectMs };
}

async function benchFogd(): Promise<Result> {
  const node = await startPearFogd({ build: "release", binary: FOGD_BINARY });
  try {
    const pid = node.proc.pid!;
    await sleep(C.rssSettleMs);
    const rssBaseKib = rssKibOf(pid);
    fogdPrivateKib = rssAnonKibOf(pid);

    const ids: Uint8Array[] = [];
    for (let i = 0; i < C.chunks; i++) {
      ids.push(Buffer.from(await node.putChunk(new Uint8Array(randomBytes(C.chunkBytes))), "hex"));
    }

    const connects: number[] = [];
    for (let i = 0; i < C.connectSamples; i++) {
      const c = await connectFogd(node);
      connects.push(c.ms);
      c.pc.close();
    }

    const goodput: number[] = [];
    const cpuPerMib: number[] = [];
    for (let run = 0; run < C.transfers; run++) {
      const { pc, dc } = await connectFogd(node);
      const client = new ChunkClient(dc as never, { requestTimeoutMs: 60_000 });
      let bytes = 0;
      let next = 0;
      const cpu0 = cpuOf(pid);
      const t0 = performance.now();
      await withTimeout(
        Promise.all(
          Array.from({ length: C.inflight }, async () => {
            while (next < ids.length) {
              const got = await client.get(ids[next++]!);
              if (got.length !== C.chunkBytes) throw new Error(`short chunk: ${got.length}`);
              bytes += got.length;
            }
          }),
        ),
        C.transferTimeoutMs,
        "pear-fogd transfer",
      );
      const wallS = (performance.now() - t0) / 1000;
      const cpu1 = cpuOf(pid);
      const cpuMs = cpu1.user + cpu1.sys - cpu0.user - cpu0.sys;
      // Diagnostic on stderr (stdout stays one JSON object per line): where the CPU went.
      console.error(
        `pear-fogd transfer: user ${cpu1.user - cpu0.user} ms, sys ${cpu1.sys - cpu0.sys} ms, ` +
          `wall ${(wallS * 1000).toFixed(0)} ms`,
      );
      pc.close();
      goodput.push(bytes / 1e6 / wallS);
      cpuPerMib.push(cpuMs / (bytes / MIB));
    }

    await sleep(C.rssSettleMs);
    const rssBefore = rssKibOf(pid);
    const peers: PC[] = [];
    for (let i = 0; i < C.rssPeers; i++) peers.push((await connectFogd(node)).pc);
    await sleep(C.rssSettleMs);
    const rssWith = rssKibOf(pid);
    for (const p of peers) p.close();

    return {
      goodputMbS: median(goodput),
      cpuMsPerMib: median(cpuPerMib),
      connectMs: median(connects),
      rssBaseMib: rssBaseKib / 1024,
      rssKibPerConn: (rssWith - rssBefore) / C.rssPeers,
      peers: C.rssPeers,
    };
  } finally {
    await node.stop();
  }
}

// ---------------------------------------------------------------- anchors

class Sender {
  readonly child: ChildProcess;
  private readonly waiters: ((m: FromSender) => boolean)[] = [];
  private readonly handlers = new Map<number, (m: FromSender) => void>();

  constructor(anchor: Anchor) {
    this.child = fork(join(import.meta.dirname, "gateway", "sender.ts"), [anchor], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (m: FromSender) => {
      if (m.t === "error") console.error(`sender ${anchor}: ${m.message}`);
      if ("id" in m) this.handlers.get(m.id)?.(m);
      const i = this.waiters.findIndex((w) => w(m));
      if (i >= 0) this.waiters.splice(i, 1);
    });
  }

  post(m: ToSender): void {
    this.child.send(m);
  }

  /** Next message matching `pick`, bounded in time. */
  next<T>(pick: (m: FromSender) => T | undefined, ms: number, what: string): Promise<T> {
    return withTimeout(
      new Promise<T>((resolve) => {
        this.waiters.push((m) => {
          const v = pick(m);
          if (v === undefined) return false;
          resolve(v);
          return true;
        });
      }),
      ms,
      what,
    );
  }

  on(id: number, h: (m: FromSender) => void): void {
    this.handlers.set(id, h);
  }

  async rssKib(): Promise<number> {
    const p = this.next((m) => (m.t === "rss" ? m.kib : undefined), 5_000, "rss");
    this.post({ t: "rss" });
    return p;
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once("exit", r));
    this.post({ t: "exit" });
    await withTimeout(exited, 10_000, "sender exit").catch(() => this.child.kill("SIGKILL"));
  }
}

let nextId = 1;

async function connectAnchor(s: Sender): Promise<{ id: number; pc: PC; dc: DC; ms: number }> {
  const id = nextId++;
  const t0 = performance.now();
  const pc = new wrtc.RTCPeerConnection();
  const dc = pc.createDataChannel("pear-fog-chunks");
  const early: RTCIceCandidateInit[] = [];
  let answered = false;
  pc.onicecandidate = (ev) => {
    if (!ev.candidate?.candidate) return;
    const c = { candidate: ev.candidate.candidate, sdpMid: ev.candidate.sdpMid ?? "0" };
    if (answered) s.post({ t: "cand", id, cand: c.candidate, mid: c.sdpMid });
    else early.push(c);
  };
  s.on(id, (m) => {
    if (m.t === "cand")
      void pc.addIceCandidate({ candidate: m.cand, sdpMid: m.mid }).catch(() => 0);
  });
  await pc.setLocalDescription(await pc.createOffer());
  const answer = s.next(
    (m) => (m.t === "answer" && m.id === id ? m.sdp : undefined),
    C.connectTimeoutMs,
    "answer",
  );
  s.post({ t: "offer", id, sdp: pc.localDescription!.sdp });
  await pc.setRemoteDescription({ type: "answer", sdp: await answer });
  answered = true;
  for (const c of early) s.post({ t: "cand", id, cand: c.candidate!, mid: c.sdpMid! });
  await waitOpen(dc);
  return { id, pc, dc, ms: performance.now() - t0 };
}

async function benchAnchor(anchor: Anchor): Promise<Result> {
  const s = new Sender(anchor);
  try {
    const warm = s.next((m) => (m.t === "warm" ? true : undefined), 15_000, "warmup");
    s.post({ t: "warmup" });
    await warm;
    await sleep(C.rssSettleMs);
    const rssBaseKib = await s.rssKib();

    const connects: number[] = [];
    for (let i = 0; i < C.connectSamples; i++) {
      const c = await connectAnchor(s);
      connects.push(c.ms);
      c.pc.close();
      s.post({ t: "close", id: c.id });
    }

    const goodput: number[] = [];
    const cpuPerMib: number[] = [];
    for (let run = 0; run < C.transfers; run++) {
      const { id, pc, dc } = await connectAnchor(s);
      dc.binaryType = "arraybuffer";
      const total = C.chunks * C.chunkBytes;
      let bytes = 0;
      const received = new Promise<void>((resolve) => {
        dc.onmessage = (ev: { data: ArrayBuffer }) => {
          bytes += ev.data.byteLength - DATA_HDR;
          if (bytes >= total) resolve();
        };
      });
      const t0 = performance.now();
      s.post({ t: "send", id, chunks: C.chunks, chunkBytes: C.chunkBytes });
      await withTimeout(received, C.transferTimeoutMs, `${anchor} transfer`);
      const wallS = (performance.now() - t0) / 1000;
      const cpu = s.next((m) => (m.t === "cpu" ? m.cpuMs : undefined), 5_000, "cpu");
      s.post({ t: "done", id });
      const cpuMs = await cpu;
      console.error(
        `${anchor} transfer: cpu ${cpuMs.toFixed(0)} ms, wall ${(wallS * 1000).toFixed(0)} ms`,
      );
      pc.close();
      s.post({ t: "close", id });
      goodput.push(bytes / 1e6 / wallS);
      cpuPerMib.push(cpuMs / (bytes / MIB));
    }

    await sleep(C.rssSettleMs);
    const rssBefore = await s.rssKib();
    const peers: { id: number; pc: PC }[] = [];
    for (let i = 0; i < C.rssPeers; i++) peers.push(await connectAnchor(s));
    await sleep(C.rssSettleMs);
    const rssWith = await s.rssKib();
    for (const p of peers) {
      p.pc.close();
      s.post({ t: "close", id: p.id });
    }

    return {
      goodputMbS: median(goodput),
      cpuMsPerMib: median(cpuPerMib),
      connectMs: median(connects),
      rssBaseMib: rssBaseKib / 1024,
      rssKibPerConn: (rssWith - rssBefore) / C.rssPeers,
      peers: C.rssPeers,
    };
  } finally {
    await s.stop();
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const fogd = await benchFogd();
  const anchors: [Anchor, Result][] = [];
  for (const a of ["libwebrtc", "libdatachannel"] as const) anchors.push([a, await benchAnchor(a)]);
  const rows: [keyof Result, string, string][] = [
    ["goodputMbS", "goodput_mb_s", "MB/s"],
    ["cpuMsPerMib", "sender_cpu_ms_per_mib", "ms/MiB"],
    ["connectMs", "connect_ms", "ms"],
    ["rssBaseMib", "rss_base_mib", "MiB"],
    ["rssKibPerConn", "rss_kib_per_connection", "KiB"],
  ];
  for (const [key, metric, unit] of rows) {
    for (const [anchor, r] of anchors) {
      report({ metric, value: fogd[key], unit, anchor, anchor_value: r[key] });
    }
  }
  // No anchor: the rest of rss_base_mib is shared-library file pages (libcrypto mostly),
  // which a static router build does not carry whole.
  report({ metric: "rss_base_private_mib", value: fogdPrivateKib / 1024, unit: "MiB" });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
