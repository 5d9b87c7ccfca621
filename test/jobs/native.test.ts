// The same agent code runs job tasks inside pear-fogd: the embedded agent (QuickJS) advertises
// facts, times the reference kernel through the native Platform.runTask (a sandbox thread per
// task), and answers a job submitted through the coordinator's REST API.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoordinator, type RunningCoordinator } from "../../src/coordinator/main";
import { generateKeyPair } from "../../src/protocol/ed25519";
import { JobError, JobsClient } from "../../src/sdk/jobs-client";
import { startPearFogdWithAgent, type PearFogd } from "../support/pear-fogd";
import { until } from "../agent/support";

describe("jobs on pear-fogd's embedded agent", () => {
  const dir = mkdtempSync(join(tmpdir(), "pear-fog-native-jobs-"));
  const publisher = generateKeyPair();
  let coord: RunningCoordinator;
  let d: PearFogd;

  beforeAll(async () => {
    coord = await startCoordinator({
      host: "127.0.0.1",
      port: 0,
      dbPath: join(dir, "coordinator.sqlite"),
      publishers: [publisher.did],
      heartbeatMs: 300,
    });
    d = await startPearFogdWithAgent(dir, coord.url);
  }, 300_000);

  afterAll(async () => {
    const code = await d?.stop();
    if (code !== 0) console.error(d?.log());
    await coord?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("advertises facts and runs a job's tasks in native sandboxes; a throwing task fails alone", async () => {
    await until(
      "the native node taking tasks",
      () => coord.server.jobs.engine.stats().ready === 1 || undefined,
      60_000,
    );
    const client = new JobsClient({
      coordinatorUrl: coord.url,
      did: publisher.did,
      seed: publisher.seed,
    });
    const source = `function task(x) { if (x < 0) throw new Error("negative"); var s = 0; for (var i = 0; i <= x; i++) s += i; return s; }`;
    const err = await client
      .execute([10, -1, 100], source, { replicas: 1, credibility: 0, retries: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as JobError).failures).toEqual([{ index: 1, error: "throw" }]);
    expect((err as JobError).results).toEqual([55, undefined, 5050]);
  }, 120_000);
});
