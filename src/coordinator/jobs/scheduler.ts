// The job engine: a job's inputs become tasks, tasks become assignments (one replica on one
// node), matched to nodes by the job's requirements and rank over node facts; results come back
// by commit-then-reveal and are accepted by credibility-based voting with spot checks
// (credibility.ts, Sarmenta 2002). Timeouts, retries and reassignment on node loss live here.
// No I/O: the coordinator (service.ts) feeds it node messages and facts and sends what it says;
// the Monte Carlo bench (bench/jobs.ts) drives the same class over simulated nodes.
import type {
  JobCoordinatorToNode,
  JobNodeToCoordinator,
  JobRank,
  JobRequest,
  NodeFacts,
  TaskFailCode,
} from "../../protocol/jobs";
import { jobJson } from "../../protocol/jobs";
import { checkReveal, revealsDue } from "./commit-reveal";
import type { JobsConfig } from "./config";
import { groupCredibility, nodeCredibility } from "./credibility";

/** A node's job history (persisted by the ledger): spot checks passed/failed, blacklist. */
export interface NodeHistory {
  passed: number;
  failed: number;
  /** Epoch ms until which the node gets no tasks; 0 = not blacklisted. */
  blacklistedUntil: number;
}

export interface EngineDeps {
  cfg: JobsConfig;
  now(): number;
  random(): number;
  send(node: string, msg: JobCoordinatorToNode): void;
  history(node: string): NodeHistory;
  saveHistory(node: string, h: NodeHistory): void;
  /** An accepted task (or passed spot check) earned `units` work units for `node`. */
  credit(node: string, jobId: string, units: number): void;
  /** `node` was caught returning a wrong result (registry credibility drops too). */
  caught?(node: string, why: string): void;
  /** RTT between a node and a `near` target, milliseconds, if known. */
  rtt?(node: string, near: string): number | undefined;
}

export type TaskState = "open" | "accepted" | "failed";
type AssignmentState = "running" | "committed" | "revealing" | "done";

interface Assignment {
  id: string;
  job: Job;
  /** The task, or undefined for a spot check. */
  task: Task | undefined;
  /** Spot check: the known answer (canonical JSON). */
  expected: string | undefined;
  node: string;
  state: AssignmentState;
  deadline: number;
  hash: string | undefined;
  units: number;
}

interface Task {
  index: number;
  input: unknown;
  state: TaskState;
  /** Canonical answer by node (revealed, hash checked). */
  answers: Map<string, string>;
  /** Work units each answering node reported. */
  units: Map<string, number>;
  outstanding: Set<Assignment>;
  /** Nodes given this task (answered, running or failed): a node is not asked twice. */
  tried: Set<string>;
  /** Nodes on which an attempt failed: picked last for a retry. */
  failedOn: Set<string>;
  failures: number;
  lastError: TaskFailCode | "lost" | undefined;
  result: string | undefined;
  credibility: number;
  group: string[];
}

interface Job {
  id: string;
  owner: string;
  source: string;
  replicas: number;
  theta: number;
  retries: number;
  limits: { memoryBytes: number; timeoutMs: number };
  req: Required<
    Pick<NonNullable<JobRequest["requirements"]>, "minFreeRamBytes" | "maxLoad" | "minCredibility">
  > & {
    arch: string[] | undefined;
    /** The job named minFreeRamBytes (then a node that does not know its memory is no match). */
    ramExplicit: boolean;
  };
  rank: Required<Omit<JobRank, "near">> & { near: string | undefined };
  tasks: Task[];
  checks: { input: unknown; output: string }[];
  accepted: number[];
  /** Tasks that may need an assignment (checked lazily). */
  ready: Set<Task>;
  /** Tasks with answers that are not decided yet. */
  waiting: Set<Task>;
  state: "running" | "done";
  createdAt: number;
  doneAt: number;
  nAccepted: number;
  nFailed: number;
  assignments: number;
  spotChecks: number;
  spotPassed: number;
  spotFailed: number;
}

interface NodeState {
  id: string;
  facts: NodeFacts;
  inflight: Set<Assignment>;
}

