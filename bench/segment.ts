// `npm run bench -- segment [--json] [--segments N] [--gap-ms MS] [--fogd PATH]`: the latency of one video
// segment from one pear-fogd, over a data channel vs over HTTP, same run, same daemon, loopback.
//
// A segment is `chunksPerSegment` chunks of `chunkBytes` fetched in parallel (what the SDK does
// for a 256 KiB HLS segment). The fog side is one @roamhq/wrtc peer in this process with the
// SDK's ChunkClient on the "pear-fog-chunks" channel, asking for a segment's chunks in one
// message (a GET batch, as the SDK asks one node); the anchor is Node's fetch (keep-alive)
// against the same pear-fogd's `GET /chunks/<id>`. Each segment's bytes are checked (SHA-256).
// This isolates the transport from the swarm bench's coordinator, placement and scheduling: the
// swarm bench's p95 goal (fog no worse than HTTP) cannot be met if this one is not.
//
// Metrics (value = data channel, anchor "http" = the same segments over HTTP):
//   segment_ms_p50 / _p95 / _p99 / _max   wall time of one segment, milliseconds
//   segments_over_100ms                    count of segments slower than 100 ms
//   udp_rcvbuf_errors                      the kernel's UDP RcvbufErrors during the fog phase
//                                          (/proc/net/snmp; datagrams dropped because a
//                                          receiver's socket buffer was full), no anchor
//   node_cpu_ms_per_segment                pear-fogd's CPU time per segment (the HTTP phase: its
//                                          HTTP server), milliseconds
//   viewer_cpu_ms_per_segment              this process's CPU time per segment (wrtc threads +
//                                          SDK code; HTTP: Node's fetch), milliseconds
//   sctp_retransmitted_chunks, sctp_fast_retransmits, sctp_t3_timeouts
//                                          pear-fogd's SCTP counters over the fog phase
//                                          (its status): what the losses cost, no anchor
import { createHash, randomBytes } from "node:crypto";
import { startPearFogd } from "../test/support/pear-fogd";
import { connectWrtcPeer } from "../test/support/wrtc-peer";
import { procCpuS, sctpCounters, udpRcvbufErrors } from "./counters";
import { report } from "./report";
import { percentile } from "./swarm/metrics";

/** Every knob of this bench. */
export const SEGMENT_BENCH_DEFAULTS = {
  /** Segments fetched per transport (count). */
  segments: 1000,
  /** Chunks per segment, fetched in parallel (count). */
  chunksPerSegment: 4,
  /** Bytes per chunk (64 KiB: a 256 KiB segment). */
  chunkBytes: 64 * 1024,
  /** Distinct chunks in the daemon's store, picked at random per segment (count). */
  storeChunks: 64,
  /**
   * Pause between segments, milliseconds (a player asks for one segment at a time; a playing
   * one every segment duration, seconds apart: `--gap-ms 2000` idles the connection like that).
   */
  gapMs: 2,
  /** Upper bound on one segment, milliseconds. */
  segmentTimeoutMs: 10_000,
} as const;

const C = SEGMENT_BENCH_DEFAULTS;
const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const SEGMENTS = Number(argOf("--segments") ?? C.segments);
const FOGD_BINARY = argOf("--fogd");
const GAP_MS = Number(argOf("--gap-ms") ?? C.gapMs);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Phase {
  /** Wall time of each segment, milliseconds. */
  times: number[];
  /** CPU per segment over the phase, milliseconds: pear-fogd's and this process's. */
  nodeCpuMs: number;
  viewerCpuMs: number;
}

async function run(
  nodePid: number,
  ids: string[],
  fetchChunks: (ids: string[]) => Promise<Uint8Array[]>,
): Promise<Phase> {
  const times: number[] = [];
  const node0 = procCpuS(nodePid);
  const viewer0 = process.cpuUsage();
  for (let s = 0; s < SEGMENTS; s++) {
    const pick = Array.from({ length: C.chunksPerSegment }, () => {
      return ids[Math.floor(Math.random() * ids.length)]!;
    });
    const t0 = performance.now();
    const got = await fetchChunks(pick);
    times.push(performance.now() - t0);
    got.forEach((b, i) => {
      if (createHash("sha256").update(b).digest("hex") !== pick[i]) {
        throw new Error(`segment ${s}: chunk ${pick[i]} came back with other bytes`);
      }
    });
    await sleep(GAP_MS);
  }
  const viewer = process.cpuUsage(viewer0);
  return {
    times,
    nodeCpuMs: ((procCpuS(nodePid) - node0) * 1000) / SEGMENTS,
    viewerCpuMs: (viewer.user + viewer.system) / 1000 / SEGMENTS,
  };
}

async function main(): Promise<void> {
  const node = await startPearFogd({ build: "release", binary: FOGD_BINARY, http: true });
  try {
    const ids: string[] = [];
    for (let i = 0; i < C.storeChunks; i++) {
      ids.push(await node.putChunk(new Uint8Array(randomBytes(C.chunkBytes))));
    }
    const base = `http://127.0.0.1:${node.httpPort}/chunks/`;
    const pid = node.proc.pid ?? 0;
    const http = await run(pid, ids, (want) =>
      Promise.all(
        want.map(async (id) => {
          const r = await fetch(base + id);
          if (r.status !== 200) throw new Error(`GET ${id}: HTTP ${r.status}`);
          return new Uint8Array(await r.arrayBuffer());
        }),
      ),
    );

    const { pc, client } = await connectWrtcPeer(node, { requestTimeoutMs: C.segmentTimeoutMs });
    const drops0 = udpRcvbufErrors();
    const status = async () =>
      sctpCounters((await node.ctl.request("status", {})) as Record<string, unknown>);
    const sctp0 = await status();
    // As the SDK asks a node: the segment's chunks in one message (a GET batch).
    const fog = await run(pid, ids, (want) =>
      Promise.all(client.getMany(want.map((id) => ({ chunkId: Buffer.from(id, "hex") })))),
    );
    const drops = udpRcvbufErrors() - drops0;
    const sctp1 = await status();
    const sctpDelta = (k: string) => (sctp1[k] ?? Number.NaN) - (sctp0[k] ?? Number.NaN);
    pc.close();

    for (const [p, name] of [
      [50, "p50"],
      [95, "p95"],
      [99, "p99"],
      [100, "max"],
    ] as const) {
      report({
        metric: `segment_ms_${name}`,
        value: percentile(fog.times, p),
        unit: "ms",
        anchor: "http",
        anchor_value: percentile(http.times, p),
      });
    }
    report({
      metric: "segments_over_100ms",
      value: fog.times.filter((t) => t > 100).length,
      unit: "count",
      anchor: "http",
      anchor_value: http.times.filter((t) => t > 100).length,
    });
    for (const [metric, k] of [
      ["node_cpu_ms_per_segment", "nodeCpuMs"],
      ["viewer_cpu_ms_per_segment", "viewerCpuMs"],
    ] as const) {
      report({ metric, value: fog[k], unit: "ms", anchor: "http", anchor_value: http[k] });
    }
    report({ metric: "udp_rcvbuf_errors", value: drops, unit: "count" });
    for (const [k, metric] of [
      ["data_chunks_retransmitted", "sctp_retransmitted_chunks"],
      ["fast_retransmits", "sctp_fast_retransmits"],
      ["t3_timeouts", "sctp_t3_timeouts"],
    ] as const) {
      report({ metric, value: sctpDelta(k), unit: "count" });
    }
  } finally {
    await node.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
