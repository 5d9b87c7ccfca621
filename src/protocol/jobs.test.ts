import { describe, expect, it } from "vitest";
import { commitHash, jobJson, validateJobRequest, type NodeFacts } from "./jobs";
import {
  ProtocolError,
  decodeBrowserMessage,
  decodeCoordinatorToBrowser,
  decodeCoordinatorToNode,
  decodeNodeMessage,
  encodeMessage,
  type BrowserToCoordinator,
  type CoordinatorToBrowser,
  type CoordinatorToNode,
  type NodeToCoordinator,
} from "./messages";

const FACTS: NodeFacts = {
  arch: "mipsel_24kc",
  cpus: 2,
  memTotalBytes: 128 << 20,
  memFreeBytes: 60 << 20,
  load: 0.1,
  slots: 1,
  benchMs: 410.5,
};

describe("job messages", () => {
  it("round-trip through the node and coordinator decoders", () => {
    const up: NodeToCoordinator[] = [
      { t: "job.commit", a: "j1.0.0", hash: "ab".repeat(32), ms: 12.5 },
      { t: "job.result", a: "j1.0.0", salt: "c2FsdA", result: { rgb: [1, 2, 3], ok: null } },
      { t: "job.fail", a: "j1.0.1", code: "memory", detail: "heap limit" },
      {
        t: "node.heartbeat",
        seq: 1,
        capacity: {
          uplinkCapBps: 1,
          uplinkUsedBps: 0,
          storeBytes: 0,
          storeCapBytes: 0,
          load: 0,
          reachability: "public",
        },
        inventory: { add: [], remove: [] },
        bytesServed: 0,
        facts: FACTS,
      },
    ];
    for (const m of up) expect(decodeNodeMessage(encodeMessage(m))).toEqual(m);
    const down: CoordinatorToNode[] = [
      {
        t: "job.task",
        a: "j1.0.0",
        source: "function task(x){return x}",
        input: [1, "a", { b: true }],
        limits: { memoryBytes: 64 << 20, timeoutMs: 1000 },
      },
      { t: "job.reveal", a: "j1.0.0" },
      { t: "job.cancel", a: "j1.0.0" },
    ];
    for (const m of down) expect(decodeCoordinatorToNode(encodeMessage(m))).toEqual(m);
  });

  it("carry a browser's opt-in and job messages over /ws/browser", () => {
    const up: BrowserToCoordinator[] = [
      { t: "browser.jobs", facts: { ...FACTS, arch: "browser" } },
      { t: "job.commit", a: "j1.0.0", hash: "cd".repeat(32), ms: 3 },
      { t: "job.fail", a: "j1.0.0", code: "timeout", detail: "" },
    ];
    for (const m of up) expect(decodeBrowserMessage(encodeMessage(m))).toEqual(m);
    const down: CoordinatorToBrowser[] = [{ t: "job.reveal", a: "j1.0.0" }];
    for (const m of down) expect(decodeCoordinatorToBrowser(encodeMessage(m))).toEqual(m);
    const bad = { t: "browser.jobs", facts: { ...FACTS, slots: -1 } };
    expect(() => decodeBrowserMessage(JSON.stringify(bad))).toThrow(/facts.slots/);
  });

  it("refuses bad fields with typed errors", () => {
    const bad = [
      { t: "job.commit", a: "j1", hash: "AB".repeat(32), ms: 1 },
      { t: "job.commit", a: "has space", hash: "ab".repeat(32), ms: 1 },
      { t: "job.fail", a: "j1", code: "exploded", detail: "" },
      { t: "job.result", a: "j1", salt: "s", result: 1, extra: 1 },
    ];
    for (const b of bad) {
      expect(() => decodeNodeMessage(JSON.stringify(b))).toThrow(ProtocolError);
    }
    const deep = JSON.stringify({ t: "job.result", a: "j1", salt: "s", result: nest(40) });
    expect(() => decodeNodeMessage(deep)).toThrow(/deeper/);
    const facts = { ...FACTS, load: 2 };
    const hb = {
      t: "node.heartbeat",
      seq: 1,
      capacity: {
        uplinkCapBps: 1,
        uplinkUsedBps: 0,
        storeBytes: 0,
        storeCapBytes: 0,
        load: 0,
        reachability: "public",
      },
      inventory: { add: [], remove: [] },
      bytesServed: 0,
      facts,
    };
    expect(() => decodeNodeMessage(JSON.stringify(hb))).toThrow(/facts.load/);
  });
});

function nest(n: number): unknown {
  return n === 0 ? 1 : [nest(n - 1)];
}

describe("validateJobRequest", () => {
  const ok = { source: "function task(x) { return x * 2 }", inputs: [1, 2, 3] };
  it("accepts a minimal and a full request", () => {
    expect(validateJobRequest(ok)).toEqual(ok);
    const full = {
      ...ok,
      replicas: 2,
      credibility: 0.999,
      limits: { memoryBytes: 32 << 20, timeoutMs: 500 },
      requirements: { arch: ["x86_64"], minFreeRamBytes: 1, maxLoad: 0.9, minCredibility: 0.5 },
      rank: { freeRam: 0.2, load: 0.3, credibility: 0.5, near: "lm-1" },
      retries: 2,
      checks: [{ input: 2, output: 4 }],
    };
    expect(validateJobRequest(full)).toEqual(full);
  });
  it("names the bad field", () => {
    const cases: [unknown, RegExp][] = [
      [{ ...ok, inputs: [] }, /job.inputs: no inputs/],
      [{ ...ok, source: "function f(x){}" }, /job.source/],
      [{ ...ok, replicas: 0 }, /job.replicas/],
      [{ ...ok, credibility: 1 }, /job.credibility/],
      [{ ...ok, limits: { memoryBytes: 1 } }, /job.limits.memoryBytes/],
      [{ ...ok, inputs: [1, "x".repeat(20_000)] }, /job.inputs\[1\]/],
      [{ ...ok, surprise: 1 }, /job.surprise: unexpected/],
      [[1, 2], /expected object/],
    ];
    for (const [req, re] of cases) {
      expect(() => validateJobRequest(req)).toThrow(ProtocolError);
      expect(() => validateJobRequest(req)).toThrow(re);
    }
  });
});

describe("jobJson and commitHash", () => {
  it("is the same for the same value in any key order, and differs otherwise", () => {
    expect(jobJson({ b: [1, 2.5, -0], a: { y: null, x: "é" } })).toBe(
      '{"a":{"x":"é","y":null},"b":[1,2.5,0]}',
    );
    expect(jobJson({ a: 1, b: 2 })).toBe(jobJson({ b: 2, a: 1 }));
    const h = commitHash("j.1.0", "did:key:zA", "salt", { a: 1, b: 2 });
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(commitHash("j.1.0", "did:key:zA", "salt", { b: 2, a: 1 })).toBe(h);
    expect(commitHash("j.1.0", "did:key:zB", "salt", { a: 1, b: 2 })).not.toBe(h);
    expect(commitHash("j.1.0", "did:key:zA", "salt2", { a: 1, b: 2 })).not.toBe(h);
    expect(commitHash("j.1.0", "did:key:zA", "salt", { a: 1, b: 3 })).not.toBe(h);
  });
});
