// Delivery statistics: bytes from the fog vs HTTP, offload ratio, per-node bytes and throughput,
// fallbacks by reason, stalls. Pure arithmetic over recorded events; the clock is injected.

/** Why bytes went over HTTP instead of the fog. */
export type FallbackReason =
  /** The URL is not in the manifest (playlists, unknown files). */
  | "not_in_manifest"
  /** The coordinator knows no node holding the chunks (or did not answer). */
  | "no_nodes"
  /** The fog deadline (from the buffer level) passed before the chunk arrived. */
  | "deadline"
  /** The node answered with an error, closed, or could not be connected. */
  | "node_error"
  /** The node sent bytes whose SHA-256 is not the manifest's id. */
  | "bad_hash";

export const FALLBACK_REASONS: readonly FallbackReason[] = [
  "not_in_manifest",
  "no_nodes",
  "deadline",
  "node_error",
  "bad_hash",
];

export interface NodeStats {
  /** Verified bytes received from the node (including chunks HTTP delivered first). */
  bytes: number;
  /** Verified chunks received from the node. */
  chunks: number;
  /** Failed chunk requests (errors, timeouts, bad hashes). */
  failures: number;
  /** Bytes per second over the throughput window (verified bytes / time spent receiving). */
  throughputBps: number;
}

export interface StatsSnapshot {
  /** Verified bytes delivered from fog nodes. */
  bytesFog: number;
  /** Bytes delivered from HTTP (origin/CDN). */
  bytesHttp: number;
  /** bytesFog / (bytesFog + bytesHttp); 0 when nothing was delivered. */
  offloadRatio: number;
  /** Per node id (did:key). */
  nodes: Record<string, NodeStats>;
  /** Chunk (or whole-file) fallbacks to HTTP by reason, count. */
  fallbacks: Record<FallbackReason, number>;
  /** Playback stalls (hls.js BUFFER_STALLED_ERROR), count. */
  stalls: number;
  /** Chunks also asked of a second node because the first was slow (stealFactor), count. */
  steals: number;
  /** Segments/files delivered, count. */
  delivered: number;
}

interface Sample {
  at: number;
  bytes: number;
  ms: number;
}

export class DeliveryStats {
  private bytesFog = 0;
  private bytesHttp = 0;
  private stalls = 0;
  private steals = 0;
  private deliveredCount = 0;
  private readonly fallbacks = Object.fromEntries(FALLBACK_REASONS.map((r) => [r, 0])) as Record<
    FallbackReason,
    number
  >;
  private readonly nodes = new Map<string, { s: NodeStats; samples: Sample[] }>();
  /** Bytes counted since the last takeReport() (for browser.stats). */
  private reportFog = 0;
  private reportHttp = 0;

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /**
   * A verified chunk of `bytes` arrived from `node` after `ms` milliseconds of waiting. Per-node
   * only: totals count delivered bytes (see delivered()), and a chunk that also came over HTTP
   * after a deadline counts for the node but not for bytesFog.
   */
  nodeBytes(node: string, bytes: number, ms: number): void {
    const n = this.node(node);
    n.s.bytes += bytes;
    n.s.chunks++;
    n.samples.push({ at: this.now(), bytes, ms: Math.max(1, ms) });
    this.trim(n.samples);
  }

  /** A segment/file was handed to the caller: `fog` bytes of it from nodes, `http` over HTTP. */
  delivered(fog: number, http: number): void {
    this.bytesFog += fog;
    this.reportFog += fog;
    this.bytesHttp += http;
    this.reportHttp += http;
    this.deliveredCount++;
  }

  nodeFailure(node: string): void {
    this.node(node).s.failures++;
  }

  fallback(reason: FallbackReason, count = 1): void {
    this.fallbacks[reason] += count;
  }

  stall(): void {
    this.stalls++;
  }

  steal(): void {
    this.steals++;
  }

  /** Bytes since the previous call, for the coordinator's browser.stats; resets the counters. */
  takeReport(): { p2pBytes: number; httpBytes: number } {
    const r = { p2pBytes: this.reportFog, httpBytes: this.reportHttp };
    this.reportFog = 0;
    this.reportHttp = 0;
    return r;
  }

  snapshot(): StatsSnapshot {
    const total = this.bytesFog + this.bytesHttp;
    const nodes: Record<string, NodeStats> = {};
    for (const [id, n] of this.nodes) {
      this.trim(n.samples);
      // Requests overlap, so summing their durations underestimates throughput; it is a lower
      // bound per node, which is what scheduling needs (a pessimistic speed).
      let bytes = 0;
      let ms = 0;
      for (const s of n.samples) {
        bytes += s.bytes;
        ms += s.ms;
      }
      nodes[id] = { ...n.s, throughputBps: ms > 0 ? Math.round((bytes * 1000) / ms) : 0 };
    }
    return {
      bytesFog: this.bytesFog,
      bytesHttp: this.bytesHttp,
      offloadRatio: total > 0 ? this.bytesFog / total : 0,
      nodes,
      fallbacks: { ...this.fallbacks },
      stalls: this.stalls,
      steals: this.steals,
      delivered: this.deliveredCount,
    };
  }

  private node(id: string) {
    let n = this.nodes.get(id);
    if (!n) {
      n = { s: { bytes: 0, chunks: 0, failures: 0, throughputBps: 0 }, samples: [] };
      this.nodes.set(id, n);
    }
    return n;
  }

  private trim(samples: Sample[]): void {
    const from = this.now() - this.windowMs;
    let i = 0;
    while (i < samples.length && samples[i]!.at < from) i++;
    if (i > 0) samples.splice(0, i);
  }
}
