// Edge-compute job messages (issue 7) between the coordinator and nodes, the node facts a
// heartbeat carries, the job request a client submits (REST), and the commit-then-reveal hash.
// Validated with the same schema helpers as messages.ts (check.ts); messages.ts merges the
// tables below into its per-direction tables, so one decoder still reads every frame.
// Pure: no I/O, runs on Node, in browsers and in QuickJS. Spec: docs/jobs.md.
//
//   coordinator -> node  job.task {a, source, input, limits}    run this (assignment `a`)
//   node -> coordinator  job.commit {a, hash, ms}               H(result) fixed before any reveal
//   coordinator -> node  job.reveal {a}                         every replica has committed
//   node -> coordinator  job.result {a, salt, result}           checked against the commit
//   node -> coordinator  job.fail {a, code, detail}             threw / timeout / memory / ...
//   coordinator -> node  job.cancel {a}                         not needed any more
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { arr, fail, json, num, obj, oneOf, str, type Check } from "./check";

export const JOB_LIMITS = {
  /** A task's JS source, characters (it travels in every job.task frame). */
  source: 48 * 1024,
  /** Inputs (= tasks) in one job. */
  inputs: 10_000,
  /** Nesting depth of an input or result value. */
  depth: 32,
  /** A job's serialized inputs together, bytes of JSON (REST body cap is separate). */
  inputBytes: 8 * 1024 * 1024,
  /** One task's input or result, bytes of JSON (must fit a 64 KiB frame with the source). */
  valueBytes: 12 * 1024,
  /** Replicas a job may ask for at least / the coordinator runs per task at most. */
  replicas: 8,
  /** Known-answer pairs a job may bring for spot checks. */
  checks: 64,
  /** Architectures named in requirements. */
  arches: 16,
  /** Task memory limit bounds, bytes. */
  minMemoryBytes: 8 * 1024 * 1024,
  maxMemoryBytes: 1024 * 1024 * 1024,
  /** Task CPU time bounds, milliseconds. */
  maxTimeoutMs: 10 * 60_000,
} as const;

/** Facts a node advertises in its heartbeat for matchmaking (docs/jobs.md). */
export interface NodeFacts {
  /** OpenWrt package architecture (DISTRIB_ARCH, e.g. "mipsel_24kc") or the kernel's machine. */
  arch: string;
  cpus: number;
  memTotalBytes: number;
  /** Available memory (MemAvailable), bytes. */
  memFreeBytes: number;
  /** One-minute load average per CPU, clamped to 0..1. */
  load: number;
  /** Tasks the node runs at once; 0 = it takes no tasks. */
  slots: number;
  /**
   * Milliseconds the node needs for the reference kernel (REFERENCE_KERNEL): one work unit.
   * 0 = not measured (no sandbox). A task that ran `ms` is worth ms / benchMs work units.
   */
  benchMs: number;
}

export interface TaskLimitsWire {
  memoryBytes: number;
  timeoutMs: number;
}

// ---- coordinator -> node ----
export interface JobTask {
  t: "job.task";
  /** Assignment id: one replica of one task on one node. */
  a: string;
  source: string;
  input: unknown;
  limits: TaskLimitsWire;
}
export interface JobRevealRequest {
  t: "job.reveal";
  a: string;
}
export interface JobCancel {
  t: "job.cancel";
  a: string;
}
export type JobCoordinatorToNode = JobTask | JobRevealRequest | JobCancel;

// ---- node -> coordinator ----
export interface JobCommit {
  t: "job.commit";
  a: string;
  /** commitHash(a, nodeId, salt, result), lowercase hex. */
  hash: string;
  /** Wall time the task ran, milliseconds (work units = ms / benchMs). */
  ms: number;
}
export interface JobResult {
  t: "job.result";
  a: string;
  /** The salt of the commit, base64url (16+ random bytes: a small result cannot be guessed). */
  salt: string;
  result: unknown;
}
export type TaskFailCode = "throw" | "timeout" | "memory" | "bad_result" | "unsupported" | "busy";
export const TASK_FAIL_CODES: readonly TaskFailCode[] = [
  "throw",
  "timeout",
  "memory",
  "bad_result",
  "unsupported",
  "busy",
];
export interface JobFail {
  t: "job.fail";
  a: string;
  code: TaskFailCode;
  detail: string;
}
export type JobNodeToCoordinator = JobCommit | JobResult | JobFail;

