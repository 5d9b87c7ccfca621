// `npm run bench -- swarm [--json] [--viewers N --nodes N --catalogue N --zipf S --duration S …]`
// (flags: bench/swarm/options.ts): V simulated viewers watch a Zipf-popular catalogue of
// synthetic HLS items, first over HTTP only from the origin (the anchor), then — same viewers,
// same schedule, same processes — fog first through the SDK (@roamhq/wrtc peer connections to
// real pear-fogd nodes, release build, the agent embedded as on a router, started empty when
// the fog phase starts; coordinator placement fills them from the viewers' finds and
// prepositions content nobody asked for yet into `prepositionShare` of their stores). Steady
// state = segments requested after `warmup` seconds of a phase; the warm-up's offload and the
// whole phase's are reported too. Then (`libwebrtcNodes`) a third phase, same viewers and
// schedule, with the pear-fogd nodes replaced by libwebrtc (@roamhq/wrtc) nodes that hold the
// whole catalogue: the *_vs_libwebrtc_nodes metrics compare the fog with pear-fogd as the server
// against the fog with Google's WebRTC stack as the server.
// The viewers are spread over a few processes of their own (`viewerProcesses`: a browser has
// its own WebRTC stack), and the coordinator and the origin run in theirs (`coordinatorProcess`,
// `originProcess`), as they are servers elsewhere; with any of these 0 it runs in this process.
// bench_process_cpu_pct sums this process and the viewer processes. With `pinCpus` the servers
// and the viewers run on separate halves of the CPUs (bench/swarm/cpus.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCoordinator } from "../src/coordinator/main";
import { generateKeyPair } from "../src/protocol/ed25519";
import { startOrigin, type Origin } from "../scripts/demo/origin";
import { procCpuS, sctpCounters, udpRcvbufErrors } from "./counters";
import { report } from "./report";
import { publishCatalogue, writeCatalogue } from "./swarm/catalogue";
import { figures, mergeViewers, type PhaseResult } from "./swarm/metrics";
import { startLibwebrtcSwarmNode } from "./swarm/libwebrtc-node-process";
import { startSwarmNode, type SwarmNode } from "./swarm/nodes";
import { parseSwarmArgs, type SwarmOptions } from "./swarm/options";
import { startCoordinatorProcess } from "./swarm/coordinator-process";
import { pinProcess, splitCpus } from "./swarm/cpus";
import { startOriginProcess, type OriginProcess } from "./swarm/origin-process";
import { makeSchedule, type ViewerPlan } from "./swarm/schedule";
import {
  runViewers,
  startViewerProcess,
  type RunReport,
  type RunRequest,
  type ViewerSetup,
} from "./swarm/viewer-process";

const say = (m: string) => console.error(`swarm: ${m}`);

/**
 * From the nodes' status, summed: their SCTP counters, and the chunk payload bytes they sent
 * over data channels.
 */
async function nodesCounters(
  nodes: SwarmNode[],
): Promise<{ sctp: Record<string, number>; servedRtc: number }> {
  const sctp: Record<string, number> = {};
  let servedRtc = 0;
  for (const n of nodes) {
    const status = await n.status();
    for (const [k, v] of Object.entries(sctpCounters(status))) sctp[k] = (sctp[k] ?? 0) + v;
    const served = status["bytes_served_rtc_total"];
    if (typeof served === "number") servedRtc += served;
  }
  return { sctp, servedRtc };
}

/** Runs one phase's viewers (in this process, or spread over viewer processes). */
type PhaseRunner = (req: Omit<RunRequest, "viewers">, plans: ViewerPlan[]) => Promise<RunReport[]>;

