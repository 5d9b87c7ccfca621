// Options of `npm run bench -- swarm`: one documented defaults object, CLI flags override
// (`--viewers 40`, `--zipf 0.9`, …; flag names are the keys in kebab-case).

/** Every option of the swarm benchmark, with its default and unit. */
export const SWARM_DEFAULTS = {
  /** Simulated viewers (each one a chain of sessions, one per item watched), count. */
  viewers: 24,
  /** Fog nodes: real pear-fogd (release build) + the demo node glue, count. */
  nodes: 3,
  /** Items ("videos") in the catalogue, count. */
  catalogue: 30,
  /** Segments per item, count. */
  segments: 8,
  /** Segment size, bytes (256 KiB). */
  segmentBytes: 256 * 1024,
  /** Manifest chunk size, bytes (64 KiB: 4 chunks per segment). */
  chunkBytes: 64 * 1024,
  /** Media duration of one segment, seconds. */
  segmentSeconds: 4,
  /** Playback speed-up: a segment plays in segmentSeconds / speedup wall seconds. */
  speedup: 2,
  /** Player buffer: segments fetched ahead of the playhead, count. */
  bufferSegments: 3,
  /** Zipf exponent s of item popularity (P(rank k) ∝ 1 / k^s). */
  zipf: 0.9,
  /** Length of each phase (HTTP-only anchor, then fog), seconds. */
  duration: 60,
  /** Warm-up excluded from the steady-state metrics, seconds from the phase start. */
  warmup: 20,
  /** Viewer arrivals are spread over this long from the phase start, seconds. */
  arrivalSpread: 10,
  /** Coordinator placement period, milliseconds (coordinator default 5000). */
  placementMs: 1000,
  /**
   * 1: each viewer keeps one FogPeers (coordinator link + node connections) across the items it
   * watches, as a page does with `PearFog.peers()`; 0: a new client with its own connections
   * per item. Default 1.
   */
  sharePeers: 1,
  /**
   * Held before every origin response, milliseconds: an origin farther away than the fog nodes
   * (on loopback both are ~0 ms away; a real CDN edge is tens of ms). Applies to every phase,
   * fallbacks and the nodes' fills alike. Default 0: the strict comparison.
   */
  originDelayMs: 0,
  /**
   * 1: the origin runs in a process of its own (bench/swarm/origin-process.ts), as a real
   * origin is another machine; 0: inside the bench process, where the HTTP-only viewers reach it
   * without leaving their process (fog segments always cross to pear-fogd and back). Default 1.
   */
  originProcess: 1,
  /**
   * 1: the coordinator runs in a process of its own (bench/swarm/coordinator-process.ts), as a
   * real one is a server elsewhere; 0: inside the bench process, where its work (finds,
   * signalling, placement) shares the fog viewers' event loop. Default 1.
   */
  coordinatorProcess: 1,
  /**
   * Processes the viewers are spread over (round robin; bench/swarm/viewer-process.ts), count;
   * 0 = every viewer in the bench process. Real viewers are browsers on devices of their own:
   * in one process all of them share @roamhq/wrtc's one network thread, whose blocking
   * RTCDataChannel.send makes a viewer's request wait while the thread decrypts the others'
   * packets (sends blocked up to 10-20 ms, measured); one process per viewer (24 Node +
   * libwebrtc processes) oversubscribes a 2-core machine instead (HTTP-only p50 1.9 → 3.2 ms).
   * Every phase uses the same processes. Default 4.
   */
  viewerProcesses: 4,
  /**
   * 1: a third phase after the fog phase — the same viewers, schedule and coordinator, the
   * pear-fogd nodes replaced by as many nodes running Google's libwebrtc (@roamhq/wrtc, what
   * Chrome runs; bench/swarm/libwebrtc-node-process.ts), each holding the whole catalogue in
   * memory from the start: the anchor of the *_vs_libwebrtc_nodes metrics (the fog CDN with a
   * WebRTC stack that is not ours as the server). 0: no third phase. Default 1.
   */
  libwebrtcNodes: 1,
  /**
   * 1: each node is pear-fogd with the agent embedded in its QuickJS (a router); 0: the demo
   * node glue, whose agent runs on the Node platform inside the bench process and shares the
   * viewers' event loop (bench/swarm/nodes.ts). Default 1.
   */
  nativeNodes: 1,
  /**
   * 1: the servers (origin, coordinator, nodes) run on the first half of the CPUs, the viewers
   * and the bench process on the other half, in every phase (bench/swarm/cpus.ts): viewers on
   * devices of their own, whose segments never wait for a node's turn on a shared core. 0: every
   * process anywhere (the strict one-machine figure). Ignored on one CPU. Default 0: on 2 CPUs
   * pinning made the fog's p95 ratio worse, not better (1.67 and 1.18 pinned against 1.16 and
   * 1.07 unpinned, alternate runs): the viewer processes then share one core, and their fog
   * work (DTLS, SCTP, verification) is what they queue behind; it is there for machines with
   * more cores.
   */
  pinCpus: 0,
  /**
   * The coordinator's placement.prepositionShare: fraction of each node's store that content
   * nobody asked for yet may fill (0 = fill on demand only). Default 0.25 (the coordinator's).
   */
  prepositionShare: 0.25,
  /** Seed of the schedule (arrivals, item picks) and of the synthetic content. */
  seed: 1,
};

export type SwarmOptions = typeof SWARM_DEFAULTS;

export class SwarmUsageError extends Error {
  constructor(detail: string) {
    super(`bench swarm: ${detail}`);
    this.name = "SwarmUsageError";
  }
}

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Parses `--name value` flags (other flags such as --json are ignored). */
export function parseSwarmArgs(argv: string[]): SwarmOptions {
  const o: SwarmOptions = { ...SWARM_DEFAULTS };
  const keys = new Map(Object.keys(o).map((k) => [`--${kebab(k)}`, k as keyof SwarmOptions]));
  for (let i = 0; i < argv.length; i++) {
    const key = keys.get(argv[i]!);
    if (!key) continue;
    const v = Number(argv[++i]);
    if (!Number.isFinite(v) || v < 0)
      throw new SwarmUsageError(`${argv[i - 1]} needs a number >= 0`);
    o[key] = v;
  }
  for (const k of [
    "viewers",
    "nodes",
    "catalogue",
    "segments",
    "segmentBytes",
    "speedup",
  ] as const) {
    if (!(o[k] > 0)) throw new SwarmUsageError(`--${kebab(k)} must be > 0`);
  }
  if (o.warmup >= o.duration) throw new SwarmUsageError("--warmup must be shorter than --duration");
  return o;
}
