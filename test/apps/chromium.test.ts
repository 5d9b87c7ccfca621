// The SDK's PearFog.app in real Chromium against a real pear-fogd (ASan+UBSan, embedded agent)
// and coordinator: the page asks the coordinator which node runs the app, opens
// "pear-fog-app:echo" on a peer connection to it, round-trips messages, and sees the typed
// refusal for an app that runs nowhere.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSdkBundle } from "../sdk/fixture";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../support/chromium";
import { ECHO_APP } from "./app-peer";
import { startAppsWorld, type AppsWorld } from "./world";

interface PageResult {
  node: string;
  echoes: unknown[];
  ghost: string;
  closed: { code: string; detail: string };
  rttMs: number;
}

describe("PearFog.app in Chromium", () => {
  let w: AppsWorld;
  let server: Server;
  let origin: string;
  let browser: Browser;

  beforeAll(async () => {
    w = await startAppsWorld();
    const bundle = new TextEncoder().encode(ECHO_APP);
    const m = w.manifest(
      {
        name: "echo",
        version: "1.0.0",
        resources: { memoryMiB: 4, cpuShares: 1024, uploadKiBps: 64, storageMiB: 0 },
        capabilities: { messages: true },
      },
      bundle,
    );
    expect((await w.api("POST", "/api/apps", w.deployBody(m, bundle))).status).toBe(202);
    await w.waitApp("echo", (a) => a.state === "running");
    const sdk = await buildSdkBundle();
    server = createServer((req, res) => {
      const body = req.url === "/sdk.js" ? sdk : '<!doctype html><script src="/sdk.js"></script>';
      res.writeHead(200, {
        "content-type": req.url === "/sdk.js" ? "text/javascript" : "text/html",
      });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await w?.close();
  });

  it("finds the node, round-trips messages, surfaces refusals", async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    const coordinator = `${w.coordUrl.replace(/^http/, "ws")}/ws/browser`;
    const r = await page.evaluate(async (coord: string): Promise<PageResult> => {
      type Chan = {
        node: string;
        onmessage: ((v: unknown) => void) | null;
        send(v: unknown): void;
        close(): void;
        closed: Promise<{ code: string; detail: string }>;
      };
      const fog = (window as unknown as { PearFog: Record<string, unknown> }).PearFog as {
        app(name: string, o: { coordinator: string }): Promise<Chan>;
      };
      const ch = await fog.app("echo", { coordinator: coord });
      const echoes: unknown[] = [];
      let next: (() => void) | null = null;
      ch.onmessage = (v) => {
        echoes.push(v);
        next?.();
      };
      const roundTrip = (v: unknown) =>
        new Promise<number>((resolve) => {
          const t0 = performance.now();
          next = () => resolve(performance.now() - t0);
          ch.send(v);
        });
      await roundTrip({ hello: "chromium" });
      const rtts: number[] = [];
      for (let i = 0; i < 20; i++) rtts.push(await roundTrip(i));
      rtts.sort((a, b) => a - b);
      let ghost = "none";
      try {
        await fog.app("ghost", { coordinator: coord });
      } catch (e) {
        ghost = (e as { code: string }).code;
      }
      ch.close();
      return {
        node: ch.node,
        echoes,
        ghost,
        closed: await ch.closed,
        rttMs: rtts[10]!,
      };
    }, coordinator);
    expect(r.node).toBe(w.nodeId);
    expect(r.echoes[0]).toEqual({ echo: { hello: "chromium" } });
    expect(r.echoes.slice(1)).toEqual(Array.from({ length: 20 }, (_, i) => ({ echo: i })));
    expect(r.ghost).toBe("not_running");
    expect(r.closed.code).toBe("closed");
    expect(r.rttMs).toBeLessThan(200);
    await page.close();
  }, 60_000);
});