/** The runner for `o.viewerProcesses`: 0 = every viewer in this process. */
async function viewerRunner(
  o: SwarmOptions,
  setup: ViewerSetup,
  closers: (() => Promise<void>)[],
): Promise<PhaseRunner> {
  const each = (plans: ViewerPlan[]) => plans.map((plan, viewer) => ({ viewer, plan }));
  if (o.viewerProcesses === 0) {
    return async (req, plans) => [await runViewers(setup, { ...req, viewers: each(plans) })];
  }
  const count = Math.min(o.viewers, o.viewerProcesses);
  const procs = await Promise.all(Array.from({ length: count }, () => startViewerProcess(setup)));
  closers.push(async () => void (await Promise.all(procs.map((p) => p.close()))));
  say(`${o.viewers} viewers in ${count} processes`);
  return (req, plans) =>
    Promise.all(
      procs.map((p, k) =>
        p.run({ ...req, viewers: each(plans).filter(({ viewer }) => viewer % count === k) }),
      ),
    );
}

/** The origin's [segment bytes, repeated range bytes] so far, in this process or its own. */
async function originCounts(origin: Origin | OriginProcess): Promise<[number, number]> {
  return "counts" in origin ? origin.counts() : [origin.segmentBytes(), origin.repeatRangeBytes()];
}

/** One phase; the origin's traffic counts from `originSince` (default: the phase start). */
async function runPhase(
  name: RunRequest["phase"],
  o: SwarmOptions,
  plans: ViewerPlan[],
  run: PhaseRunner,
  origin: Origin | OriginProcess,
  nodePids: number[],
  originSince?: [number, number],
): Promise<PhaseResult> {
  say(`${name}: ${plans.length} viewers for ${o.duration} s`);
  const cpu0 = process.cpuUsage();
  const nodes0 = nodePids.reduce((n, p) => n + procCpuS(p), 0);
  const [origin0, repeat0] = originSince ?? (await originCounts(origin));
  // Every viewer process starts the phase at the same instant, once all have the request.
  const startEpochMs = Date.now() + 200;
  const reports = await run({ phase: name, startEpochMs, durationMs: o.duration * 1000 }, plans);
  const cpu = process.cpuUsage(cpu0);
  const inProcess = o.viewerProcesses === 0; // the report's CPU is this process's own
  const fallbackReasons: Record<string, number> = {};
  for (const r of reports) {
    for (const [k, n] of Object.entries(r.fallbackReasons))
      fallbackReasons[k] = (fallbackReasons[k] ?? 0) + n;
  }
  const [origin1, repeat1] = await originCounts(origin);
  const r: PhaseResult = {
    ...mergeViewers(reports.flatMap((x) => x.results)),
    benchCpuS:
      (cpu.user + cpu.system) / 1e6 + (inProcess ? 0 : reports.reduce((n, x) => n + x.cpuS, 0)),
    loopDelayP99Ms: Math.max(...reports.map((x) => x.loopDelayP99Ms)),
    coordinatorMessages: reports.reduce((n, x) => n + x.coordinatorMessages, 0),
    peerConnections: reports.reduce((n, x) => n + x.peerConnections, 0),
    fallbackReasons,
    nodesCpuS: nodePids.reduce((n, p) => n + procCpuS(p), 0) - nodes0,
    originBytes: origin1 - origin0,
    originRepeatBytes: repeat1 - repeat0,
    wallS: (Date.now() - startEpochMs) / 1000,
  };
  say(
    `${name}: ${r.records.length} segments, ${r.sessions} sessions, ${r.stalls} stalls, ` +
      `${r.errors.length} errors, bench CPU ${r.benchCpuS.toFixed(1)} s, nodes CPU ` +
      `${r.nodesCpuS.toFixed(1)} s in ${r.wallS.toFixed(1)} s`,
  );
  for (const e of r.errors.slice(0, 5)) say(`${name} error: ${e}`);
  return r;
}

/**
 * The libwebrtc phase (`libwebrtcNodes`): the pear-fogd nodes are stopped (the coordinator drops
 * them as their sockets close) and as many libwebrtc nodes, holding the whole catalogue, take
 * their place for a phase of the same viewers; they are stopped after it.
 */
