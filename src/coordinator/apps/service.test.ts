import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { signApp } from "../../protocol/app";
import { keyPairFromSeed } from "../../protocol/ed25519";
import type { CoordinatorToNode } from "../../protocol/messages";
import { CoordinatorDb } from "../db";
import { AppOpFailed, AppService } from "./service";

const dev = keyPairFromSeed(new Uint8Array(32).fill(1));
const other = keyPairFromSeed(new Uint8Array(32).fill(2));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const res = { memoryMiB: 4, cpuShares: 1024, uploadKiBps: 0, storageMiB: 0 };
const b1 = enc("console.log(1)");
const b2 = enc("console.log(2)");
const m1 = signApp({ name: "a", version: "1", resources: res, capabilities: {} }, b1, dev);
const m2 = signApp({ name: "a", version: "2", resources: res, capabilities: {} }, b2, dev);

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function world(db?: CoordinatorDb) {
  const sent: CoordinatorToNode[] = [];
  const node = { id: "n1", send: (m: CoordinatorToNode) => void sent.push(m) };
  const svc = new AppService({
    nodes: () => [node],
    node: (id) => (id === "n1" ? node : undefined),
    now: () => 1000,
    ...(db ? { db } : {}),
  });
  return { svc, sent };
}

const code = (f: () => unknown): string => {
  try {
    f();
    return "ok";
  } catch (e) {
    expect(e).toBeInstanceOf(AppOpFailed);
    return (e as AppOpFailed).code;
  }
};

describe("AppService", () => {
  it("deploy sends app.run with the bundle's path; only the developer may act on it", () => {
    const { svc, sent } = world();
    expect(svc.deploy(dev.did, m1, b1).state).toBe("deploying");
    expect(sent).toEqual([
      { t: "app.run", manifest: m1, bundleUrl: `/api/apps/bundles/${m1.bundle.sha256}` },
    ]);
    expect(svc.bundle(m1.bundle.sha256)).toEqual(b1);
    expect(code(() => svc.deploy(dev.did, m1, b1))).toBe("conflict");
    expect(code(() => svc.stop(other.did, "a"))).toBe("forbidden");
    expect(code(() => svc.deploy(other.did, m1, b1))).toBe("forbidden");
    expect(code(() => svc.deploy(dev.did, m1, b2))).toBe("bad_bundle");
    expect(code(() => svc.start(dev.did, "zz"))).toBe("not_found");
  });

  it("an update that fails rolls back; stale reports of other versions are ignored", () => {
    const { svc, sent } = world();
    svc.deploy(dev.did, m1, b1);
    svc.onNodeMessage("n1", { t: "app.state", name: "a", version: "1", state: "running" });
    svc.update(dev.did, "a", m2, b2);
    svc.onNodeMessage("n1", { t: "app.state", name: "a", version: "1", state: "stopped" });
    expect(svc.get("a")).toMatchObject({ version: "2", state: "deploying" });
    svc.onNodeMessage("n1", {
      t: "app.state",
      name: "a",
      version: "2",
      state: "failed",
      reason: "throw: x",
    });
    expect(svc.get("a")).toMatchObject({
      version: "1",
      rolledBack: { from: "2", reason: "throw: x" },
    });
    expect(sent.at(-1)).toMatchObject({ t: "app.run", manifest: { version: "1" } });
    // the router owner's stop sticks across the node's reconnects
    svc.onNodeMessage("n1", {
      t: "app.state",
      name: "a",
      version: "1",
      state: "stopped",
      reason: "owner_stopped",
    });
    expect(svc.get("a")).toMatchObject({ state: "stopped", desired: "stopped" });
    const before = sent.length;
    svc.onNodeJoined("n1");
    expect(sent.length).toBe(before);
    // a report from another node is ignored
    svc.onNodeMessage("n2", { t: "app.state", name: "a", version: "1", state: "failed" });
    expect(svc.get("a")?.state).toBe("stopped");
  });

  it("deployments survive a coordinator restart and are run again when the node returns", () => {
    const dir = mkdtempSync(join(tmpdir(), "apps-db-"));
    dirs.push(dir);
    const db = new CoordinatorDb(join(dir, "c.sqlite"));
    const a = world(db);
    a.svc.deploy(dev.did, m1, b1);
    a.svc.onNodeMessage("n1", { t: "app.state", name: "a", version: "1", state: "running" });
    db.close();
    const db2 = new CoordinatorDb(join(dir, "c.sqlite"));
    const b = world(db2);
    expect(b.svc.get("a")).toMatchObject({ version: "1", state: "deploying", desired: "running" });
    expect(b.svc.bundle(m1.bundle.sha256)).toEqual(b1);
    b.svc.onNodeJoined("n1");
    expect(b.sent).toEqual([expect.objectContaining({ t: "app.run", manifest: m1 })]);
    b.svc.remove(dev.did, "a");
    expect(
      new AppService({ nodes: () => [], node: () => undefined, now: () => 0, db: db2 }).list(),
    ).toEqual([]);
  });

  it("places a new app on the connected node with the fewest apps (preference order on ties)", () => {
    const sent = new Map<string, string[]>();
    const mk = (id: string) => ({
      id,
      send: (m: CoordinatorToNode) => void sent.set(id, [...(sent.get(id) ?? []), m.t]),
    });
    let nodes = [mk("n1"), mk("n2")];
    const svc = new AppService({
      nodes: () => nodes,
      node: (id) => nodes.find((n) => n.id === id),
      now: () => 1000,
    });
    const app = (name: string) => {
      const b = enc(`console.log("${name}")`);
      return [
        signApp({ name, version: "1", resources: res, capabilities: {} }, b, dev),
        b,
      ] as const;
    };
    const placed = ["p", "q", "r"].map((n) => svc.deploy(dev.did, ...app(n)).node);
    expect(placed).toEqual(["n1", "n2", "n1"]);
    // A node named by the developer is used as asked; no connected node: a typed error.
    expect(svc.deploy(dev.did, ...app("s"), "n1").node).toBe("n1");
    nodes = [];
    expect(code(() => svc.deploy(dev.did, ...app("t")))).toBe("no_node");
  });
});
