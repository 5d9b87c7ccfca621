import { describe, expect, it } from "vitest";
import {
  commitHash,
  type JobCoordinatorToNode,
  type JobRequest,
  type NodeFacts,
} from "../../protocol/jobs";
import { JOBS_DEFAULTS, type JobsConfig } from "./config";
import { groupCredibility, nodeCredibility } from "./credibility";
import { JobEngine, type NodeHistory } from "./scheduler";
import { simulate } from "./simulate";

const FACTS: NodeFacts = {
  arch: "x86_64",
  cpus: 2,
  memTotalBytes: 1 << 30,
  memFreeBytes: 1 << 29,
  load: 0,
  slots: 1,
  benchMs: 20,
};

function harness(cfg: Partial<JobsConfig> = {}, rtt?: (node: string, near: string) => number) {
  let now = 1000;
  const sent: { node: string; m: JobCoordinatorToNode }[] = [];
  const histories = new Map<string, NodeHistory>();
  const credits = new Map<string, number>();
  const caught: string[] = [];
  const engine = new JobEngine({
    cfg: { ...JOBS_DEFAULTS, spotCheckRate: 0, ...cfg },
    now: () => now,
    random: () => 0.5,
    send: (node, m) => sent.push({ node, m }),
    history: (n) => histories.get(n) ?? { passed: 0, failed: 0, blacklistedUntil: 0 },
    saveHistory: (n, h) => histories.set(n, h),
    credit: (n, _job, u) => credits.set(n, (credits.get(n) ?? 0) + u),
    caught: (n) => caught.push(n),
    ...(rtt ? { rtt } : {}),
  });
  /** Takes the messages sent so far. */
  const take = () => sent.splice(0, sent.length);
  const tasksFor = (node: string, msgs = sent) =>
    msgs
      .filter((x) => x.node === node && x.m.t === "job.task")
      .map((x) => x.m as Extract<JobCoordinatorToNode, { t: "job.task" }>);
  /** `node` answers assignment `a` with `result` through commit and (when asked) reveal. */
  const commit = (node: string, a: string, result: unknown, salt = "c2FsdA", ms = 40) => {
    engine.onMessage(node, { t: "job.commit", a, hash: commitHash(a, node, salt, result), ms });
  };
  const reveal = (node: string, a: string, result: unknown, salt = "c2FsdA") =>
    engine.onMessage(node, { t: "job.result", a, salt, result });
  return {
    engine,
    sent,
    take,
    tasksFor,
    commit,
    reveal,
    histories,
    credits,
    caught,
    advance: (ms: number) => (now += ms),
  };
}

const JOB: JobRequest = { source: "function task(x) { return x + 1 }", inputs: [1] };

describe("Sarmenta credibility", () => {
  it("CrP: 1 − f unchecked, 1 − f/((1 − f)ke) after k spot checks, 0 when blacklisted", () => {
    expect(nodeCredibility(0, 0.2, false)).toBeCloseTo(0.8);
    expect(nodeCredibility(1, 0.2, false)).toBeCloseTo(1 - 0.25 / Math.E);
    expect(nodeCredibility(10, 0.2, false)).toBeCloseTo(1 - 0.025 / Math.E);
    expect(nodeCredibility(10, 0.2, true)).toBe(0);
  });
  it("CrG: agreement raises credibility, disagreement splits it", () => {
    const [one] = groupCredibility([[0.8]]);
    expect(one).toBeCloseTo(0.8);
    const [two] = groupCredibility([[0.8, 0.8]]);
    expect(two).toBeCloseTo(0.64 / (0.64 + 0.04));
    const [a, b] = groupCredibility([[0.8], [0.8]]);
    expect(a).toBeCloseTo(b as number);
    expect(a).toBeLessThan(0.5);
    // two agreeing well-checked nodes against one unchecked dissenter
    const c = nodeCredibility(20, 0.2, false);
    const [win, lose] = groupCredibility([[c, c], [0.8]]);
    expect(win).toBeGreaterThan(0.999);
    expect(lose).toBeLessThan(0.001);
    // many agreeing replicas do not underflow
    expect(groupCredibility([Array(2000).fill(0.9)])[0]).toBeCloseTo(1);
  });
});

