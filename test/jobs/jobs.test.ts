// Edge-compute jobs end to end: a real coordinator (SQLite in a temp dir), three real nodes —
// pear-fogd + the agent on the Node platform (tasks in worker + node:vm sandboxes) — one of them
// a saboteur (JobRunnerOptions.sabotageRate, a test-only knob), and the SDK's JobsClient
// submitting over the signed REST API.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoNode, type DemoNode } from "../../scripts/demo/node";
import { signApiRequest } from "../../src/coordinator/api-auth";
import { startCoordinator, type RunningCoordinator } from "../../src/coordinator/main";
import { generateKeyPair, type KeyPair } from "../../src/protocol/ed25519";
import { JobError, JobsClient } from "../../src/sdk/jobs-client";
import { until } from "../agent/support";

const SUM = `function task(x) {
  var s = 0;
  for (var i = 0; i <= x; i++) s += i;
  return { x: x, s: s };
}`;
const sum = (x: number) => ({ x, s: (x * (x + 1)) / 2 });

describe("jobs: coordinator, three agents (one saboteur), the SDK client", () => {
  let dir: string;
  let coord: RunningCoordinator;
  let publisher: KeyPair;
  let client: JobsClient;
  const honest: DemoNode[] = [];
  let saboteur: DemoNode;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pear-fog-jobs-"));
    publisher = generateKeyPair();
    coord = await startCoordinator({
      host: "127.0.0.1",
      port: 0,
      dbPath: join(dir, "coordinator.sqlite"),
      publishers: [publisher.did],
      heartbeatMs: 200,
      jobs: { spotCheckRate: 0.3 },
    });
    const start = (sabotageRate: number) =>
      startDemoNode(coord.url, { agent: { tickMs: 200, jobs: { slots: 1, sabotageRate } } });
    honest.push(await start(0), await start(0));
    saboteur = await start(1); // TEST ONLY: every result it returns is wrong
    await until(
      "three nodes advertising facts",
      () => coord.server.jobs.engine.stats().nodes === 3,
    );
    client = new JobsClient({
      coordinatorUrl: coord.url,
      did: publisher.did,
      seed: publisher.seed,
    });
  }, 120_000);

  afterAll(async () => {
    for (const n of [...honest, saboteur]) await n?.stop();
    await coord?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs a job over the nodes, results in input order; the lie is caught and its credibility drops", async () => {
    const credBefore = coord.server.registry.get(saboteur.did)!.credibility;
    const data = Array.from({ length: 30 }, (_, i) => i * 7);
    const results = await client.execute(data, SUM, {
      replicas: 2,
      credibility: 0.99,
      checks: [3, 10, 100].map((x) => ({ input: x, output: sum(x) })),
      limits: { memoryBytes: 32 << 20, timeoutMs: 5000 },
    });
    expect(results).toEqual(data.map(sum));
    const engine = coord.server.jobs.engine;
    expect(engine.credibilityOf(saboteur.did)).toBe(0);
    for (const h of honest) expect(engine.credibilityOf(h.did)).toBeGreaterThan(0.8);
    expect(coord.server.registry.get(saboteur.did)!.credibility).toBeLessThan(credBefore);
    // The saboteur really ran tasks and committed to its lies.
    expect(saboteur.agent.stats().jobs.ran).toBeGreaterThan(0);
    // Work units went to the honest nodes only.
    const ledger = (await (await fetch(`${coord.url}/api/ledger`)).json()) as {
      nodes: { did: string; units: number; tasks: number }[];
    };
    const units = new Map(ledger.nodes.map((n) => [n.did, n.units]));
    for (const h of honest) expect(units.get(h.did)).toBeGreaterThan(0);
    expect(units.get(saboteur.did) ?? 0).toBe(0);
  });

  it("a task that throws, loops or exhausts memory fails that task only", async () => {
    const source = `function task(x) {
      if (x === "throw") throw new Error("boom");
      if (x === "loop") for (;;) {}
      if (x === "hog") { var a = []; for (;;) a.push(new Array(1e5).fill(1.5)); }
      return x * 2;
    }`;
    const data = [1, "throw", 2, "loop", 3, "hog", 4];
    const err = await client
      .execute(data, source, {
        replicas: 1,
        credibility: 0,
        retries: 2,
        // 2 s: the hog must reach its heap limit before its CPU limit on a busy machine
        limits: { memoryBytes: 16 << 20, timeoutMs: 2000 },
        requirements: { minCredibility: 0.5 }, // the saboteur, caught above, gets none
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(JobError);
    const e = err as JobError;
    expect(e.code).toBe("task_failed");
    expect(e.failures).toEqual([
      { index: 1, error: "throw" },
      { index: 3, error: "timeout" },
      { index: 5, error: "memory" },
    ]);
    expect(e.results).toEqual([2, undefined, 4, undefined, 6, undefined, 8]);
    // the agents are fine afterwards
    expect(
      await client.execute([5], (x: number) => x + 1, { replicas: 1, credibility: 0 }),
    ).toEqual([6]);
  });

  it("malformed or unauthorised job requests get typed errors", async () => {
    const code = (p: Promise<unknown>) =>
      p.then(
        () => "resolved",
        (e: unknown) => (e instanceof JobError ? e.message : String(e)),
      );
    expect(await code(client.submit({ source: SUM, inputs: [] }))).toMatch(
      /^rejected: 400 invalid: job.inputs: no inputs/,
    );
    expect(await code(client.submit({ source: SUM, inputs: [1], replicas: 99 }))).toMatch(
      /^rejected: 400 invalid: job.replicas/,
    );
    expect(await code(client.submit({ source: SUM, inputs: new Array(10_001).fill(1) }))).toMatch(
      /^rejected: 413 too_large/,
    );
    const stranger = generateKeyPair();
    const other = new JobsClient({
      coordinatorUrl: coord.url,
      did: stranger.did,
      seed: stranger.seed,
    });
    expect(await code(other.submit({ source: SUM, inputs: [1] }))).toMatch(
      /^unauthorized: 403 forbidden/,
    );
    expect(await code(client.status("nosuchjob"))).toMatch(/^not_found: 404/);
    // unsigned, and not JSON
    const r1 = await fetch(`${coord.url}/api/jobs`, { method: "POST", body: "{}" });
    expect(r1.status).toBe(401);
    const body = new TextEncoder().encode("{not json");
    const r2 = await fetch(`${coord.url}/api/jobs`, {
      method: "POST",
      headers: {
        authorization: signApiRequest(publisher.did, publisher.seed, "POST", "/api/jobs", body),
      },
      body,
    });
    expect(r2.status).toBe(400);
    expect(await r2.json()).toEqual({ error: "invalid", detail: "body is not JSON" });
  });

  it("reassigns the tasks of a node that leaves mid-job", async () => {
    const slow = `function task(x) { var t = 0; for (var i = 0; i < 3e6; i++) t = (t + i * x) % 1000003; return t; }`;
    const data = Array.from({ length: 12 }, (_, i) => i + 1);
    const p = client.execute(data, slow, {
      replicas: 1,
      credibility: 0,
      requirements: { minCredibility: 0.5 },
    });
    const gone = honest[1]!;
    await until(
      "the leaving node has work",
      () => gone.agent.stats().jobs.ran > 0 || undefined,
      30_000,
    );
    await gone.stop();
    honest.pop();
    const results = await p;
    expect(results).toHaveLength(12);
    expect(
      await client.execute(data, slow, {
        replicas: 1,
        credibility: 0,
        requirements: { minCredibility: 0.5 },
      }),
    ).toEqual(results);
  });

  it("a coordinator restart mid-job: the agents sign in again, execute resubmits the lost job", async () => {
    const slow = `function task(x) { var t = 0; for (var i = 0; i < 3e7; i++) t = (t + i * x) % 1000003; return t; }`;
    const data = Array.from({ length: 8 }, (_, i) => i + 1);
    const opts = {
      replicas: 1,
      credibility: 0,
      requirements: { minCredibility: 0.5 },
      pollMs: 100,
    };
    const submits: string[] = [];
    const counting = new JobsClient({
      coordinatorUrl: coord.url,
      did: publisher.did,
      seed: publisher.seed,
      fetch: (async (url: string, init: RequestInit) => {
        if (init.method === "POST") submits.push(String(url));
        return fetch(url, init);
      }) as unknown as typeof fetch,
    });
    const ran0 = honest[0]!.agent.stats().jobs.ran;
    const p = counting.execute(data, slow, opts);
    await until(
      "a task of the job ran",
      () => honest[0]!.agent.stats().jobs.ran > ran0 || undefined,
      30_000,
    );
    const port = Number(new URL(coord.url).port);
    await coord.close(); // jobs live in memory: this one is lost with it
    coord = await startCoordinator({
      host: "127.0.0.1",
      port,
      dbPath: join(dir, "coordinator.sqlite"),
      publishers: [publisher.did],
      heartbeatMs: 200,
    });
    const results = await p;
    expect(submits).toHaveLength(2); // the first submit, and one after the restart
    // The job the restarted coordinator ran gave what a fresh run gives.
    expect(await client.execute(data, slow, opts)).toEqual(results);
    expect(results.every((r) => typeof r === "number")).toBe(true);
  }, 120_000);
});