export interface JobStatus {
  id: string;
  state: "running" | "done";
  tasks: number;
  accepted: number;
  failed: number;
  /** Assignments issued so far (replicas, retries and spot checks). */
  assignments: number;
  spotChecks: number;
  /** assignments / accepted tasks (∞ shown as 0 until one is accepted). */
  redundancy: number;
  createdAt: number;
  doneAt: number | null;
}

export type TaskOutcome = { ok: unknown } | { error: string } | null;

export type SubmitError = { error: "busy" | "too_many_jobs"; detail: string };

const DEFAULT_RANK = { freeRam: 0.2, load: 0.3, credibility: 0.4, proximity: 0, speed: 0.1 };

export class JobEngine {
  private readonly jobs = new Map<string, Job>();
  private readonly assignments = new Map<string, Assignment>();
  private readonly nodes = new Map<string, NodeState>();
  private seq = 0;
  private queuedTasks = 0;
  private assigning = false;

  constructor(private readonly d: EngineDeps) {}

  // ------------------------------------------------------------------ nodes
  /** A node's current facts (from its heartbeat); slots 0 = takes no tasks. */
  setNode(id: string, facts: NodeFacts): void {
    const n = this.nodes.get(id);
    if (!n) {
      this.nodes.set(id, { id, facts, inflight: new Set() });
      this.assign();
      return;
    }
    n.facts = facts;
    // Heartbeats arrive every second from every node: only a node with room may change anything.
    if (this.capacity(n) > 0) this.assign();
  }

  /** The node left: its assignments go to other nodes (not counted as task failures). */
  nodeLost(id: string): void {
    const n = this.nodes.get(id);
    if (!n) return;
    this.nodes.delete(id);
    for (const a of [...n.inflight]) this.finish(a, "lost", false);
    for (const a of this.assignments.values()) {
      if (a.node === id) this.finish(a, "lost", false);
    }
    this.assign();
  }

  credibilityOf(node: string): number {
    const h = this.d.history(node);
    return nodeCredibility(
      h.passed,
      this.d.cfg.saboteurFraction,
      h.blacklistedUntil > this.d.now(),
    );
  }

  // ------------------------------------------------------------------ jobs
  submit(owner: string, r: JobRequest, id: string): { id: string } | SubmitError {
    const cfg = this.d.cfg;
    const mine = [...this.jobs.values()].filter((j) => j.owner === owner && j.state === "running");
    if (mine.length >= cfg.maxJobsPerOwner) {
      return {
        error: "too_many_jobs",
        detail: `${mine.length} unfinished jobs (max ${cfg.maxJobsPerOwner})`,
      };
    }
    if (this.queuedTasks + r.inputs.length > cfg.maxQueuedTasks) {
      return {
        error: "busy",
        detail: `${this.queuedTasks} tasks queued (max ${cfg.maxQueuedTasks})`,
      };
    }
    const memoryBytes = r.limits?.memoryBytes ?? cfg.defaultMemoryBytes;
    const job: Job = {
      id,
      owner,
      source: r.source,
      replicas: r.replicas ?? cfg.defaultReplicas,
      theta: r.credibility ?? cfg.defaultCredibility,
      retries: r.retries ?? cfg.defaultRetries,
      limits: { memoryBytes, timeoutMs: r.limits?.timeoutMs ?? cfg.defaultTimeoutMs },
      req: {
        arch: r.requirements?.arch,
        minFreeRamBytes: r.requirements?.minFreeRamBytes ?? memoryBytes,
        ramExplicit: r.requirements?.minFreeRamBytes !== undefined,
        maxLoad: r.requirements?.maxLoad ?? 1,
        minCredibility: r.requirements?.minCredibility ?? 0,
      },
      rank: {
        ...(r.rank
          ? { freeRam: 0, load: 0, credibility: 0, proximity: 0, speed: 0 }
          : DEFAULT_RANK),
        ...r.rank,
        near: r.rank?.near,
      },
      tasks: r.inputs.map((input, index) => ({
        index,
        input,
        state: "open",
        answers: new Map(),
        units: new Map(),
        outstanding: new Set(),
        tried: new Set(),
        failedOn: new Set(),
        failures: 0,
        lastError: undefined,
        result: undefined,
        credibility: 0,
        group: [],
      })),
      checks: (r.checks ?? []).map((c) => ({ input: c.input, output: jobJson(c.output) })),
      accepted: [],
      ready: new Set(),
      waiting: new Set(),
      state: "running",
      createdAt: this.d.now(),
      doneAt: 0,
      nAccepted: 0,
      nFailed: 0,
      assignments: 0,
      spotChecks: 0,
      spotPassed: 0,
      spotFailed: 0,
    };
    for (const t of job.tasks) job.ready.add(t);
    this.queuedTasks += job.tasks.length;
    this.jobs.set(id, job);
    this.assign();
    return { id };
  }

