// `npm run bench -- nat [--json] [--reps N]`: the NAT matrix of test/nat (root only: network
// namespaces + nftables). libwebrtc behind each NAT class × pear-fogd (release build) behind
// each, the coordinator's STUN responder and coturn on the lab's internet; every pair connects
// and fetches a 100 kB chunk (hash checked), N times (default 2).
//   connected_ratio              pairs that fetched their chunk / pairs tried
//   direct_ratio_non_symmetric   direct (not relayed) / connected, over pairs with no symmetric
//                                NAT on either side
//   direct_ratio_possible        the same over every pair a direct path exists for
//                                (world.ts directPossible: also symmetric × full-cone/addr.)
//   relayed_when_needed_ratio    relayed / connected over the pairs that need TURN
//   connect_ms_p50/p95[_<class>] offer → data channel open, all pairs and by the node's class
//   direct_after_relay_ms_p50    pairs that started on the relay and moved to a direct pair
// No anchor: nothing else in this repository traverses NATs to compare with.
import { NAT_CLASSES } from "../test/nat/lab";
import { createWorld, directPossible, type PairResult } from "../test/nat/world";
import { report } from "./report";

if (process.getuid?.() !== 0) {
  process.stderr.write("nat: needs root (network namespaces, nftables)\n");
  process.exit(2);
}
const ri = process.argv.indexOf("--reps");
const reps = ri > 0 ? Math.max(1, Number(process.argv[ri + 1]) || 2) : 2;

const pct = (xs: number[], p: number) => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ratio = (rs: PairResult[], f: (r: PairResult) => boolean) =>
  rs.length ? rs.filter(f).length / rs.length : Number.NaN;

const world = await createWorld("release");
const results: PairResult[] = [];
try {
  for (let i = 0; i < reps; i++)
    for (const b of NAT_CLASSES)
      for (const n of NAT_CLASSES) {
        const r = await world.runPair(b, n);
        if (r.error) process.stderr.write(`nat: ${b} × ${n}: ${r.error}\n`);
        results.push(r);
      }
} finally {
  await world.close();
}

const ok = results.filter((r) => r.connected);
report({ metric: "connected_ratio", value: ratio(results, (r) => r.connected), unit: "ratio" });
report({
  metric: "direct_ratio_non_symmetric",
  value: ratio(
    ok.filter((r) => r.browserNat !== "symmetric" && r.nodeNat !== "symmetric"),
    (r) => !r.relayed,
  ),
  unit: "ratio",
});
report({
  metric: "direct_ratio_possible",
  value: ratio(
    ok.filter((r) => directPossible(r.browserNat, r.nodeNat)),
    (r) => !r.relayed,
  ),
  unit: "ratio",
});
report({
  metric: "relayed_when_needed_ratio",
  value: ratio(
    ok.filter((r) => !directPossible(r.browserNat, r.nodeNat)),
    (r) => r.relayed,
  ),
  unit: "ratio",
});
const ms = (rs: PairResult[]) => rs.map((r) => r.connectMs);
report({ metric: "connect_ms_p50", value: pct(ms(ok), 50), unit: "ms" });
report({ metric: "connect_ms_p95", value: pct(ms(ok), 95), unit: "ms" });
for (const c of NAT_CLASSES) {
  const rs = ok.filter((r) => r.nodeNat === c);
  report({ metric: `connect_ms_p50_node_${c}`, value: pct(ms(rs), 50), unit: "ms" });
  report({ metric: `connect_ms_p95_node_${c}`, value: pct(ms(rs), 95), unit: "ms" });
}
for (const c of NAT_CLASSES) {
  const rs = ok.filter((r) => r.browserNat === c);
  report({ metric: `connect_ms_p50_browser_${c}`, value: pct(ms(rs), 50), unit: "ms" });
  report({ metric: `connect_ms_p95_browser_${c}`, value: pct(ms(rs), 95), unit: "ms" });
}
const moved = ok.filter((r) => r.settleMs > 0).map((r) => r.settleMs);
report({ metric: "direct_after_relay_ms_p50", value: pct(moved, 50), unit: "ms" });
report({ metric: "pairs", value: results.length, unit: "count" });
