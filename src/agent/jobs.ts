// The agent's side of edge-compute jobs (issue 7, docs/jobs.md): it advertises node facts in its
// heartbeat, runs assigned tasks through Platform.runTask (a fresh sandbox per task: worker +
// node:vm on Node, QuickJS in pear-fogd), commits to each result's hash and reveals the result
// only when the coordinator asks. Portable: only the Platform, no `node:` imports.
import {
  REFERENCE_KERNEL,
  REFERENCE_KERNEL_INPUT,
  TASK_FAIL_CODES,
  commitHash,
  jobJson,
  JOB_LIMITS,
  type JobCoordinatorToNode,
  type JobNodeToCoordinator,
  type JobTask,
  type NodeFacts,
  type TaskFailCode,
} from "../protocol/jobs";
import { base64url } from "../coordinator/node-client";
import { PlatformError, type Platform } from "../platform/platform";

export interface JobRunnerOptions {
  /** Tasks run at once; 0 = the node takes no tasks. Default 1 (routers have one or two cores). */
  slots: number;
  /** Tasks queued beyond the running ones at most (count); more are refused "busy". Default 8. */
  queue: number;
  /** Results held for a reveal at most (count); the oldest is dropped. Default 256. */
  held: number;
  /** Architecture to advertise; default: DISTRIB_ARCH from /etc/openwrt_release, else the kernel's. */
  arch?: string;
  /**
   * TEST ONLY — never set on a real node: the probability that this node returns a wrong
   * result (a saboteur for the integration test and benches). The lie is consistent: every
   * saboteur returns {"sabotaged": <canonical result>}. Default 0.
   */
  sabotageRate: number;
  /** Random number source for sabotageRate (tests). Default Math.random. */
  random?: () => number;
}

export const JOB_RUNNER_DEFAULTS: JobRunnerOptions = {
  slots: 1,
  queue: 8,
  held: 256,
  sabotageRate: 0,
};

export interface JobRunnerStats {
  ran: number;
  failed: Partial<Record<TaskFailCode, number>>;
  revealed: number;
  cancelled: number;
  /** Reference kernel time, ms (0 = no sandbox on this platform). */
  benchMs: number;
}

interface Held {
  salt: string;
  result: unknown;
}

export class JobRunner {
  private readonly o: JobRunnerOptions;
  private readonly queue: JobTask[] = [];
  private readonly cancelled = new Set<string>();
  private readonly held = new Map<string, Held>();
  private running = 0;
  private benchMs = 0;
  private facts: NodeFacts | undefined;
  private arch = "unknown";
  private stopped = false;
  readonly stats: JobRunnerStats = { ran: 0, failed: {}, revealed: 0, cancelled: 0, benchMs: 0 };

  constructor(
    private readonly p: Platform,
    private nodeId: string,
    private readonly send: (m: JobNodeToCoordinator) => void,
    o: Partial<JobRunnerOptions> = {},
  ) {
    this.o = { ...JOB_RUNNER_DEFAULTS, ...o };
  }

  /**
   * Reads the facts, then measures the reference kernel (one work unit) in the background: the
   * node advertises no slots until it knows its benchMs (on a router the kernel takes a while,
   * and sign-in must not wait for it).
   */
  async start(): Promise<void> {
    this.arch = this.o.arch ?? (await readArch(this.p));
    await this.refreshFacts();
    if (this.p.runTask && this.o.slots > 0) void this.measure();
  }

  /** Resolves once the reference kernel has been timed (or failed); for tests. */
  ready(): Promise<void> {
    return this.measured;
  }

  private measured: Promise<void> = Promise.resolve();

  private measure(): Promise<void> {
    const runTask = this.p.runTask;
    if (!runTask) return Promise.resolve();
    this.measured = (async () => {
      try {
        const limits = { memoryBytes: 32 << 20, timeoutMs: 60_000 };
        await runTask.call(this.p, REFERENCE_KERNEL, 1000, limits); // warm the sandbox up
        const t0 = this.p.now();
        await runTask.call(this.p, REFERENCE_KERNEL, REFERENCE_KERNEL_INPUT, limits);
        this.benchMs = Math.max(1, this.p.now() - t0);
      } catch (e) {
        this.p.log("warn", `jobs: reference kernel failed, taking no tasks: ${String(e)}`);
      }
      this.stats.benchMs = this.benchMs;
      await this.refreshFacts();
    })();
    return this.measured;
  }