  status(id: string): (JobStatus & { owner: string }) | undefined {
    const j = this.jobs.get(id);
    if (!j) return undefined;
    return {
      id: j.id,
      owner: j.owner,
      state: j.state,
      tasks: j.tasks.length,
      accepted: j.nAccepted,
      failed: j.nFailed,
      assignments: j.assignments,
      spotChecks: j.spotChecks,
      redundancy: j.nAccepted ? j.assignments / j.nAccepted : 0,
      createdAt: j.createdAt,
      doneAt: j.state === "done" ? j.doneAt : null,
    };
  }

  /** Outcomes in input order: {ok} accepted, {error} failed, null not decided yet. */
  results(id: string): TaskOutcome[] | undefined {
    const j = this.jobs.get(id);
    if (!j) return undefined;
    return j.tasks.map((t) =>
      t.state === "accepted"
        ? { ok: JSON.parse(t.result as string) as unknown }
        : t.state === "failed"
          ? { error: t.lastError ?? "failed" }
          : null,
    );
  }

  /** Accepted canonical results with their credibility (the bench checks them). */
  acceptedResults(id: string): { index: number; result: string; credibility: number }[] {
    const j = this.jobs.get(id);
    if (!j) return [];
    return j.tasks
      .filter((t) => t.state === "accepted")
      .map((t) => ({ index: t.index, result: t.result as string, credibility: t.credibility }));
  }

  // ------------------------------------------------------------------ messages
  /** A job message from `node`. Returns false if it named no assignment of that node. */
  onMessage(node: string, m: JobNodeToCoordinator): boolean {
    const a = this.assignments.get(m.a);
    if (!a || a.node !== node) return false;
    switch (m.t) {
      case "job.commit": {
        if (a.state !== "running") return false;
        a.state = "committed";
        a.hash = m.hash;
        const bench = this.nodes.get(node)?.facts.benchMs || 1000;
        a.units = m.ms / bench;
        this.nodes.get(node)?.inflight.delete(a); // the node is free; the result waits
        a.deadline = this.d.now() + this.d.cfg.revealTimeoutMs;
        this.askReveals(a);
        this.assign();
        return true;
      }
      case "job.result": {
        if (a.state !== "revealing") return false;
        const check = checkReveal(a.id, node, a.hash, m.salt, m.result);
        this.finish(a, undefined, false);
        if (!check.ok)
          this.catchNode(node, `reveal does not match the commitment (${check.reason})`);
        else if (a.task) this.answer(a.task, a.job, node, check.canonical, a.units);
        else this.spotResult(a, check.canonical);
        this.assign();
        return true;
      }
      case "job.fail": {
        if (a.state !== "running") return false;
        this.finish(a, m.code, true);
        this.assign();
        return true;
      }
    }
  }

  /** Timeouts and old jobs; returns the number of assignments that timed out. */
  tick(): number {
    const now = this.d.now();
    let n = 0;
    for (const a of [...this.assignments.values()]) {
      if (a.deadline < now) {
        this.d.send(a.node, { t: "job.cancel", a: a.id });
        this.finish(a, "timeout", true);
        n++;
      }
    }
    for (const j of this.jobs.values()) {
      if (j.state === "done" && now - j.doneAt > this.d.cfg.keepDoneMs) this.jobs.delete(j.id);
    }
    if (n) this.assign();
    return n;
  }

  stats() {
    return {
      nodes: this.nodes.size,
      /** Nodes that take tasks now (slots and a measured reference kernel). */
      ready: [...this.nodes.values()].filter((n) => n.facts.slots > 0 && n.facts.benchMs > 0)
        .length,
      jobs: this.jobs.size,
      assignments: this.assignments.size,
      queuedTasks: this.queuedTasks,
    };
  }

