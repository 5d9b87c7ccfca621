// Browsers that opt in run tasks too: Chromium loads the SDK bundle, `PearFog.jobWorker()` offers
// a slot over /ws/browser, and a job submitted through the REST API runs in the page's Web
// Workers — same commit-then-reveal protocol as the nodes, checked by the real coordinator.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoordinator, type RunningCoordinator } from "../../src/coordinator/main";
import { generateKeyPair } from "../../src/protocol/ed25519";
import { JobError, JobsClient } from "../../src/sdk/jobs-client";
import { until } from "../agent/support";
import { launchChromium } from "../support/chromium";
import { buildSdkBundle } from "../sdk/fixture";

describe("jobs in a browser that opted in (Chromium, the SDK's JobWorker)", () => {
  const dir = mkdtempSync(join(tmpdir(), "pear-fog-browser-jobs-"));
  const publisher = generateKeyPair();
  let coord: RunningCoordinator;
  let server: Server;
  let browser: Browser;
  let page: Page;
  const lines: string[] = [];

  beforeAll(async () => {
    coord = await startCoordinator({
      host: "127.0.0.1",
      port: 0,
      dbPath: join(dir, "coordinator.sqlite"),
      publishers: [publisher.did],
    });
    const sdk = await buildSdkBundle();
    server = createServer((req, res) => {
      if (req.url === "/sdk.js") {
        res.writeHead(200, { "content-type": "text/javascript" }).end(sdk);
      } else {
        res.writeHead(200, { "content-type": "text/html" });
        res.end('<!doctype html><script src="/sdk.js"></script>');
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("console", (m) => lines.push(`[${m.type()}] ${m.text()}`));
    page.on("pageerror", (e) => lines.push(`[pageerror] ${e.message}`));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.evaluate(
      async (ws: string) => {
        const g = globalThis as unknown as {
          PearFog: { jobWorker(o: { coordinator: string }): { ready(): Promise<void> } };
          worker: unknown;
        };
        const w = g.PearFog.jobWorker({ coordinator: ws });
        g.worker = w;
        await w.ready();
      },
      `${coord.url.replace(/^http/, "ws")}/ws/browser`,
    );
  }, 120_000);

  afterAll(async () => {
    if (lines.length) console.log(lines.join("\n"));
    await browser?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await coord?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs a job's tasks in the page; a throwing or looping task fails alone", async () => {
    await until(
      "the page offering a slot",
      () => coord.server.jobs.engine.stats().ready === 1 || undefined,
    );
    const client = new JobsClient({
      coordinatorUrl: coord.url,
      did: publisher.did,
      seed: publisher.seed,
    });
    const sq = await client.execute([1, 2, 3, 4], (x: number) => ({ sq: x * x }), {
      replicas: 1,
      credibility: 0,
      requirements: { arch: ["browser"] },
    });
    expect(sq).toEqual([{ sq: 1 }, { sq: 4 }, { sq: 9 }, { sq: 16 }]);
    const source = `function task(x) { if (x === "throw") throw new Error("no"); if (x === "loop") for (;;) {} return x; }`;
    const err = await client
      .execute([1, "throw", "loop", 2], source, {
        replicas: 1,
        credibility: 0,
        retries: 1,
        limits: { timeoutMs: 500 },
        requirements: { arch: ["browser"] },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as JobError).failures).toEqual([
      { index: 1, error: "throw" },
      { index: 2, error: "timeout" },
    ]);
    expect((err as JobError).results).toEqual([1, undefined, undefined, 2]);
    // Its commitments matched its reveals: it was never caught.
    const ids = [
      ...(coord.server.jobs.engine as unknown as { nodes: Map<string, unknown> }).nodes.keys(),
    ];
    expect(ids).toHaveLength(1);
    expect(coord.server.jobs.engine.credibilityOf(ids[0]!)).toBeGreaterThan(0);
  });
});
