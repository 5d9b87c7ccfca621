// An apps world for the integration test and bench/edge.ts: a real coordinator (loopback,
// SQLite in a temp dir) and a real pear-fogd whose embedded agent signs in to it; a developer
// key registered as a publisher; signed REST calls to /api/apps.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signApiRequest } from "../../src/coordinator/api-auth";
import { startCoordinator } from "../../src/coordinator/main";
import type { AppView } from "../../src/coordinator/apps/service";
import { signApp, type AppManifest, type UnsignedAppManifest } from "../../src/protocol/app";
import { keyPairFromSeed, type KeyPair } from "../../src/protocol/ed25519";
import { until as pollUntil } from "../support/until";
import { startPearFogdWithAgent, type Build, type PearFogd } from "../support/pear-fogd";

/** test/support/until.ts, polling every 5 ms for up to `ms` (default 20 s). */
export function until<T>(
  what: string,
  f: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 20_000,
): Promise<T> {
  return pollUntil(what, f, ms, 5);
}

export interface AppsWorld {
  coordUrl: string;
  d: PearFogd;
  dev: KeyPair;
  nodeId: string;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  /** Sign `desc` for `bundle` with the developer key. */
  manifest(
    desc: Omit<UnsignedAppManifest, "v" | "bundle" | "developer">,
    bundle: Uint8Array,
  ): AppManifest;
  deployBody(m: AppManifest, bundle: Uint8Array): unknown;
  /** GET /api/apps/<name> until pred holds. */
  waitApp(name: string, pred: (v: AppView) => boolean, ms?: number): Promise<AppView>;
  close(): Promise<void>;
}

export async function startAppsWorld(build: Build = "san"): Promise<AppsWorld> {
  const dir = mkdtempSync(join(tmpdir(), "pear-fog-apps-"));
  const dev = keyPairFromSeed(new Uint8Array(32).fill(42));
  const coord = await startCoordinator({
    host: "127.0.0.1",
    port: 0,
    dbPath: join(dir, "coordinator.sqlite"),
    publishers: [dev.did],
  });
  const d = await startPearFogdWithAgent(dir, coord.url, { build, http: true });
  const nodeId = await until("the node signed in", () => coord.server.registry.list()[0]?.id);
  const api = async (method: string, path: string, body?: unknown) => {
    const bytes =
      body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body));
    const res = await fetch(`${coord.url}${path}`, {
      method,
      headers: { authorization: signApiRequest(dev.did, dev.seed, method, path, bytes) },
      ...(body === undefined ? {} : { body: bytes }),
    });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, json };
  };
  return {
    coordUrl: coord.url,
    d,
    dev,
    nodeId,
    api,
    manifest: (desc, bundle) => signApp(desc, bundle, dev),
    deployBody: (m, bundle) => ({ manifest: m, bundle: Buffer.from(bundle).toString("base64") }),
    async waitApp(name, pred, ms = 20_000) {
      return until(
        `app ${name}`,
        async () => {
          const r = await api("GET", `/api/apps/${name}`);
          return r.status === 200 && pred(r.json as AppView) ? (r.json as AppView) : undefined;
        },
        ms,
      );
    },
    async close() {
      await d.stop();
      await coord.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