  // ------------------------------------------------------------------ acceptance
  private askReveals(a: Assignment): void {
    const group = a.task ? revealsDue(a.task.outstanding) : [a];
    for (const x of group) {
      if (x.state !== "committed") continue;
      x.state = "revealing";
      this.d.send(x.node, { t: "job.reveal", a: x.id });
    }
  }

  /** Ends an assignment; a failure code counts toward the task's retries when `counts`. */
  private finish(a: Assignment, code: TaskFailCode | "lost" | undefined, counts: boolean): void {
    if (a.state === "done") return;
    const wasRunning = a.state === "running";
    a.state = "done";
    this.assignments.delete(a.id);
    this.nodes.get(a.node)?.inflight.delete(a);
    const t = a.task;
    if (!t) return;
    t.outstanding.delete(a);
    if (t.state !== "open") return;
    if (code !== undefined) {
      t.lastError = code;
      if (counts && code !== "busy") t.failures++;
      // A node that gave no answer may try again (a lone node must be able to retry), after
      // the others; it still never gives two answers to one task.
      t.tried.delete(a.node);
      if (code !== "lost" && code !== "busy") t.failedOn.add(a.node);
      if (t.failures >= a.job.retries && t.answers.size === 0) {
        this.decide(t, a.job, "failed");
        return;
      }
    }
    a.job.ready.add(t);
    // Replicas that committed may now be revealed (this one no longer holds them up).
    if (wasRunning) {
      const first = [...t.outstanding].find((x) => x.state === "committed");
      if (first) this.askReveals(first);
    }
  }

  private answer(t: Task, j: Job, node: string, canonical: string, units: number): void {
    if (t.state === "failed") return;
    t.answers.set(node, canonical);
    t.units.set(node, units);
    if (t.state === "open") {
      j.waiting.add(t);
      this.evaluate(t, j);
    }
  }

  private spotResult(a: Assignment, canonical: string): void {
    const h = this.d.history(a.node);
    if (canonical === a.expected) {
      h.passed++;
      a.job.spotPassed++;
      this.d.saveHistory(a.node, h);
      this.d.credit(a.node, a.job.id, a.units);
      // Its answers are worth more now: undecided tasks may pass.
      for (const j of this.jobs.values()) {
        if (j.state !== "running") continue;
        for (const t of [...j.waiting]) if (t.answers.has(a.node)) this.evaluate(t, j);
      }
    } else {
      a.job.spotFailed++;
      this.catchNode(a.node, "wrong answer to a spot check");
    }
  }

  /** Sarmenta voting: accept the best group once it reaches θ (and enough answers are in). */
  private evaluate(t: Task, j: Job): void {
    // A blacklisted node's answers are invalidated (Sarmenta): they count for no group.
    const groups = new Map<string, string[]>();
    let valid = 0;
    const cred = new Map<string, number>();
    for (const [node, ans] of t.answers) {
      const c = this.credibilityOf(node);
      if (c <= 0) continue;
      cred.set(node, c);
      valid++;
      const g = groups.get(ans) ?? [];
      g.push(node);
      groups.set(ans, g);
    }
    const keys = [...groups.keys()];
    const crs = groupCredibility(
      keys.map((k) => (groups.get(k) as string[]).map((n) => cred.get(n) as number)),
    );
    let best = 0;
    for (let i = 1; i < crs.length; i++) if ((crs[i] as number) > (crs[best] as number)) best = i;
    const cr = keys.length ? (crs[best] as number) : 0;
    const wasAccepted = t.state === "accepted";
    if (valid >= j.replicas && cr >= j.theta) {
      const result = keys[best] as string;
      const group = groups.get(result) as string[];
      if (wasAccepted && t.result === result) {
        t.credibility = cr;
        return;
      }
      t.result = result;
      t.credibility = cr;
      t.group = group;
      if (!wasAccepted) this.decide(t, j, "accepted");
      const units = Math.min(...group.map((n) => t.units.get(n) ?? 0));
      for (const n of group) this.d.credit(n, j.id, units);
      for (const [ans, nodes] of groups) {
        if (ans === result) continue;
        for (const n of nodes) this.catchNode(n, "outvoted by a result of credibility ≥ θ");
      }
    } else if (wasAccepted) {
      // Backtracking: the accepted result lost credibility (a voter was caught) — reopen.
      t.state = "open";
      t.result = undefined;
      t.credibility = cr;
      j.nAccepted--;
      j.waiting.add(t);
      j.ready.add(t);
    } else {
      t.credibility = cr;
      j.ready.add(t);
    }
  }

