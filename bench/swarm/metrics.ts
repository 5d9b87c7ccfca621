// Aggregation of per-segment records into the benchmark's figures.
import type { SegmentRecord, ViewerResult } from "./viewer";

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export interface PhaseFigures {
  segments: number;
  offload: number;
  p50Ms: number;
  p95Ms: number;
  /** Share of segments that needed HTTP for at least one chunk. */
  fallbackShare: number;
  /** Chunks also asked of a second node, per segment. */
  stealsPerSegment: number;
  bytes: number;
}

/** Figures over the segments requested in [fromMs, toMs) of the phase. */
export function figures(records: SegmentRecord[], fromMs: number, toMs: number): PhaseFigures {
  const rs = records.filter((r) => r.atMs >= fromMs && r.atMs < toMs);
  const fog = rs.reduce((n, r) => n + r.bytesFog, 0);
  const all = rs.reduce((n, r) => n + r.bytesFog + r.bytesHttp, 0);
  const ms = rs.map((r) => r.ms);
  return {
    segments: rs.length,
    offload: all ? fog / all : 0,
    p50Ms: percentile(ms, 50),
    p95Ms: percentile(ms, 95),
    fallbackShare: rs.length ? rs.filter((r) => r.fallbackChunks > 0).length / rs.length : 0,
    stealsPerSegment: rs.length ? rs.reduce((n, r) => n + r.steals, 0) / rs.length : 0,
    bytes: all,
  };
}

export interface PhaseResult {
  records: SegmentRecord[];
  sessions: number;
  setupMs: number[];
  stalls: number;
  stallMs: number;
  errors: string[];
  /** Fog bytes the viewers received, segments cut by the end of the phase included. */
  bytesFogFetched: number;
  /**
   * CPU seconds of the bench process and its viewer processes (viewers, SDK; + the coordinator
   * or the origin when they run in the bench process).
   */
  benchCpuS: number;
  /** Event-loop delay over the phase, p99, ms: the worst of the processes running viewers. */
  loopDelayP99Ms: number;
  /** Coordinator socket messages (sent + received) of the viewers. */
  coordinatorMessages: number;
  /** Peer connections the viewers created. */
  peerConnections: number;
  /** Chunks that fell back to HTTP, by the SDK's reason. */
  fallbackReasons: Record<string, number>;
  /** CPU seconds of all pear-fogd processes during the phase. */
  nodesCpuS: number;
  originBytes: number;
  /** Of originBytes, byte ranges the origin had served before (a chunk filled twice). */
  originRepeatBytes: number;
  wallS: number;
}

export function mergeViewers(vs: ViewerResult[]) {
  return {
    records: vs.flatMap((v) => v.segments),
    sessions: vs.reduce((n, v) => n + v.sessions, 0),
    setupMs: vs.flatMap((v) => v.setupMs),
    stalls: vs.reduce((n, v) => n + v.stalls, 0),
    stallMs: vs.reduce((n, v) => n + v.stallMs, 0),
    errors: vs.flatMap((v) => v.errors),
    bytesFogFetched: vs.reduce((n, v) => n + v.bytesFogFetched, 0),
  };
}
