// Proximity: where nodes and browsers sit, by measured round-trip times.
//
// * RttMatrix keeps smoothed RTTs (EWMA, alpha RTT_EWMA_ALPHA) between any two endpoints
//   (node ids, browser ids, landmark ids). Nodes report probes to landmarks and peers;
//   browsers report RTTs to candidate nodes and landmarks.
// * Estimate of rtt(a, b) when not measured directly: with landmark vectors a_L, b_L the
//   triangle inequality bounds it, max_L |a_L - b_L| <= rtt(a, b) <= min_L (a_L + b_L); we take
//   the midpoint of these bounds. Without shared landmarks it is `unknownRttMs`.
// * LeaderClusters groups endpoints online (leader clustering): an endpoint joins the nearest
//   cluster leader within `radiusMs`, else it leads a new cluster. Distance is the measured RTT
//   if there is one, else the landmark-vector distance max_L |a_L - b_L| (the lower bound
//   above: two endpoints behind the same far-away uplink get the same vector and cluster
//   together even though every landmark is far). When a leader leaves, its members are
//   re-placed at once.
// * rankNodes scores candidate nodes for a browser request; formula at the function.
import type { Reachability } from "../protocol/messages";

/** Weight of a new sample in the smoothed RTT. */
export const RTT_EWMA_ALPHA = 0.3;
/** Most peers remembered per endpoint in the RTT matrix (oldest evicted). */
export const MAX_RTT_PEERS = 256;

export class RttMatrix {
  private readonly rows = new Map<string, Map<string, number>>();
  /** Landmark columns of `rows`, kept separately so vector lookups are O(landmarks). */
  private readonly landmarkRows = new Map<string, Map<string, number>>();

  constructor(private readonly landmarkIds: ReadonlySet<string> = new Set()) {}

  /** Records a sample in both directions. */
  add(a: string, b: string, rttMs: number): void {
    if (a === b || !Number.isFinite(rttMs) || rttMs < 0) return;
    this.addOne(a, b, rttMs);
    this.addOne(b, a, rttMs);
  }

  private addOne(a: string, b: string, rttMs: number): void {
    let row = this.rows.get(a);
    if (!row) {
      row = new Map();
      this.rows.set(a, row);
    }
    const old = row.get(b);
    const v = old === undefined ? rttMs : old + RTT_EWMA_ALPHA * (rttMs - old);
    row.delete(b);
    row.set(b, v);
    if (row.size > MAX_RTT_PEERS) {
      const oldest = row.keys().next().value as string;
      row.delete(oldest);
      this.landmarkRows.get(a)?.delete(oldest);
    }
    if (this.landmarkIds.has(b)) {
      let lm = this.landmarkRows.get(a);
      if (!lm) {
        lm = new Map();
        this.landmarkRows.set(a, lm);
      }
      lm.set(b, v);
    }
  }

  /** Measured (smoothed) RTT, if any. */
  measured(a: string, b: string): number | undefined {
    if (a === b) return 0;
    return this.rows.get(a)?.get(b);
  }

  /** RTTs from `a` to the landmarks it measured. */
  landmarkVector(a: string): ReadonlyMap<string, number> {
    return this.landmarkRows.get(a) ?? new Map();
  }

  /** Triangle-inequality bounds on rtt(a, b) from shared landmarks; undefined if none. */
  private bounds(a: string, b: string): { lower: number; upper: number } | undefined {
    const va = this.landmarkRows.get(a);
    const vb = this.landmarkRows.get(b);
    if (!va || !vb) return undefined;
    let lower = 0;
    let upper = Infinity;
    let shared = 0;
    for (const [l, ra] of va) {
      const rb = vb.get(l);
      if (rb === undefined) continue;
      shared++;
      lower = Math.max(lower, Math.abs(ra - rb));
      upper = Math.min(upper, ra + rb);
    }
    return shared === 0 ? undefined : { lower, upper: Math.max(lower, upper) };
  }

  /** Measured RTT, else the midpoint of the landmark bounds, else undefined. */
  estimate(a: string, b: string): number | undefined {
    const m = this.measured(a, b);
    if (m !== undefined) return m;
    const bd = this.bounds(a, b);
    return bd && (bd.lower + bd.upper) / 2;
  }

  /** Clustering distance: measured RTT, else the landmark lower bound, else undefined. */
  distance(a: string, b: string): number | undefined {
    const m = this.measured(a, b);
    if (m !== undefined) return m;
    return this.bounds(a, b)?.lower;
  }

  /** Forgets an endpoint (its row and every column naming it). */
  remove(a: string): void {
    const row = this.rows.get(a);
    if (row) for (const b of row.keys()) this.rows.get(b)?.delete(a);
    this.rows.delete(a);
    this.landmarkRows.delete(a);
  }
}

/** Online leader clustering with a radius in milliseconds. */
export class LeaderClusters {
  private readonly leaders: string[] = [];
  private readonly clusterOfId = new Map<string, string>();

  constructor(
    private readonly rtt: RttMatrix,
    private readonly radiusMs: number,
  ) {}