  private decide(t: Task, j: Job, state: "accepted" | "failed"): void {
    if (t.state !== "open") return;
    t.state = state;
    j.waiting.delete(t);
    j.ready.delete(t);
    if (state === "accepted") {
      j.nAccepted++;
      j.accepted.push(t.index);
    } else j.nFailed++;
    for (const a of [...t.outstanding]) {
      this.d.send(a.node, { t: "job.cancel", a: a.id });
      this.finish(a, undefined, false);
    }
    if (j.nAccepted + j.nFailed === j.tasks.length && j.state === "running") {
      j.state = "done";
      j.doneAt = this.d.now();
      this.queuedTasks -= j.tasks.length;
    }
  }

  /** Blacklists a node, cancels its work, and re-checks results it voted for (backtracking). */
  private catchNode(node: string, why: string): void {
    const h = this.d.history(node);
    const now = this.d.now();
    if (h.blacklistedUntil > now) return;
    h.failed++;
    h.blacklistedUntil = now + this.d.cfg.blacklistMs;
    this.d.saveHistory(node, h);
    this.d.caught?.(node, why);
    const n = this.nodes.get(node);
    if (n) {
      for (const a of [...n.inflight]) {
        this.d.send(node, { t: "job.cancel", a: a.id });
        this.finish(a, "lost", false);
      }
    }
    for (const j of this.jobs.values()) {
      if (j.state !== "running") continue;
      for (const t of j.tasks) {
        if (t.answers.has(node) && t.state !== "failed") this.evaluate(t, j);
      }
    }
  }

  // ------------------------------------------------------------------ matchmaking
  private eligible(j: Job, n: NodeState): boolean {
    const f = n.facts;
    if (f.slots <= 0 || f.benchMs <= 0) return false;
    if (j.req.arch && !j.req.arch.includes(f.arch)) return false;
    // memTotalBytes 0: the node could not read its memory (the default requirement is waived).
    const ramKnown = f.memTotalBytes > 0 || j.req.ramExplicit;
    if (ramKnown && f.memFreeBytes < j.req.minFreeRamBytes) return false;
    if (f.load > j.req.maxLoad) return false;
    const cr = this.credibilityOf(n.id);
    return cr > 0 && cr >= j.req.minCredibility;
  }

  /** The job's rank of a node, 0..1 (weights normalised), plus a tiny random tie-break. */
  private score(j: Job, n: NodeState): number {
    const w = j.rank;
    const f = n.facts;
    const rtt = w.near && this.d.rtt ? this.d.rtt(n.id, w.near) : undefined;
    const parts: [number, number][] = [
      [w.freeRam, Math.min(1, f.memFreeBytes / (4 * j.limits.memoryBytes))],
      [w.load, 1 - f.load],
      [w.credibility, this.credibilityOf(n.id)],
      [w.proximity, rtt === undefined ? 0 : 1 / (1 + rtt / 50)],
      [w.speed, 1 / (1 + f.benchMs / 100)],
    ];
    const total = parts.reduce((s, [wt]) => s + wt, 0) || 1;
    return parts.reduce((s, [wt, v]) => s + wt * v, 0) / total + this.d.random() * 1e-6;
  }

  private need(t: Task, j: Job): number {
    if (t.state !== "open") return 0;
    let valid = 0;
    for (const n of t.answers.keys()) if (this.credibilityOf(n) > 0) valid++;
    const have = valid + t.outstanding.size;
    if (have < j.replicas) return j.replicas - have;
    return t.outstanding.size === 0 ? 1 : 0;
  }

  private capacity(n: NodeState): number {
    return n.facts.slots * this.d.cfg.inFlightPerSlot - n.inflight.size;
  }

