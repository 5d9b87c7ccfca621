// A Monte Carlo run of the coordinator's real job engine (scheduler.ts) over simulated nodes, a
// fraction of them saboteurs. Used by bench/jobs.ts (job_error_rate, job_redundancy) and the
// unit tests. Saboteurs collude (every lie to a task is the same wrong value: the worst case
// for voting) and cannot tell spot checks from real tasks.
import { commitHash, type JobCoordinatorToNode, type NodeFacts } from "../../protocol/jobs";
import { JOBS_DEFAULTS, type JobsConfig } from "./config";
import { JobEngine, type NodeHistory } from "./scheduler";

export interface SimOptions {
  nodes: number;
  /** Fraction of nodes that are saboteurs. */
  saboteurs: number;
  /** Probability that a saboteur lies on an assignment. */
  lieRate: number;
  jobs: number;
  tasksPerJob: number;
  replicas: number;
  credibility: number;
  /** Known-answer pairs each job brings for spot checks. */
  checks: number;
  seed: number;
  cfg?: Partial<JobsConfig>;
}

export interface SimResult {
  accepted: number;
  wrong: number;
  failed: number;
  assignments: number;
  spotChecks: number;
  errorRate: number;
  redundancy: number;
  saboteursCaught: number;
  honestCaught: number;
}

/** mulberry32: a small seeded PRNG, so runs repeat. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FACTS: NodeFacts = {
  arch: "x86_64",
  cpus: 1,
  memTotalBytes: 1 << 30,
  memFreeBytes: 1 << 29,
  load: 0,
  slots: 1,
  benchMs: 30,
};

type Event =
  | { kind: "task"; node: string; a: string; input: number }
  | { kind: "reveal"; node: string; a: string };

export function simulate(o: SimOptions): SimResult {
  const random = seededRandom(o.seed);
  const simRandom = seededRandom(o.seed ^ 0x9e3779b9);
  const histories = new Map<string, NodeHistory>();
  const saboteur = new Set<string>();
  const events: Event[] = [];
  const held = new Map<string, { salt: string; result: number }>();
  const cancelled = new Set<string>();
  const engine = new JobEngine({
    cfg: { ...JOBS_DEFAULTS, ...o.cfg },
    now: () => 0,
    random,
    send(node: string, m: JobCoordinatorToNode) {
      if (m.t === "job.task") events.push({ kind: "task", node, a: m.a, input: m.input as number });
      else if (m.t === "job.reveal") events.push({ kind: "reveal", node, a: m.a });
      else cancelled.add(m.a);
    },
    history: (n) => histories.get(n) ?? { passed: 0, failed: 0, blacklistedUntil: 0 },
    saveHistory: (n, h) => histories.set(n, h),
    credit: () => undefined,
  });
  const ids: string[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const id = `node-${i}`;
    ids.push(id);
    if (i < Math.round(o.nodes * o.saboteurs)) saboteur.add(id);
  }
  for (const id of ids) engine.setNode(id, FACTS);
  const truth = (x: number) => 2 * x + 1;
  let accepted = 0;
  let wrong = 0;
  let failed = 0;
  let assignments = 0;
  let spotChecks = 0;
  for (let jn = 0; jn < o.jobs; jn++) {
    const inputs = Array.from({ length: o.tasksPerJob }, (_, i) => jn * o.tasksPerJob + i);
    const checks = Array.from({ length: o.checks }, (_, i) => ({
      input: -1000 - i,
      output: truth(-1000 - i),
    }));
    const id = `job${jn}`;
    const r = engine.submit(
      "owner",
      {
        source: "function task(x) { return 2 * x + 1 }",
        inputs,
        replicas: o.replicas,
        credibility: o.credibility,
        checks,
      },
      id,
    );
    if ("error" in r) throw new Error(r.detail);
    while (engine.status(id)?.state === "running") {
      if (events.length === 0) throw new Error("simulation stalled");
      // Nodes finish in random order (their speeds and links differ).
      const k = Math.floor(simRandom() * events.length);
      const e = events[k] as Event;
      events[k] = events[events.length - 1] as Event;
      events.pop();
      if (cancelled.has(e.a)) continue;
      if (e.kind === "task") {
        const lie = saboteur.has(e.node) && simRandom() < o.lieRate;
        const result = lie ? -7 - e.input : truth(e.input);
        const salt = `s${Math.floor(simRandom() * 1e9)}`;
        held.set(e.a, { salt, result });
        engine.onMessage(e.node, {
          t: "job.commit",
          a: e.a,
          hash: commitHash(e.a, e.node, salt, result),
          ms: 30,
        });
      } else {
        const h = held.get(e.a);
        if (!h) continue;
        held.delete(e.a);
        engine.onMessage(e.node, { t: "job.result", a: e.a, salt: h.salt, result: h.result });
      }
    }
    const st = engine.status(id)!;
    assignments += st.assignments;
    spotChecks += st.spotChecks;
    failed += st.failed;
    for (const r of engine.acceptedResults(id)) {
      accepted++;
      if (r.result !== String(truth(inputs[r.index] as number))) wrong++;
    }
  }
  let saboteursCaught = 0;
  let honestCaught = 0;
  for (const [n, h] of histories) {
    if (h.blacklistedUntil > 0) {
      if (saboteur.has(n)) saboteursCaught++;
      else honestCaught++;
    }
  }
  return {
    accepted,
    wrong,
    failed,
    assignments,
    spotChecks,
    errorRate: accepted ? wrong / accepted : 0,
    redundancy: accepted ? assignments / accepted : 0,
    saboteursCaught,
    honestCaught,
  };
}
