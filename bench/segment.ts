// `npm run bench -- segment [--json] [--segments N] [--gap-ms MS] [--fogd PATH]`: the latency of one video
// segment from one pear-fogd over a data channel, against two anchors in the same run: the same
// pear-fogd over HTTP, and Google's libwebrtc serving the same protocol over a data channel.
//
// A segment is `chunksPerSegment` chunks of `chunkBytes` fetched in parallel (what the SDK does
// for a 256 KiB HLS segment). The viewer is one @roamhq/wrtc peer per data-channel node, in this
// process, with the SDK's ChunkClient on the "pear-fog-chunks" channel, asking for a segment's
// chunks in one message (a GET batch, as the SDK asks one node). The anchors:
//   http            Node's fetch (keep-alive) against the same pear-fogd's `GET /chunks/<id>`;
//   libwebrtc_node  @roamhq/wrtc (libwebrtc, what Chrome runs) as the answering peer, in a
//                   process of its own (bench/segment/libwebrtc-node.ts), chunks in memory, DATA
//                   frames as large as pear-fogd's: what a WebRTC stack that is not ours costs.
// The three arms take turns in rounds of `roundSegments`. Each segment's bytes are checked
// (SHA-256). This isolates the transport from the swarm bench's coordinator, placement and
// scheduling: the swarm bench's p95 goal (fog no worse than HTTP) cannot be met if this one is not.
//
// Metrics (value = pear-fogd's data channel; anchor "http", or "libwebrtc_node" for *_vs_libwebrtc):
//   segment_ms_p50 / _p95 / _p99 / _max   wall time of one segment, milliseconds
//   segments_over_100ms                    count of segments slower than 100 ms
//   udp_rcvbuf_errors                      the kernel's UDP RcvbufErrors over the run
//                                          (/proc/net/snmp; datagrams dropped because a
//                                          receiver's socket buffer was full), no anchor
//   node_cpu_ms_per_segment                the serving process's CPU time per segment (pear-fogd;
//                                          for HTTP its HTTP server; the libwebrtc node's Node
//                                          process), milliseconds
//   viewer_cpu_ms_per_segment              this process's CPU time per segment (wrtc threads +
//                                          SDK code; HTTP: Node's fetch), milliseconds
//   viewer_webrtc_cpu_ms_per_segment       of that, libwebrtc's own threads (receiving, DTLS,
//                                          SCTP, acknowledging), milliseconds; anchor
//                                          libwebrtc_node only. The browser's cost of a segment
//                                          whoever sends it, and, spent on one network thread,
//                                          a floor under segment_ms that no sender can lower
//   sctp_retransmitted_chunks, sctp_fast_retransmits, sctp_t3_timeouts
//                                          pear-fogd's SCTP counters over the run
//                                          (its status): what the losses cost, no anchor
import { createHash, randomBytes } from "node:crypto";
import { startPearFogd } from "../test/support/pear-fogd";
import { connectWrtcPeer, connectWrtcPeerVia, type WrtcPeer } from "../test/support/wrtc-peer";
import type { ChunkClient } from "../src/sdk/chunk-client";
import { startLibwebrtcNode } from "./segment/libwebrtc-node";
import { procCpuS, sctpCounters, threadsCpuS, udpRcvbufErrors } from "./counters";
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
  /** Segments per arm before the next arm's turn (the arms take turns), count. */
  roundSegments: 50,
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

/** One way of fetching a segment's chunks, and the process that serves them. */
interface Arm {
  name: string;
  servedBy: number;
  fetchChunks: (ids: string[]) => Promise<Uint8Array[]>;
  ids: string[];
  /** Wall time of each segment, milliseconds. */
  times: number[];
  /** CPU seconds over this arm's rounds: the serving process's, and this process's. */
  nodeCpuS: number;
  viewerCpuS: number;
  /** Of viewerCpuS, libwebrtc's threads' (PeerConnectionFactory's), seconds. */
  viewerWebrtcS: number;
}

/** The name (/proc comm, 15 characters) libwebrtc's threads have in an @roamhq/wrtc process. */
const WEBRTC_THREADS = "PeerConnectionF";

/** `count` segments through `arm`, each one's chunks picked at random and their bytes checked. */
async function round(arm: Arm, count: number): Promise<void> {
  const node0 = procCpuS(arm.servedBy);
  const viewer0 = process.cpuUsage();
  const webrtc0 = threadsCpuS("self", WEBRTC_THREADS);
  for (let s = 0; s < count; s++) {
    const pick = Array.from({ length: C.chunksPerSegment }, () => {
      return arm.ids[Math.floor(Math.random() * arm.ids.length)]!;
    });
    const t0 = performance.now();
    const got = await arm.fetchChunks(pick);
    arm.times.push(performance.now() - t0);
    got.forEach((b, i) => {
      if (createHash("sha256").update(b).digest("hex") !== pick[i]) {
        throw new Error(`${arm.name}: chunk ${pick[i]} came back with other bytes`);
      }
    });
    await sleep(GAP_MS);
  }
  const viewer = process.cpuUsage(viewer0);
  arm.nodeCpuS += procCpuS(arm.servedBy) - node0;
  arm.viewerCpuS += (viewer.user + viewer.system) / 1e6;
  arm.viewerWebrtcS += threadsCpuS("self", WEBRTC_THREADS) - webrtc0;
}