  /** Hands out work while nodes have room: each job in turn (oldest first), ranked nodes. */
  assign(): void {
    if (this.assigning) return;
    let work = false;
    for (const j of this.jobs.values()) {
      if (j.state === "running" && (j.ready.size > 0 || j.waiting.size > 0)) work = true;
    }
    if (!work) return;
    this.assigning = true;
    try {
      for (const j of this.jobs.values()) {
        if (j.state !== "running") continue;
        const cands = [...this.nodes.values()].filter(
          (n) => this.capacity(n) > 0 && this.eligible(j, n),
        );
        if (cands.length === 0) continue;
        const scores = new Map(cands.map((n) => [n, this.score(j, n)]));
        // Deleting the current entry (or others) while iterating a Set is safe in JS; no copy:
        // a job's ready set can hold all its tasks and assign() runs on every event.
        for (const t of j.ready) {
          if (j.state !== "running") break;
          let need = this.need(t, j);
          if (need === 0) {
            j.ready.delete(t);
            continue;
          }
          while (need > 0) {
            // Least busy first (a free slot beats a queue), then the job's rank.
            let pick: NodeState | undefined;
            let pickKey = -Infinity;
            for (const n of cands) {
              if (this.capacity(n) <= 0 || t.tried.has(n.id)) continue;
              const key =
                (n.inflight.size < n.facts.slots ? 10 : 0) +
                (t.failedOn.has(n.id) ? -100 : 0) +
                (scores.get(n) as number);
              if (key > pickKey) {
                pick = n;
                pickKey = key;
              }
            }
            if (!pick) break;
            if (this.d.random() < this.d.cfg.spotCheckRate) this.spotCheck(j, pick);
            if (this.capacity(pick) <= 0 || !this.eligible(j, pick)) continue;
            this.issue(j, t, pick);
            need--;
          }
          if (!cands.some((n) => this.capacity(n) > 0)) break;
        }
        // A node left idle while its answers wait on credibility: a spot check raises it.
        if (j.waiting.size > 0) {
          for (const n of cands) {
            if (this.capacity(n) <= 0 || n.inflight.size > 0) continue;
            for (const t of j.waiting) {
              if (t.answers.has(n.id)) {
                this.spotCheck(j, n);
                break;
              }
            }
          }
        }
      }
    } finally {
      this.assigning = false;
    }
  }

  private issue(j: Job, t: Task, n: NodeState): void {
    const a = this.newAssignment(j, t, undefined, n);
    t.outstanding.add(a);
    t.tried.add(n.id);
    this.d.send(n.id, {
      t: "job.task",
      a: a.id,
      source: j.source,
      input: t.input,
      limits: j.limits,
    });
  }

  /** A task with a known answer, indistinguishable from a real one; false if none is at hand. */
  private spotCheck(j: Job, n: NodeState): boolean {
    if (j.spotChecks >= j.tasks.length * this.d.cfg.maxSpotChecksPerTask) return false;
    let input: unknown;
    let expected: string | undefined;
    if (j.checks.length > 0 && (j.accepted.length === 0 || this.d.random() < 0.5)) {
      const c = j.checks[Math.floor(this.d.random() * j.checks.length)] as (typeof j.checks)[0];
      input = c.input;
      expected = c.output;
    } else {
      for (let i = 0; i < 4 && j.accepted.length > 0; i++) {
        const t = j.tasks[
          j.accepted[Math.floor(this.d.random() * j.accepted.length)] as number
        ] as Task;
        if (t.state === "accepted" && !t.tried.has(n.id) && t.credibility >= j.theta) {
          input = t.input;
          expected = t.result;
          break;
        }
      }
    }
    if (expected === undefined) return false;
    j.spotChecks++;
    const a = this.newAssignment(j, undefined, expected, n);
    this.d.send(n.id, { t: "job.task", a: a.id, source: j.source, input, limits: j.limits });
    return true;
  }

  private newAssignment(
    j: Job,
    t: Task | undefined,
    expected: string | undefined,
    n: NodeState,
  ): Assignment {
    const a: Assignment = {
      id: `${j.id}.${(++this.seq).toString(36)}`,
      job: j,
      task: t,
      expected,
      node: n.id,
      state: "running",
      // Queued behind inFlightPerSlot − 1 others on the node at worst.
      deadline:
        this.d.now() +
        j.limits.timeoutMs * this.d.cfg.inFlightPerSlot +
        this.d.cfg.assignmentGraceMs,
      hash: undefined,
      units: 0,
    };
    j.assignments++;
    this.assignments.set(a.id, a);
    n.inflight.add(a);
    return a;
  }
}