describe("JobEngine", () => {
  it("reveals only after every replica committed, accepts agreeing results, credits work units", () => {
    const h = harness();
    h.engine.setNode("A", FACTS);
    h.engine.setNode("B", FACTS);
    h.engine.submit("owner", { ...JOB, replicas: 2, credibility: 0.5 }, "j1");
    const [ta] = h.tasksFor("A");
    const [tb] = h.tasksFor("B");
    expect(ta && tb).toBeTruthy();
    h.take();
    h.commit("A", ta!.a, 2);
    expect(h.sent.filter((x) => x.m.t === "job.reveal")).toEqual([]); // B still computing
    h.commit("B", tb!.a, 2);
    expect(
      h
        .take()
        .filter((x) => x.m.t === "job.reveal")
        .map((x) => x.node)
        .sort(),
    ).toEqual(["A", "B"]);
    h.reveal("A", ta!.a, 2);
    expect(h.engine.status("j1")?.state).toBe("running");
    h.reveal("B", tb!.a, 2);
    expect(h.engine.status("j1")).toMatchObject({ state: "done", accepted: 1, redundancy: 2 });
    expect(h.engine.results("j1")).toEqual([{ ok: 2 }]);
    expect(h.credits.get("A")).toBeCloseTo(2); // 40 ms / 20 ms reference
  });

  it("catches a node whose reveal does not match its commitment, and reassigns", () => {
    const h = harness();
    h.engine.setNode("A", FACTS);
    h.engine.submit("owner", { ...JOB, replicas: 1, credibility: 0 }, "j1");
    const [t] = h.tasksFor("A");
    h.take();
    h.commit("A", t!.a, 2);
    h.reveal("A", t!.a, 3); // not what it committed to
    expect(h.caught).toEqual(["A"]);
    expect(h.engine.credibilityOf("A")).toBe(0);
    h.engine.setNode("B", FACTS);
    const [tb] = h.tasksFor("B");
    expect(tb?.input).toBe(1);
    // a message for someone else's assignment is refused
    expect(h.engine.onMessage("A", { t: "job.fail", a: tb!.a, code: "throw", detail: "" })).toBe(
      false,
    );
  });

  it("outvotes and blacklists a liar once the honest result reaches θ", () => {
    const h = harness();
    for (const n of ["A", "B", "C"]) {
      h.engine.setNode(n, FACTS);
      h.histories.set(n, { passed: 30, failed: 0, blacklistedUntil: 0 });
    }
    h.engine.submit("owner", { ...JOB, replicas: 3, credibility: 0.99 }, "j1");
    const as = ["A", "B", "C"].map((n) => h.tasksFor(n)[0]!);
    h.take();
    as.forEach((t, i) => h.commit(["A", "B", "C"][i]!, t.a, i === 2 ? 99 : 2));
    as.forEach((t, i) => h.reveal(["A", "B", "C"][i]!, t.a, i === 2 ? 99 : 2));
    expect(h.engine.results("j1")).toEqual([{ ok: 2 }]);
    expect(h.caught).toEqual(["C"]);
  });

  it("types failures: retries on other nodes, then the task fails with its code; the rest go on", () => {
    const h = harness();
    for (const n of ["A", "B", "C"]) h.engine.setNode(n, FACTS);
    h.engine.submit(
      "owner",
      { ...JOB, inputs: [1, 2], replicas: 1, credibility: 0, retries: 2 },
      "j1",
    );
    let msgs = h.take();
    const first = msgs.filter((x) => x.m.t === "job.task") as {
      node: string;
      m: Extract<JobCoordinatorToNode, { t: "job.task" }>;
    }[];
    const bad = first.find((x) => x.m.input === 1)!;
    const good = first.find((x) => x.m.input === 2)!;
    h.engine.onMessage(bad.node, { t: "job.fail", a: bad.m.a, code: "throw", detail: "boom" });
    msgs = h.take();
    const retry = msgs.find((x) => x.m.t === "job.task" && x.m.input === 1)!;
    expect(retry.node).not.toBe(bad.node);
    h.engine.onMessage(retry.node, {
      t: "job.fail",
      a: (retry.m as { a: string }).a,
      code: "throw",
      detail: "boom",
    });
    h.commit(good.node, good.m.a, 3);
    h.reveal(good.node, good.m.a, 3);
    expect(h.engine.results("j1")).toEqual([{ error: "throw" }, { ok: 3 }]);
    expect(h.engine.status("j1")?.state).toBe("done");
  });

  it("lets a lone node retry a task that failed on it", () => {
    const h = harness();
    h.engine.setNode("A", FACTS);
    h.engine.submit("owner", { ...JOB, replicas: 1, credibility: 0, retries: 3 }, "j1");
    const [t] = h.tasksFor("A");
    h.take();
    h.engine.onMessage("A", { t: "job.fail", a: t!.a, code: "memory", detail: "" });
    const [again] = h.tasksFor("A");
    expect(again?.input).toBe(1);
    h.commit("A", again!.a, 2);
    h.reveal("A", again!.a, 2);
    expect(h.engine.results("j1")).toEqual([{ ok: 2 }]);
  });

  it("times out a silent node and reassigns on node loss without spending retries", () => {
    const h = harness({ assignmentGraceMs: 100, inFlightPerSlot: 1 });
    h.engine.setNode("A", FACTS);
    h.engine.submit(
      "owner",
      { ...JOB, replicas: 1, credibility: 0, retries: 1, limits: { timeoutMs: 50 } },
      "j1",
    );
    const [t] = h.tasksFor("A");
    h.take();
    h.engine.nodeLost("A"); // lost: not a failure
    h.engine.setNode("B", FACTS);
    const [tb] = h.tasksFor("B");
    expect(tb?.input).toBe(1);
    expect(t!.a).not.toBe(tb!.a);
    h.take();
    h.advance(1000);
    expect(h.engine.tick()).toBe(1); // B silent past timeout + grace
    expect(h.sent.some((x) => x.m.t === "job.cancel" && x.node === "B")).toBe(true);
    expect(h.engine.results("j1")).toEqual([{ error: "timeout" }]); // retries: 1
  });

  it("matches requirements and ranks nodes by the job's weights", () => {
    const h = harness();
    h.engine.setNode("mips", { ...FACTS, arch: "mipsel_24kc" });
    h.engine.setNode("small", { ...FACTS, memFreeBytes: 1 << 20 });
    h.engine.setNode("busy", { ...FACTS, load: 0.9 });
    h.engine.setNode("idle", { ...FACTS, load: 0.1 });
    h.engine.submit(
      "owner",
      {
        ...JOB,
        replicas: 1,
        credibility: 0,
        requirements: { arch: ["x86_64"] },
        rank: { load: 1 },
      },
      "j1",
    );
    expect(h.take().map((x) => x.node)).toEqual(["idle"]);
    h.engine.submit(
      "owner",
      { ...JOB, replicas: 1, credibility: 0, requirements: { arch: ["mipsel_24kc"] } },
      "j2",
    );
    expect(h.take().map((x) => x.node)).toEqual(["mips"]);
    h.engine.submit(
      "owner",
      { ...JOB, replicas: 1, credibility: 0, limits: { memoryBytes: 64 << 20 } },
      "j3",
    );
    expect(h.take().map((x) => x.node)).not.toContain("small");
  });

  it("ranks by proximity to the job's `near` target", () => {
    const h = harness({}, (node, near) =>
      near === "lm-paris" ? (node === "paris" ? 5 : 80) : 150,
    );
    h.engine.setNode("tokyo", FACTS);
    h.engine.setNode("paris", FACTS);
    h.engine.submit(
      "owner",
      { ...JOB, replicas: 1, credibility: 0, rank: { proximity: 1, near: "lm-paris" } },
      "j1",
    );
    expect(h.take().map((x) => x.node)).toEqual(["paris"]);
  });

  it("waives the default memory requirement for a node that cannot read its memory", () => {
    const h = harness();
    h.engine.setNode("blind", { ...FACTS, memTotalBytes: 0, memFreeBytes: 0 });
    h.engine.submit("owner", { ...JOB, replicas: 1, credibility: 0 }, "j1");
    expect(h.take().map((x) => x.node)).toEqual(["blind"]);
    h.engine.submit(
      "owner",
      { ...JOB, replicas: 1, credibility: 0, requirements: { minFreeRamBytes: 1 } },
      "j2",
    );
    expect(h.take()).toEqual([]);
  });

  it("refuses work past its queue and per-owner caps", () => {
    const h = harness({ maxQueuedTasks: 3, maxJobsPerOwner: 1 });
    expect(h.engine.submit("o", { ...JOB, inputs: [1, 2, 3, 4] }, "j1")).toMatchObject({
      error: "busy",
    });
    expect(h.engine.submit("o", JOB, "j2")).toEqual({ id: "j2" });
    expect(h.engine.submit("o", JOB, "j3")).toMatchObject({ error: "too_many_jobs" });
  });
});

describe("Monte Carlo over the real engine", () => {
  it("keeps the error rate low at modest redundancy with 20% saboteurs lying half the time", () => {
    const r = simulate({
      nodes: 30,
      saboteurs: 0.2,
      lieRate: 0.5,
      jobs: 3,
      tasksPerJob: 500,
      replicas: 2,
      credibility: 0.999,
      checks: 10,
      seed: 7,
    });
    expect(r.accepted).toBe(1500);
    expect(r.errorRate).toBeLessThanOrEqual(1e-3);
    expect(r.redundancy).toBeLessThan(3);
    expect(r.saboteursCaught).toBeGreaterThanOrEqual(5);
    expect(r.honestCaught).toBe(0);
  });
});