// ---- browsers that opt in to run tasks (SDK JobWorker) ----
/** browser -> coordinator: this page runs tasks (facts as a node's); slots 0 = stop. */
export interface BrowserJobs {
  t: "browser.jobs";
  facts: NodeFacts;
}
/** A browser that opted in sends the node's job messages and receives the node's. */
export type JobBrowserToCoordinator = BrowserJobs | JobNodeToCoordinator;
export type JobCoordinatorToBrowser = JobCoordinatorToNode;
/**
 * A browser that runs tasks is "browser:<its browser.welcome id>" to the coordinator; commit
 * hashes bind that id.
 */
export const BROWSER_NODE_PREFIX = "browser:";

// ---- job request (REST body of POST /api/jobs) ----
/** Node requirements: a node that does not meet them is never given the job's tasks. */
export interface JobRequirements {
  /** Accepted architectures (NodeFacts.arch); absent = any. */
  arch?: string[];
  /** Free memory at least, bytes. Default: the task memory limit. */
  minFreeRamBytes?: number;
  /** Load at most, 0..1. Default 1. */
  maxLoad?: number;
  /** Node credibility (Sarmenta CrP) at least, 0..1. Default 0. */
  minCredibility?: number;
}
/** Rank weights over node facts (normalised to 0..1 each); the best-scoring free node first. */
export interface JobRank {
  freeRam?: number;
  load?: number;
  credibility?: number;
  /** Proximity to `near` (a node id or landmark id), 1/(1 + rtt/50 ms). */
  proximity?: number;
  /** Faster reference benchmark (lower benchMs). */
  speed?: number;
  near?: string;
}
export interface JobRequest {
  /** JS source defining `function task(input)`: deterministic, no I/O, JSON in and out. */
  source: string;
  inputs: unknown[];
  /** Agreeing results wanted per task at least (more are run while credibility is short). */
  replicas?: number;
  /** Accept a result when its credibility reaches this (1 − ε). Default 0.999. */
  credibility?: number;
  limits?: Partial<TaskLimitsWire>;
  requirements?: JobRequirements;
  rank?: JobRank;
  /** Failed attempts (throw, timeout, memory, node lost) per task before it fails. Default 3. */
  retries?: number;
  /** Known answers for spot checks: task(input) must equal output. */
  checks?: { input: unknown; output: unknown }[];
}

// ---- validators ----
const B64URL_RE = /^[A-Za-z0-9_-]+$/;
const HEX64_RE = /^[0-9a-f]{64}$/;
/** Assignment ids: "<job>.<task>.<n>" style, printable without spaces. */
export const ASSIGNMENT_RE = /^[A-Za-z0-9._:-]{1,96}$/;
const assignment = str(96, ASSIGNMENT_RE);
const value = json(JOB_LIMITS.depth);
const limitsCheck = obj({
  memoryBytes: num(JOB_LIMITS.minMemoryBytes, JOB_LIMITS.maxMemoryBytes, true),
  timeoutMs: num(1, JOB_LIMITS.maxTimeoutMs, true),
});

export const nodeFacts: Check<NodeFacts> = obj({
  arch: str(64, /^[A-Za-z0-9._+-]+$/),
  cpus: num(1, 1024, true),
  memTotalBytes: num(0, Number.MAX_SAFE_INTEGER, true),
  memFreeBytes: num(0, Number.MAX_SAFE_INTEGER, true),
  load: num(0, 1),
  slots: num(0, 64, true),
  benchMs: num(0, 3_600_000),
});

export const JOB_COORDINATOR_TO_NODE: Record<string, Check<unknown>> = {
  "job.task": obj({
    t: oneOf(["job.task"]),
    a: assignment,
    source: str(JOB_LIMITS.source),
    input: value,
    limits: limitsCheck,
  }),
  "job.reveal": obj({ t: oneOf(["job.reveal"]), a: assignment }),
  "job.cancel": obj({ t: oneOf(["job.cancel"]), a: assignment }),
};

export const JOB_NODE_TO_COORDINATOR: Record<string, Check<unknown>> = {
  "job.commit": obj({
    t: oneOf(["job.commit"]),
    a: assignment,
    hash: str(64, HEX64_RE),
    ms: num(0, 24 * 3_600_000),
  }),
  "job.result": obj({
    t: oneOf(["job.result"]),
    a: assignment,
    salt: str(128, B64URL_RE),
    result: value,
  }),
  "job.fail": obj({
    t: oneOf(["job.fail"]),
    a: assignment,
    code: oneOf(TASK_FAIL_CODES),
    detail: str(512),
  }),
};