const arm = (
  name: string,
  servedBy: number,
  ids: string[],
  fetchChunks: Arm["fetchChunks"],
): Arm => ({
  name,
  servedBy,
  ids,
  fetchChunks,
  times: [],
  nodeCpuS: 0,
  viewerCpuS: 0,
  viewerWebrtcS: 0,
});

/** As the SDK asks a node: the segment's chunks in one message (a GET batch). */
const getBatch = (client: ChunkClient) => (want: string[]) =>
  Promise.all(client.getMany(want.map((id) => ({ chunkId: Buffer.from(id, "hex") }))));

async function main(): Promise<void> {
  const node = await startPearFogd({ build: "release", binary: FOGD_BINARY, http: true });
  const other = await startLibwebrtcNode(C.storeChunks, C.chunkBytes);
  const peers: WrtcPeer[] = [];
  try {
    const ids: string[] = [];
    for (let i = 0; i < C.storeChunks; i++) {
      ids.push(await node.putChunk(new Uint8Array(randomBytes(C.chunkBytes))));
    }
    const base = `http://127.0.0.1:${node.httpPort}/chunks/`;
    const pid = node.proc.pid ?? 0;
    const http = arm("http", pid, ids, (want) =>
      Promise.all(
        want.map(async (id) => {
          const r = await fetch(base + id);
          if (r.status !== 200) throw new Error(`GET ${id}: HTTP ${r.status}`);
          return new Uint8Array(await r.arrayBuffer());
        }),
      ),
    );
    const opts = { requestTimeoutMs: C.segmentTimeoutMs };
    peers.push(await connectWrtcPeer(node, opts));
    peers.push(await connectWrtcPeerVia((sdp) => other.answer(sdp), opts));
    const fog = arm("fog", pid, ids, getBatch(peers[0]!.client));
    const libwebrtc = arm("libwebrtc", other.pid, other.ids, getBatch(peers[1]!.client));

    const drops0 = udpRcvbufErrors();
    const status = async () =>
      sctpCounters((await node.ctl.request("status", {})) as Record<string, unknown>);
    const sctp0 = await status();
    // Rounds in turn, so that a machine that slows down mid-run slows every arm alike.
    for (let done = 0; done < SEGMENTS; done += C.roundSegments) {
      const n = Math.min(C.roundSegments, SEGMENTS - done);
      for (const a of [http, fog, libwebrtc]) await round(a, n);
    }
    const drops = udpRcvbufErrors() - drops0;
    const sctp1 = await status();
    const sctpDelta = (k: string) => (sctp1[k] ?? Number.NaN) - (sctp0[k] ?? Number.NaN);

    const perSegmentMs = (cpuS: number) => (cpuS * 1000) / SEGMENTS;
    for (const [p, name] of [
      [50, "p50"],
      [95, "p95"],
      [99, "p99"],
      [100, "max"],
    ] as const) {
      const value = percentile(fog.times, p);
      report({
        metric: `segment_ms_${name}`,
        value,
        unit: "ms",
        anchor: "http",
        anchor_value: percentile(http.times, p),
      });
      report({
        metric: `segment_ms_${name}_vs_libwebrtc`,
        value,
        unit: "ms",
        anchor: "libwebrtc_node",
        anchor_value: percentile(libwebrtc.times, p),
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
      ["node_cpu_ms_per_segment", "nodeCpuS"],
      ["viewer_cpu_ms_per_segment", "viewerCpuS"],
    ] as const) {
      const value = perSegmentMs(fog[k]);
      report({ metric, value, unit: "ms", anchor: "http", anchor_value: perSegmentMs(http[k]) });
      report({
        metric: `${metric}_vs_libwebrtc`,
        value,
        unit: "ms",
        anchor: "libwebrtc_node",
        anchor_value: perSegmentMs(libwebrtc[k]),
      });
    }
    report({
      metric: "viewer_webrtc_cpu_ms_per_segment",
      value: perSegmentMs(fog.viewerWebrtcS),
      unit: "ms",
      anchor: "libwebrtc_node",
      anchor_value: perSegmentMs(libwebrtc.viewerWebrtcS),
    });
    report({ metric: "udp_rcvbuf_errors", value: drops, unit: "count" });
    for (const [k, metric] of [
      ["data_chunks_retransmitted", "sctp_retransmitted_chunks"],
      ["fast_retransmits", "sctp_fast_retransmits"],
      ["t3_timeouts", "sctp_t3_timeouts"],
    ] as const) {
      report({ metric, value: sctpDelta(k), unit: "count" });
    }
  } finally {
    for (const p of peers) p.pc.close();
    await other.close();
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