  /** Re-reads memory and load (the agent's tick calls it; the heartbeat reads the cache). */
  async refreshFacts(): Promise<void> {
    const [mem, loadavg, cpuinfo] = await Promise.all([
      readText(this.p, "/proc/meminfo"),
      readText(this.p, "/proc/loadavg"),
      readText(this.p, "/proc/cpuinfo"),
    ]);
    const kb = (name: string) => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(mem);
      return m ? Number(m[1]) * 1024 : 0;
    };
    const cpus = Math.max(1, (cpuinfo.match(/^processor\s*:/gm) ?? []).length);
    const load1 = Number(loadavg.split(" ")[0]);
    this.facts = {
      arch: this.arch,
      cpus: Math.min(1024, cpus),
      memTotalBytes: kb("MemTotal"),
      memFreeBytes: kb("MemAvailable") || kb("MemFree"),
      load: Number.isFinite(load1) ? Math.max(0, Math.min(1, load1 / cpus)) : 0,
      slots: this.benchMs > 0 && !this.stopped ? this.o.slots : 0,
      benchMs: Math.round(this.benchMs * 10) / 10,
    };
  }

  /** The id commitments bind (a browser learns its own from the coordinator's welcome). */
  setNodeId(id: string): void {
    this.nodeId = id;
  }

  /** The facts for the next heartbeat; undefined before start(). */
  currentFacts(): NodeFacts | undefined {
    return this.facts;
  }

  onMessage(m: JobCoordinatorToNode): void {
    if (m.t === "job.task") {
      if (this.benchMs === 0 || this.stopped) return this.fail(m.a, "unsupported", "no sandbox");
      if (this.queue.length >= this.o.queue) return this.fail(m.a, "busy", "queue full");
      this.queue.push(m);
      this.pump();
    } else if (m.t === "job.reveal") {
      const h = this.held.get(m.a);
      if (!h) return; // dropped or never ran: the coordinator's reveal timeout handles it
      this.held.delete(m.a);
      this.stats.revealed++;
      this.send({ t: "job.result", a: m.a, salt: h.salt, result: h.result });
    } else if (m.t === "job.cancel") {
      this.stats.cancelled++;
      this.held.delete(m.a);
      const i = this.queue.findIndex((q) => q.a === m.a);
      if (i >= 0) this.queue.splice(i, 1);
      else this.cancelled.add(m.a); // running now: its result is not sent
    }
  }

  /** The coordinator link dropped: queued and held work is void (it reassigns). */
  reset(): void {
    this.queue.length = 0;
    this.held.clear();
  }

  stop(): void {
    this.stopped = true;
    this.reset();
  }

  private pump(): void {
    while (this.running < this.o.slots && this.queue.length > 0) {
      const task = this.queue.shift() as JobTask;
      this.running++;
      void this.run(task).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run(m: JobTask): Promise<void> {
    const runTask = this.p.runTask;
    if (!runTask) return this.fail(m.a, "unsupported", "no sandbox");
    const t0 = this.p.now();
    let result: unknown;
    try {
      result = await runTask.call(this.p, m.source, m.input, m.limits);
    } catch (e) {
      if (this.cancelled.delete(m.a)) return;
      const code = e instanceof PlatformError ? e.code : "throw";
      const known = (TASK_FAIL_CODES as readonly string[]).includes(code);
      return this.fail(m.a, known ? (code as TaskFailCode) : "throw", String(e).slice(0, 500));
    }
    const ms = this.p.now() - t0;
    this.stats.ran++;
    if (this.cancelled.delete(m.a) || this.stopped) return;
    if (jobJson(result).length > JOB_LIMITS.valueBytes) {
      return this.fail(m.a, "bad_result", `result larger than ${JOB_LIMITS.valueBytes} bytes`);
    }
    const rnd = this.o.random ?? Math.random;
    if (this.o.sabotageRate > 0 && rnd() < this.o.sabotageRate) {
      result = { sabotaged: jobJson(result) }; // TEST ONLY (JobRunnerOptions.sabotageRate)
    }
    const salt = base64url(this.p.randomBytes(16));
    if (this.held.size >= this.o.held) this.held.delete(this.held.keys().next().value as string);
    this.held.set(m.a, { salt, result });
    this.send({ t: "job.commit", a: m.a, hash: commitHash(m.a, this.nodeId, salt, result), ms });
  }

  private fail(a: string, code: TaskFailCode, detail: string): void {
    this.stats.failed[code] = (this.stats.failed[code] ?? 0) + 1;
    this.send({ t: "job.fail", a, code, detail: detail.slice(0, 500) });
  }
}

async function readText(p: Platform, path: string): Promise<string> {
  try {
    const b = await p.readFile(path);
    return b ? new TextDecoder().decode(b) : "";
  } catch {
    return "";
  }
}

/** OpenWrt's package architecture, else the kernel's machine name, else "unknown". */
async function readArch(p: Platform): Promise<string> {
  const rel = /^DISTRIB_ARCH=['"]?([A-Za-z0-9._+-]+)/m.exec(
    await readText(p, "/etc/openwrt_release"),
  );
  if (rel) return rel[1] as string;
  const k = (await readText(p, "/proc/sys/kernel/arch")).trim();
  return /^[A-Za-z0-9._+-]{1,64}$/.test(k) ? k : "unknown";
}
