// `npm run bench -- placement [--json]`: the coordinator's demand placement round (planPlacement)
// on a swarm-bench-sized index — 30 items × 32 chunks, 54 (content, cluster) demands, every
// chunk already held twice — with 3 and with 30 equally near nodes. A round runs on the
// coordinator's event loop, so its length is how long a browser's find can wait behind it.
//
// Metrics (no anchor: there is no other planner to run here):
//   placement_round_ms_p50_<N>nodes / _p95_   one round, milliseconds (200 rounds after 50 warm-up)
//   placement_max_share_<N>nodes              replicas on the busiest node / an even share, when
//                                             nothing is held yet (1 = perfectly even)
import { randomBytes } from "node:crypto";
import { planPlacement, type PlacementInput } from "../src/coordinator/content";
import { report } from "./report";
import { percentile } from "./swarm/metrics";

/** Every knob of this bench. */
export const PLACEMENT_BENCH_DEFAULTS = {
  /** Items in the index (count). */
  contents: 30,
  /** Chunks per item (count). */
  chunks: 32,
  /** (content, cluster) demands above the popularity floor (count). */
  demands: 54,
  /** Browser clusters the demands come from (count). */
  clusters: 25,
  /** Timed rounds per node count (count), after `warmup` untimed ones. */
  rounds: 200,
  /** Untimed rounds first (the JIT warms up), count. */
  warmup: 50,
};

const C = PLACEMENT_BENCH_DEFAULTS;

function input(nodeCount: number, held: boolean): PlacementInput {
  const nodes = Array.from({ length: nodeCount }, () => ({
    id: `did:key:z6Mk${randomBytes(22).toString("hex")}`,
    cluster: "nodes",
    freeBytes: 1e12,
  }));
  const contents = Array.from({ length: C.contents }, () => ({
    contentId: randomBytes(32).toString("hex"),
    chunks: Array.from({ length: C.chunks }, () => ({
      id: randomBytes(32).toString("hex"),
      size: 65536,
    })),
    origins: ["https://origin.example/"],
  }));
  const demands = Array.from({ length: C.demands }, (_, i) => ({
    content: contents[i % C.contents]!,
    cluster: `browsers-${i % C.clusters}`,
    popularity: 1 + i,
  }));
  const holders = new Map<string, Set<string>>();
  if (held) {
    for (const c of contents) {
      for (const [i, ch] of c.chunks.entries()) {
        holders.set(ch.id, new Set([nodes[i % nodeCount]!.id, nodes[(i + 1) % nodeCount]!.id]));
      }
    }
  }
  return {
    demands,
    nodes,
    holders: (c) => new Set(holders.get(c) ?? []), // the coordinator's holdersOrPending copies too
    rttToCluster: () => 3,
    replication: 2,
    maxChunksPerNodeRound: 1e9,
    unknownRttMs: 150,
    rttBandMs: 10,
    seedFirst: false,
  };
}

for (const n of [3, 30]) {
  const inp = input(n, true);
  const times: number[] = [];
  for (let r = 0; r < C.warmup + C.rounds; r++) {
    const t0 = performance.now();
    planPlacement(inp);
    if (r >= C.warmup) times.push(performance.now() - t0);
  }
  report({ metric: `placement_round_ms_p50_${n}nodes`, value: percentile(times, 50), unit: "ms" });
  report({ metric: `placement_round_ms_p95_${n}nodes`, value: percentile(times, 95), unit: "ms" });
  const per = new Map<string, number>();
  for (const p of planPlacement(input(n, false))) {
    per.set(p.node, (per.get(p.node) ?? 0) + p.chunks.length);
  }
  const total = [...per.values()].reduce((a, b) => a + b, 0);
  report({
    metric: `placement_max_share_${n}nodes`,
    value: Math.max(...per.values()) / (total / n),
    unit: "ratio",
  });
}