  /** (Re)places `id` and returns its cluster id (= the id of the cluster's leader). */
  place(id: string): string {
    const current = this.clusterOfId.get(id);
    if (current === id) return id; // leaders stay leaders until they leave
    let best: string | undefined;
    let bestRtt = Infinity;
    for (const leader of this.leaders) {
      const r = this.rtt.distance(id, leader);
      if (r !== undefined && r <= this.radiusMs && r < bestRtt) {
        best = leader;
        bestRtt = r;
      }
    }
    if (best === undefined) {
      if (current !== undefined && this.leaders.includes(current)) {
        // Keep the old cluster if nothing nearer qualifies and no data says it is far.
        const r = this.rtt.distance(id, current);
        if (r === undefined) return current;
      }
      this.leaders.push(id);
      best = id;
    }
    this.clusterOfId.set(id, best);
    return best;
  }

  clusterOf(id: string): string | undefined {
    return this.clusterOfId.get(id);
  }

  /**
   * Removes `id`. If it led a cluster, the members are re-placed at once, and the cluster that
   * received most of them is returned (the successor, so per-cluster state can move there).
   */
  remove(id: string): string | undefined {
    this.clusterOfId.delete(id);
    const i = this.leaders.indexOf(id);
    if (i < 0) return undefined;
    this.leaders.splice(i, 1);
    const orphans = [...this.clusterOfId].filter(([, c]) => c === id).map(([m]) => m);
    for (const m of orphans) this.clusterOfId.delete(m);
    const votes = new Map<string, number>();
    for (const m of orphans) {
      const c = this.place(m);
      votes.set(c, (votes.get(c) ?? 0) + 1);
    }
    let successor: string | undefined;
    let best = 0;
    for (const [c, n] of votes) {
      if (n > best) {
        successor = c;
        best = n;
      }
    }
    return successor;
  }

  /** Cluster id -> member ids. */
  clusters(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [id, c] of this.clusterOfId) {
      const list = out.get(c) ?? [];
      list.push(id);
      out.set(c, list);
    }
    return out;
  }
}

/** A node as the ranker sees it. */
export interface RankCandidate {
  id: string;
  /** Estimated RTT from the requesting browser, ms (undefined = unknown). */
  rttMs: number | undefined;
  uplinkCapBps: number;
  uplinkUsedBps: number;
  /** 0..1 */
  load: number;
  /** 0..1 */
  credibility: number;
  reachability: Reachability;
  /** Indices of requested chunks this node holds. */
  has: number[];
}

export interface RankRequest {
  /** Number of chunks asked for. */
  wanted: number;
  /** Most results. */
  max: number;
}

export interface RankWeights {
  proximity: number;
  uplink: number;
  load: number;
  credibility: number;
  rttScaleMs: number;
  uplinkRefBps: number;
  minCredibility: number;
}

export interface RankedNode {
  id: string;
  score: number;
  rttMs: number;
  has: number[];
}

/** Multiplier for how easily a browser reaches the node. */
export const REACHABILITY_FACTOR: Record<Reachability, number> = {
  public: 1,
  "nat-cone": 0.9,
  unknown: 0.8,
  "nat-symmetric": 0.6,
  "relay-only": 0,
};

/**
 * Ranks nodes for a request. For each candidate holding at least one wanted chunk, with
 * credibility >= minCredibility and reachable (factor > 0):
 *
 *   p = 1 / (1 + rtt / rttScaleMs)                (rtt = unknownRttMs if unknown)
 *   u = min(1, max(0, uplinkCap - uplinkUsed) / uplinkRefBps)
 *   l = 1 - clamp(load, 0, 1)
 *   c = clamp(credibility, 0, 1)
 *   base = wP·p + wU·u + wL·l + wC·c             (weights sum to 1, so base is in 0..1)
 *   coverage = |has| / wanted
 *   score = base · reach · (0.5 + 0.5·coverage)
 *
 * Sorted by score descending, ties by id; at most `max` returned. score stays in 0..1.
 */
export function rankNodes(
  request: RankRequest,
  nodes: readonly RankCandidate[],
  w: RankWeights,
  unknownRttMs: number,
): RankedNode[] {
  const sumW = w.proximity + w.uplink + w.load + w.credibility || 1;
  const out: RankedNode[] = [];
  for (const n of nodes) {
    if (n.has.length === 0) continue;
    const reach = REACHABILITY_FACTOR[n.reachability];
    if (reach <= 0 || n.credibility < w.minCredibility) continue;
    const rtt = n.rttMs ?? unknownRttMs;
    const p = 1 / (1 + rtt / w.rttScaleMs);
    const u = Math.min(1, Math.max(0, n.uplinkCapBps - n.uplinkUsedBps) / w.uplinkRefBps);
    const l = 1 - clamp01(n.load);
    const c = clamp01(n.credibility);
    const base = (w.proximity * p + w.uplink * u + w.load * l + w.credibility * c) / sumW;
    const coverage = request.wanted > 0 ? Math.min(1, n.has.length / request.wanted) : 0;
    const score = clamp01(base * reach * (0.5 + 0.5 * coverage));
    out.push({ id: n.id, score, rttMs: rtt, has: n.has });
  }
  out.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return out.slice(0, request.max);
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