export const JOB_BROWSER_TO_COORDINATOR: Record<string, Check<unknown>> = {
  ...JOB_NODE_TO_COORDINATOR,
  "browser.jobs": obj({ t: oneOf(["browser.jobs"]), facts: nodeFacts }),
};
export const JOB_COORDINATOR_TO_BROWSER = JOB_COORDINATOR_TO_NODE;

const unit = num(0, 1);
const jobRequestCheck = obj(
  { source: str(JOB_LIMITS.source), inputs: arr(JOB_LIMITS.inputs, value) },
  {
    replicas: num(1, JOB_LIMITS.replicas, true),
    credibility: num(0, 0.999999),
    limits: obj(
      {},
      {
        memoryBytes: num(JOB_LIMITS.minMemoryBytes, JOB_LIMITS.maxMemoryBytes, true),
        timeoutMs: num(1, JOB_LIMITS.maxTimeoutMs, true),
      },
    ),
    requirements: obj(
      {},
      {
        arch: arr(JOB_LIMITS.arches, str(64)),
        minFreeRamBytes: num(0, Number.MAX_SAFE_INTEGER, true),
        maxLoad: unit,
        minCredibility: unit,
      },
    ),
    rank: obj(
      {},
      {
        freeRam: unit,
        load: unit,
        credibility: unit,
        proximity: unit,
        speed: unit,
        near: str(128, /^[A-Za-z0-9._:~+/=-]+$/),
      },
    ),
    retries: num(1, 10, true),
    checks: arr(JOB_LIMITS.checks, obj({ input: value, output: value })),
  },
);

/**
 * Validates a job request (the parsed REST body). Throws ProtocolError naming the field. Checks
 * beyond shape: the source mentions `task`, no input or check is larger than valueBytes, and
 * there is at least one input.
 */
export function validateJobRequest(v: unknown): JobRequest {
  const r = jobRequestCheck(v, "job") as JobRequest;
  if (r.inputs.length === 0) fail("job.inputs", "no inputs");
  if (!/\btask\b/.test(r.source)) fail("job.source", "does not define task");
  const tooBig = (x: unknown) => jobJson(x).length > JOB_LIMITS.valueBytes;
  r.inputs.forEach((x, i) => tooBig(x) && fail(`job.inputs[${i}]`, "larger than valueBytes"));
  r.checks?.forEach((c, i) => tooBig(c.input) && fail(`job.checks[${i}]`, "too large"));
  return r;
}

/**
 * Canonical JSON of a task value: object keys sorted (UTF-16 order), no whitespace, numbers as
 * ECMAScript writes them (RFC 8785 §3.2.2.3 uses the same serialization), -0 as 0. Equal
 * results have equal canonical forms; votes compare these strings.
 */
export function jobJson(v: unknown): string {
  if (v === null || typeof v === "boolean" || typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") return Number.isFinite(v) ? JSON.stringify(v) : "null";
  if (Array.isArray(v))
    return `[${v.map((x) => (x === undefined ? "null" : jobJson(x))).join(",")}]`;
  if (typeof v === "object") {
    const rec = v as Record<string, unknown>;
    const keys = Object.keys(rec)
      .filter((k) => rec[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${jobJson(rec[k])}`).join(",")}}`;
  }
  return "null";
}

export const JOB_COMMIT_DOMAIN = "pear-fog/job-commit/v1";

/**
 * The commitment a node sends before any result is revealed: SHA-256 over the domain, the
 * assignment, the node's id, its random salt and the canonical result. Binding the node id
 * means a replica cannot replay another's commitment; the salt means a small result space
 * cannot be searched from the hash.
 */
export function commitHash(a: string, nodeId: string, salt: string, result: unknown): string {
  const text = `${JOB_COMMIT_DOMAIN}\n${a}\n${nodeId}\n${salt}\n${jobJson(result)}`;
  return bytesToHex(sha256(new TextEncoder().encode(text)));
}

/**
 * The reference kernel: one run is one work unit (ledger credits are in these). A fixed
 * xorshift mix, 2^22 rounds, ~30 ms on a 2020s x86 core, a few hundred ms on a router CPU.
 */
export const REFERENCE_KERNEL = `function task(n) {
  var x = 2463534242 | 0, acc = 0;
  for (var i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; acc = (acc + (x & 1023)) | 0; }
  return acc;
}`;
export const REFERENCE_KERNEL_INPUT = 1 << 22;