async function runLibwebrtcPhase(
  o: SwarmOptions,
  plans: ViewerPlan[],
  run: PhaseRunner,
  origin: Origin | OriginProcess,
  coordinatorUrl: string,
  dir: string,
  nodes: SwarmNode[],
  pinServer: (pid: number) => void,
): Promise<PhaseResult> {
  for (const n of nodes.splice(0)) await n.stop();
  const lib: SwarmNode[] = [];
  try {
    for (let i = 0; i < o.nodes; i++) lib.push(await startLibwebrtcSwarmNode(coordinatorUrl, dir));
    for (const n of lib) pinServer(n.pid);
    const pids = lib.map((n) => n.pid).filter((p) => p > 0);
    return await runPhase("fog_libwebrtc", o, plans, run, origin, pids);
  } finally {
    for (const n of lib) await n.stop().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const o = parseSwarmArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), "pear-fog-swarm-"));
  const nodes: SwarmNode[] = [];
  const closers: (() => Promise<void>)[] = [];
  const cpus = o.pinCpus > 0 ? splitCpus() : undefined;
  if (o.pinCpus > 0 && !cpus) say("one CPU: --pin-cpus ignored");
  // Children inherit this process's CPUs (the viewers'); each server is moved to its own.
  if (cpus) pinProcess(process.pid, cpus.viewers);
  const pinServer = (pid: number) => {
    if (cpus && pid > 0) pinProcess(pid, cpus.servers);
  };
  if (cpus) say(`CPUs: servers ${cpus.servers}, viewers ${cpus.viewers}`);
  try {
    const spec = {
      items: o.catalogue,
      segments: o.segments,
      segmentBytes: o.segmentBytes,
      segmentSeconds: o.segmentSeconds,
      chunkBytes: o.chunkBytes,
      seed: o.seed,
    };
    writeCatalogue(dir, spec);
    const origin =
      o.originProcess > 0
        ? await startOriginProcess(dir, o.originDelayMs)
        : await startOrigin(dir, {}, { delayMs: o.originDelayMs });
    closers.push(origin.close);
    if ("pid" in origin) pinServer(origin.pid);
    const key = generateKeyPair();
    const coordOptions = {
      host: "127.0.0.1",
      port: 0,
      dbPath: join(dir, "coordinator.sqlite"),
      publishers: [key.did],
      placement: { intervalMs: o.placementMs, prepositionShare: o.prepositionShare },
    };
    const coord =
      o.coordinatorProcess > 0
        ? await startCoordinatorProcess(coordOptions)
        : { ...(await startCoordinator(coordOptions)), pid: 0 };
    closers.push(coord.close);
    pinServer(coord.pid);
    const items = await publishCatalogue(dir, origin.url, coord.url, key, spec);
    say(`published ${items.length} items × ${o.segments} segments × ${o.segmentBytes} B`);

    // A viewer watches at most duration / (segments × segment wall time) + 1 items.
    const itemWallS = (o.segments * o.segmentSeconds) / o.speedup;
    const maxItems = Math.ceil(o.duration / itemWallS) + 2;
    const plans = makeSchedule(
      o.viewers,
      o.catalogue,
      o.zipf,
      o.arrivalSpread * 1000,
      maxItems,
      o.seed,
    );

    const browserWs = `${coord.url.replace(/^http/, "ws")}/ws/browser`;
    const player = {
      segmentWallMs: (o.segmentSeconds / o.speedup) * 1000,
      bufferSegments: o.bufferSegments,
    };
    const setup = {
      items,
      player,
      coordinatorWs: browserWs,
      publisher: key.did,
      sharePeers: o.sharePeers > 0,
    };
    const run = await viewerRunner(o, setup, closers);

    const http = await runPhase("http_only", o, plans, run, origin, []);
    // The nodes start empty when the fog phase starts: everything they fill (placement on
    // demand, prepositioning — from their first second, before the viewers start) is the fog
    // phase's origin traffic.
    const originAtNodesStart = await originCounts(origin);
    for (let i = 0; i < o.nodes; i++)
      nodes.push(await startSwarmNode(coord.url, o.nativeNodes > 0));
    for (const n of nodes) pinServer(n.pid);
    const pids = nodes.map((n) => n.pid).filter((p) => p > 0);
    const drops0 = udpRcvbufErrors();
    const counters0 = await nodesCounters(nodes);
    const coordCpu0 = procCpuS(coord.pid);
    const fog = await runPhase("fog", o, plans, run, origin, pids, originAtNodesStart);
    const coordCpuS = procCpuS(coord.pid) - coordCpu0;
    const drops = udpRcvbufErrors() - drops0;
    const counters1 = await nodesCounters(nodes);
    const served = counters1.servedRtc - counters0.servedRtc;
    for (const [i, n] of nodes.entries()) {
      const f = await n.filled();
      say(`node ${i + 1}: ${f.stored} chunks stored (${f.failed ?? "?"} fills failed)`);
    }
    const lib =
      o.libwebrtcNodes > 0
        ? await runLibwebrtcPhase(o, plans, run, origin, coord.url, dir, nodes, pinServer)
        : undefined;

    const w = o.warmup * 1000;
    const d = o.duration * 1000;
    const fs = figures(fog.records, w, d);
    const hs = figures(http.records, w, d);
    const fogAll = figures(fog.records, 0, d);
    const fogWarm = figures(fog.records, 0, w);
    const anchor = "http_only";
    report({ metric: "offload_ratio", value: fs.offload, unit: "ratio" });
    report({ metric: "offload_ratio_all", value: fogAll.offload, unit: "ratio" });
    report({ metric: `offload_ratio_first_${o.warmup}s`, value: fogWarm.offload, unit: "ratio" });
    report({
      metric: "p95_segment_ms",
      value: fs.p95Ms,
      unit: "ms",
      anchor,
      anchor_value: hs.p95Ms,
    });
    report({
      metric: "p50_segment_ms",
      value: fs.p50Ms,
      unit: "ms",
      anchor,
      anchor_value: hs.p50Ms,
    });
    // Segments after an item's first: no peer connection set-up in them.
    const later = (rs: typeof fog.records) => rs.filter((r) => r.seq > 0);
    report({
      metric: "p95_segment_ms_not_first",
      value: figures(later(fog.records), w, d).p95Ms,
      unit: "ms",
      anchor,
      anchor_value: figures(later(http.records), w, d).p95Ms,
    });
    report({
      metric: "p95_first_segment_ms",
      value: figures(
        fog.records.filter((r) => r.seq === 0),
        w,
        d,
      ).p95Ms,
      unit: "ms",
      anchor,
      anchor_value: figures(
        http.records.filter((r) => r.seq === 0),
        w,
        d,
      ).p95Ms,
    });
    if (lib) {
      // The same figures with Google's WebRTC stack as the nodes (the libwebrtc phase).
      const ls = figures(lib.records, w, d);
      const libAnchor = "libwebrtc_nodes";
      for (const [metric, value, anchorValue] of [
        ["p95_segment_ms_vs_libwebrtc_nodes", fs.p95Ms, ls.p95Ms],
        ["p50_segment_ms_vs_libwebrtc_nodes", fs.p50Ms, ls.p50Ms],
      ] as const) {
        report({ metric, value, unit: "ms", anchor: libAnchor, anchor_value: anchorValue });
      }
      report({
        metric: "nodes_cpu_pct_vs_libwebrtc_nodes",
        value: (100 * fog.nodesCpuS) / fog.wallS,
        unit: "%",
        anchor: libAnchor,
        anchor_value: (100 * lib.nodesCpuS) / lib.wallS,
      });
      report({ metric: "offload_ratio_libwebrtc_nodes", value: ls.offload, unit: "ratio" });
      report({
        metric: "fallback_ratio_libwebrtc_nodes",
        value: ls.fallbackShare,
        unit: "segments",
      });
      report({ metric: "stalls_libwebrtc_nodes", value: lib.stalls, unit: "count" });
    }
    report({ metric: "fallback_ratio", value: fs.fallbackShare, unit: "segments" });
    report({ metric: "steals_per_segment", value: fs.stealsPerSegment, unit: "chunks" });
    // Upload the nodes spent per fog byte the viewers used (whole phase): above 1 by the
    // copies of stolen chunks that lost the race, and by requests cancelled mid-chunk.
    report({
      metric: "node_upload_per_fog_byte",
      value: fog.bytesFogFetched ? served / fog.bytesFogFetched : Number.NaN,
      unit: "ratio",
    });
    report({
      metric: "coordinator_signalling_msgs_per_s",
      value: fog.coordinatorMessages / fog.wallS,
      unit: "msg/s",
    });
    report({
      metric: "origin_bytes",
      value: fog.originBytes,
      unit: "B",
      anchor,
      anchor_value: http.originBytes,
    });
    // The nodes' fills fetch byte ranges; a range the origin serves twice is a chunk the fog
    // filled from the origin twice (placement seeds each chunk once: this should be 0).
    report({ metric: "origin_fill_repeat_bytes", value: fog.originRepeatBytes, unit: "B" });
    // Stalls without an anchor field: the anchor is usually 0, which has no ratio.
    report({ metric: "stalls", value: fog.stalls, unit: "count" });
    report({ metric: "stalls_http_only", value: http.stalls, unit: "count" });
    report({
      metric: "segments_delivered",
      value: fog.records.length,
      unit: "count",
      anchor,
      anchor_value: http.records.length,
    });
    report({
      metric: "bench_process_cpu_pct",
      value: (100 * fog.benchCpuS) / fog.wallS,
      unit: "%",
      anchor,
      anchor_value: (100 * http.benchCpuS) / http.wallS,
    });
    // A segment delivered while the viewers' event loop is blocked waits that long.
    report({
      metric: "event_loop_delay_p99_ms",
      value: fog.loopDelayP99Ms,
      unit: "ms",
      anchor,
      anchor_value: http.loopDelayP99Ms,
    });
    report({ metric: "nodes_cpu_pct", value: (100 * fog.nodesCpuS) / fog.wallS, unit: "%" });
    if (coord.pid) {
      report({ metric: "coordinator_cpu_pct", value: (100 * coordCpuS) / fog.wallS, unit: "%" });
    }
    // What losses cost the fog phase: datagrams the kernel dropped at a full receive buffer
    // (any UDP socket: a viewer's or a node's), and the nodes' SCTP recovery from them.
    report({ metric: "udp_rcvbuf_errors", value: drops, unit: "count" });
    for (const [k, v] of Object.entries(counters1.sctp))
      report({ metric: `nodes_sctp_${k}`, value: v - (counters0.sctp[k] ?? 0), unit: "count" });
    report({ metric: "viewers", value: o.viewers, unit: "count" });
    report({ metric: "duration_s", value: o.duration, unit: "s" });
    report({ metric: "origin_delay_ms", value: o.originDelayMs, unit: "ms" });
    report({ metric: "peer_connections", value: fog.peerConnections, unit: "count" });
    report({ metric: "viewer_processes", value: o.viewerProcesses, unit: "count" });
    report({ metric: "origin_process", value: o.originProcess > 0 ? 1 : 0, unit: "bool" });
    report({ metric: "preposition_share", value: o.prepositionShare, unit: "ratio" });
    report({ metric: "pinned_cpus", value: cpus ? 1 : 0, unit: "bool" });
    const setupMs = [...fog.setupMs].sort((a, b) => a - b);
    say(
      `fog steady: ${fs.segments} segments, ${(fs.bytes / 2 ** 20).toFixed(1)} MiB; session set-up ` +
        `p50 ${setupMs[Math.floor(setupMs.length / 2)]?.toFixed(0)} ms; coordinator messages ` +
        `${fog.coordinatorMessages}`,
    );
    say(`fog fallback chunks by reason (whole phase): ${JSON.stringify(fog.fallbackReasons)}`);
  } finally {
    for (const n of nodes) await n.stop().catch(() => undefined);
    for (const c of closers.reverse()) await c().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`swarm: FAILED: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
