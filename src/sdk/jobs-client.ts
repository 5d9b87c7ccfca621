// The submitting side of edge-compute jobs (issue 7), for Node and browsers: `execute(data,
// task, options)` sends one job to the coordinator (POST /api/jobs, signed with a publisher's
// Ed25519 key like every publisher request), polls its status and returns the results in input
// order. No `node:` imports: it needs fetch and the protocol's pure crypto. docs/jobs.md.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { base64url } from "../coordinator/node-client";
import { ed25519Sign } from "../protocol/ed25519";
import type { JobRank, JobRequest, JobRequirements, TaskLimitsWire } from "../protocol/jobs";

export interface ExecuteOptions {
  /** Agreeing answers per task at least. Default: the coordinator's (2). */
  replicas?: number;
  /** Accept a result at this credibility (1 − ε). Default: the coordinator's (0.999). */
  credibility?: number;
  limits?: Partial<TaskLimitsWire>;
  requirements?: JobRequirements;
  rank?: JobRank;
  retries?: number;
  /** Known answers the coordinator may use as spot checks. */
  checks?: { input: unknown; output: unknown }[];
  /** Status poll interval, milliseconds. Default 250. */
  pollMs?: number;
  /** Give up (JobError "timeout") after this long, milliseconds. Default 600000. */
  timeoutMs?: number;
  /**
   * Jobs live in the coordinator's memory: after a coordinator restart it answers 404 for the
   * job, and execute submits it again, at most this many times (count). Default 3.
   */
  resubmits?: number;
}

export type JobErrorCode =
  "rejected" | "unauthorized" | "busy" | "not_found" | "task_failed" | "timeout" | "http";

/** A job that could not be run or finished with failed tasks (`failures`, `results` partial). */
export class JobError extends Error {
  constructor(
    readonly code: JobErrorCode,
    message: string,
    readonly failures: { index: number; error: string }[] = [],
    readonly results: unknown[] = [],
  ) {
    super(`${code}: ${message}`);
    this.name = "JobError";
  }
}

export interface JobsClientOptions {
  /** The coordinator's HTTP base, e.g. "https://fog.example" (no trailing slash needed). */
  coordinatorUrl: string;
  /** A publisher the coordinator knows: did:key and the 32-byte Ed25519 seed. */
  did: string;
  seed: Uint8Array;
  fetch?: typeof fetch;
  now?: () => number;
}

type Outcome = { ok: unknown } | { error: string } | null;

/** The coordinator away or overloaded (refused connection, 5xx, 429/503): worth asking again. */
function isTransient(e: unknown): boolean {
  return e instanceof JobError && (e.code === "http" || e.code === "busy");
}

/** Results in input order, or JobError "task_failed" with the failures and partial results. */
function settle(results: Outcome[]): unknown[] {
  const values: unknown[] = [];
  const failures: { index: number; error: string }[] = [];
  results.forEach((r, index) => {
    if (r && "ok" in r) values.push(r.ok);
    else {
      values.push(undefined);
      failures.push({ index, error: r ? r.error : "undecided" });
    }
  });
  if (failures.length) {
    throw new JobError("task_failed", `${failures.length} task(s) failed`, failures, values);
  }
  return values;
}

/** The job API's signing payload (src/coordinator/api-auth.ts apiSigningPayload; tested equal). */
function authorization(o: JobsClientOptions, method: string, path: string, body: Uint8Array) {
  const ts = (o.now ?? Date.now)();
  const payload = `pear-fog/api/v1\n${method}\n${path}\n${bytesToHex(sha256(body))}\n${ts}`;
  const sig = ed25519Sign(new TextEncoder().encode(payload), o.seed);
  return `PearFog did=${o.did},ts=${ts},sig=${base64url(sig)}`;
}

export class JobsClient {
  private readonly base: string;
  private readonly f: typeof fetch;

  constructor(private readonly o: JobsClientOptions) {
    this.base = o.coordinatorUrl.replace(/\/+$/, "");
    this.f = o.fetch ?? ((...a) => fetch(...a));
  }

  /** Submits a job; resolves to its id. */
  async submit(req: JobRequest): Promise<string> {
    const body = new TextEncoder().encode(JSON.stringify(req));
    const r = await this.request("POST", "/api/jobs", body);
    return (r as { jobId: string }).jobId;
  }

  status(id: string): Promise<{
    state: string;
    tasks: number;
    accepted: number;
    failed: number;
    redundancy: number;
  }> {
    return this.request("GET", `/api/jobs/${encodeURIComponent(id)}`) as never;
  }

  results(id: string): Promise<{ state: string; results: Outcome[] }> {
    return this.request("GET", `/api/jobs/${encodeURIComponent(id)}/results`) as never;
  }

  /**
   * Runs `task` over `data` on the fog and resolves to the results in input order. `task` is a
   * function (its source is sent: it must not close over anything) or JS source defining
   * `function task(input)`. Rejects with JobError; "task_failed" carries the partial results.
   */
  async execute(
    data: unknown[],
    task: string | ((input: never) => unknown),
    options: ExecuteOptions = {},
  ) {
    const { pollMs = 250, timeoutMs = 600_000, resubmits = 3, ...rest } = options;
    const source = typeof task === "string" ? task : `var task = (${task.toString()});`;
    const req: JobRequest = { source, inputs: data, ...rest };
    const end = this.now() + timeoutMs;
    const pause = () => new Promise((r) => setTimeout(r, pollMs));
    let id = await this.submit(req);
    let left = resubmits;
    // Poll until done. While the coordinator is away (restarting: connection refused, 5xx) keep
    // polling; once it is back and no longer knows the job, submit it again.
    for (;;) {
      if (this.now() > end) throw new JobError("timeout", `job ${id} not done`);
      try {
        const s = await this.status(id);
        if (s.state === "done") return settle((await this.results(id)).results);
      } catch (e) {
        if (!(e instanceof JobError)) throw e;
        if (e.code === "not_found" && left > 0) {
          left--;
          id = await this.submitWhenBack(req, end, pause);
          continue;
        }
        if (!isTransient(e)) throw e;
      }
      await pause();
    }
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** submit(), riding out a coordinator that is still restarting (http/busy) until `end`. */
  private async submitWhenBack(req: JobRequest, end: number, pause: () => Promise<unknown>) {
    for (;;) {
      try {
        return await this.submit(req);
      } catch (e) {
        if (!isTransient(e) || this.now() > end) throw e;
      }
      await pause();
    }
  }

  private async request(method: string, path: string, body = new Uint8Array(0)): Promise<unknown> {
    const headers: Record<string, string> = {
      authorization: authorization(this.o, method, path, body),
    };
    if (method === "POST") headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await this.f(`${this.base}${path}`, {
        method,
        headers,
        ...(method === "POST" ? { body } : {}),
      });
    } catch (e) {
      throw new JobError("http", `${method} ${path}: ${String(e)}`);
    }
    const text = await res.text();
    let json: { error?: string; detail?: string } = {};
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      // fall through: status decides
    }
    if (res.ok) return json;
    const detail = `${res.status} ${json.error ?? ""}: ${json.detail ?? text.slice(0, 200)}`;
    if (res.status === 400 || res.status === 413) throw new JobError("rejected", detail);
    if (res.status === 401 || res.status === 403) throw new JobError("unauthorized", detail);
    if (res.status === 404) throw new JobError("not_found", detail);
    if (res.status === 429 || res.status === 503) throw new JobError("busy", detail);
    throw new JobError("http", detail);
  }
}
