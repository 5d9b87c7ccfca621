// The same agent code runs job tasks inside pear-fogd: the embedded agent (QuickJS) advertises
// facts, times the reference kernel through the native Platform.runTask (a sandbox thread per
// task), and answers a job submitted through the coordinator's REST API.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoordinator, type RunningCoordinator } from "../../src/coordinator/main";
import { generateKeyPair } from "../../src/protocol/ed25519";
import { JobError, JobsClient } from "../../src/sdk/jobs-client";
import { NATIVE_DIR, startPearFogd, type PearFogd } from "../support/pear-fogd";
import { until } from "../agent/support";

describe("jobs on pear-fogd's embedded agent", () => {
  const dir = mkdtempSync(join(tmpdir(), "pear-fog-native-jobs-"));
  const publisher = generateKeyPair();
  let coord: RunningCoordinator;
  let d: PearFogd;

  beforeAll(async () => {
    execFileSync("make", ["-C", NATIVE_DIR, "agent"], { stdio: ["ignore", "ignore", "inherit"] });
    coord = await startCoordinator({
      host: "127.0.0.1",
      port: 0,
      dbPath: join(dir, "coordinator.sqlite"),
      publishers: [publisher.did],
      heartbeatMs: 300,
    });
    const conf = join(dir, "pear-fog");
    writeFileSync(
      conf,
      `config pear-fog 'main'
	option sharing '1'
	option coordinator '${coord.url.replace(/^http/, "ws")}/ws/node'
	option key_path '${join(dir, "node.key")}'
	option agent_staging '${join(dir, "agent-staging")}'
`,
    );
    d = await startPearFogd({
      args: ["--config", conf, "--agent-js", join(NATIVE_DIR, "build/agent/agent.mjs")],
    });
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
