import { describe, expect, it } from "vitest";
import { ed25519Sign, generateKeyPair } from "../protocol/ed25519";
import { nodeAuthPayload } from "../protocol/messages";
import { resolveConfig } from "./config";
import { CoordinatorDb } from "./db";
import { CLOSE_HEARTBEAT_TIMEOUT, CLOSE_REPLACED, NodeRegistry, type NodeLink } from "./registry";
import { base64urlEncode } from "./signature";

function link() {
  const closed: [number, string][] = [];
  const l: NodeLink & { closed: typeof closed } = {
    send: () => undefined,
    close: (c, r) => closed.push([c, r]),
    closed,
  };
  return l;
}

const hb = (seq: number, bytesServed = 0) => ({
  t: "node.heartbeat" as const,
  seq,
  capacity: {
    uplinkCapBps: 1,
    uplinkUsedBps: 0,
    storeBytes: 0,
    storeCapBytes: 1,
    load: 0,
    reachability: "public" as const,
  },
  inventory: { add: [], remove: [] },
  bytesServed,
});

describe("NodeRegistry", () => {
  const cfg = resolveConfig({ nodeDeadAfterMs: 5000, coordinatorId: "c1" });

  it("verifies challenge signatures bound to node, nonce and coordinator", () => {
    const r = new NodeRegistry(cfg, new CoordinatorDb(":memory:"));
    const kp = generateKeyPair();
    const nonce = r.newNonce();
    const sign = (id: string, n: string, c: string) =>
      base64urlEncode(ed25519Sign(nodeAuthPayload(id, n, c), kp.seed));
    expect(r.verifyAuth(kp.did, nonce, sign(kp.did, nonce, "c1"))).toBe(true);
    expect(r.verifyAuth(kp.did, nonce, sign(kp.did, nonce, "other-coordinator"))).toBe(false);
    expect(r.verifyAuth(kp.did, nonce, sign(kp.did, r.newNonce(), "c1"))).toBe(false);
    expect(r.verifyAuth(generateKeyPair().did, nonce, sign(kp.did, nonce, "c1"))).toBe(false);
    expect(r.verifyAuth(kp.did, nonce, "not base64!")).toBe(false);
    expect(r.verifyAuth(kp.did, nonce, "")).toBe(false);
  });

  it("expires silent nodes after nodeDeadAfterMs and closes them", () => {
    const r = new NodeRegistry(cfg, new CoordinatorDb(":memory:"));
    const left: string[] = [];
    r.onLeave((id) => left.push(id));
    const l1 = link();
    r.register("n1", l1, { version: "v" }, 0);
    const l2 = link();
    r.register("n2", l2, { version: "v" }, 0);
    r.heartbeat("n2", hb(1), 4000);
    expect(r.sweep(5000)).toEqual([]);
    expect(r.sweep(5001)).toEqual(["n1"]);
    expect(l1.closed).toEqual([[CLOSE_HEARTBEAT_TIMEOUT, "heartbeat timeout"]]);
    expect(left).toEqual(["n1"]);
    expect(r.sweep(9001)).toEqual(["n2"]);
    expect(r.size()).toBe(0);
  });

  it("replaces an older connection of the same node", () => {
    const r = new NodeRegistry(cfg, new CoordinatorDb(":memory:"));
    const a = link();
    const b = link();
    r.register("n", a, { version: "v" }, 0);
    r.register("n", b, { version: "v" }, 1);
    expect(a.closed[0]?.[0]).toBe(CLOSE_REPLACED);
    expect(r.disconnected("n", a)).toBe(false); // the old socket's close does not remove the new one
    expect(r.get("n")?.link).toBe(b);
    expect(r.disconnected("n", b)).toBe(true);
  });

  it("persists credibility penalties and bytes served", () => {
    const db = new CoordinatorDb(":memory:");
    const r = new NodeRegistry(cfg, db);
    r.register("n", link(), { version: "v" }, 0);
    expect(r.get("n")?.credibility).toBe(0.8);
    expect(r.penalize("n", "hash_mismatch")).toBeCloseTo(0.56);
    expect(r.penalize("n", "timeout")).toBeCloseTo(0.56 * 0.97);
    r.heartbeat("n", hb(1, 500), 120_000);
    r.heartbeat("n", hb(2, 100), 121_000);
    // Batched: nothing written until flush (the sweep timer calls it).
    expect(db.getNode("n")?.bytesServed).toBe(0);
    r.flush();
    expect(db.getNode("n")?.bytesServed).toBe(600);
    expect(db.bytesSeries("n", 0)).toEqual([{ bucket: 2, bytes: 600 }]);
    // Recovery is persisted once it has moved by CREDIBILITY_PERSIST_STEP.
    const penalized = db.getNode("n")!.credibility;
    expect(penalized).toBeCloseTo(0.56 * 0.97);
    for (let i = 3; i < 100; i++) r.heartbeat("n", hb(i), 122_000);
    r.flush();
    expect(db.getNode("n")!.credibility).toBeGreaterThan(penalized + 0.01);
    expect(db.getNode("n")!.credibility).toBe(r.get("n")!.credibility);
    expect(r.penalize("unknown", "timeout")).toBeUndefined();
  });
});
