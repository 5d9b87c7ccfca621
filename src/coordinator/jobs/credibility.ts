// Credibility-based fault tolerance for job results, after L. F. G. Sarmenta, "Sabotage-tolerance
// mechanisms for volunteer computing systems", Future Generation Computer Systems 18(4), 2002.
//
// Node credibility CrP (spot-checking with blacklisting): a node caught returning a wrong
// result is blacklisted (CrP = 0). Of the nodes not caught, a fraction of at most f may be
// saboteurs. A saboteur that gives a bad result with probability s survives k spot checks with
// probability (1 − s)^k, so the chance that a surviving node's result is bad is at most
// f/(1 − f) · s(1 − s)^k, and s(1 − s)^k ≤ 1/(k·e) for every s (maximum at s = 1/(k + 1)):
//
//   CrP(node) = 1 − f                       no spot check passed yet (k = 0)
//             = 1 − f/(1 − f) · 1/(k·e)     after k passed spot checks
//             = 0                           blacklisted
//
// Result-group credibility CrG (voting with credibility): the answers to one task fall into
// groups of equal results G_1..G_m. Assuming, worst case, that all bad answers to a task agree
// with each other, with P_good(G) = Π_{n∈G} CrP(n) and P_bad(G) = Π_{n∈G} (1 − CrP(n)):
//
//   CrG(G_a) = P_good(G_a) Π_{b≠a} P_bad(G_b)  /  ( Π_j P_bad(G_j) + Σ_j P_good(G_j) Π_{i≠j} P_bad(G_i) )
//
// A result is accepted when its group's CrG reaches θ = 1 − ε. Pure: the coordinator's
// scheduler (scheduler.ts) and the Monte Carlo bench (bench/jobs.ts) both call these.

/** Sarmenta's CrP; `f` is the assumed upper bound on the saboteur fraction (0 ≤ f < 1). */
export function nodeCredibility(passedSpotChecks: number, f: number, blacklisted: boolean): number {
  if (blacklisted) return 0;
  if (passedSpotChecks <= 0) return 1 - f;
  return Math.max(1 - f, 1 - f / ((1 - f) * passedSpotChecks * Math.E));
}

/**
 * CrG for every group; `groups[i]` lists the CrP of the nodes that returned result i. Computed
 * in log space so that many agreeing replicas do not underflow.
 */
export function groupCredibility(groups: readonly (readonly number[])[]): number[] {
  if (groups.length === 0) return [];
  const logGood: number[] = [];
  const logBad: number[] = [];
  for (const g of groups) {
    let lg = 0;
    let lb = 0;
    for (const c of g) {
      lg += Math.log(Math.max(0, Math.min(1, c)));
      lb += Math.log(Math.max(0, Math.min(1, 1 - c)));
    }
    logGood.push(lg);
    logBad.push(lb);
  }
  const sumBad = logBad.reduce((a, b) => a + b, 0);
  // term_j = P_good(G_j) Π_{i≠j} P_bad(G_i) = exp(logGood_j + sumBad − logBad_j); careful with
  // P_bad = 0 (a node with CrP 1 does not occur, but guard): compute the product directly.
  const term = groups.map((_, j) => {
    let l = logGood[j] as number;
    for (let i = 0; i < groups.length; i++) if (i !== j) l += logBad[i] as number;
    return l;
  });
  const all = [sumBad, ...term].filter((x) => x > -Infinity);
  if (all.length === 0) return groups.map(() => 0);
  const m = Math.max(...all);
  const denom = all.reduce((a, l) => a + Math.exp(l - m), 0);
  return term.map((l) => (l === -Infinity ? 0 : Math.exp(l - m) / denom));
}
