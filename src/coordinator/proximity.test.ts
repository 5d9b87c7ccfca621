import { describe, expect, it } from "vitest";
import { COORDINATOR_DEFAULTS } from "./config";
import {
  LeaderClusters,
  MAX_RTT_PEERS,
  RttMatrix,
  rankNodes,
  type RankCandidate,
} from "./proximity";

const W = COORDINATOR_DEFAULTS.rank;

function node(id: string, over: Partial<RankCandidate> = {}): RankCandidate {
  return {
    id,
    rttMs: 20,
    uplinkCapBps: 2_500_000,
    uplinkUsedBps: 0,
    load: 0,
    credibility: 1,
    reachability: "public",
    has: [0],
    ...over,
  };
}

describe("RttMatrix", () => {
  it("smooths samples symmetrically", () => {
    const m = new RttMatrix();
    m.add("a", "b", 100);
    expect(m.measured("b", "a")).toBe(100);
    m.add("b", "a", 0);
    expect(m.measured("a", "b")).toBeCloseTo(70);
    expect(m.measured("a", "a")).toBe(0);
    m.add("a", "c", -5);
    m.add("a", "c", Number.NaN);
    expect(m.measured("a", "c")).toBeUndefined();
  });

  it("estimates unmeasured pairs from landmarks by triangle-inequality bounds", () => {
    const m = new RttMatrix(new Set(["L1", "L2"]));
    m.add("a", "L1", 10);
    m.add("a", "L2", 50);
    m.add("b", "L1", 14);
    m.add("b", "L2", 40);
    // lower = max(|10-14|, |50-40|) = 10, upper = min(24, 90) = 24 -> 17
    expect(m.estimate("a", "b")).toBe(17);
    expect(m.estimate("a", "zz")).toBeUndefined();
    m.add("a", "b", 3);
    expect(m.estimate("a", "b")).toBe(3);
    m.remove("b");
    expect(m.measured("a", "b")).toBeUndefined();
  });

  it("bounds the peers remembered per endpoint", () => {
    const m = new RttMatrix();
    for (let i = 0; i < MAX_RTT_PEERS + 10; i++) m.add("a", `p${i}`, 1);
    expect(m.measured("a", "p0")).toBeUndefined();
    expect(m.measured("a", `p${MAX_RTT_PEERS + 9}`)).toBe(1);
  });
});

describe("LeaderClusters", () => {
  it("groups endpoints within the radius of a leader and splits far ones", () => {
    const m = new RttMatrix(new Set(["fra", "nyc"]));
    const geo: Record<string, [number, number]> = {
      berlin1: [10, 90],
      berlin2: [12, 88],
      munich: [15, 95],
      boston: [90, 8],
      nyc1: [92, 3],
    };
    for (const [id, [fra, nyc]] of Object.entries(geo)) {
      m.add(id, "fra", fra);
      m.add(id, "nyc", nyc);
    }
    const c = new LeaderClusters(m, 25);
    for (const id of Object.keys(geo)) c.place(id);
    const groups = [...c.clusters().values()].map((g) => g.sort());
    expect(groups.sort()).toEqual([
      ["berlin1", "berlin2", "munich"],
      ["boston", "nyc1"],
    ]);
    expect(c.clusterOf("munich")).toBe("berlin1");
  });

  it("clusters endpoints far from every landmark when their vectors agree", () => {
    const m = new RttMatrix(new Set(["fra", "nyc"]));
    for (const id of ["syd1", "syd2"]) {
      m.add(id, "fra", 280 + (id === "syd2" ? 4 : 0));
      m.add(id, "nyc", 210);
    }
    // The midpoint estimate is ~212 ms; the clustering distance is the 4 ms lower bound.
    expect(m.estimate("syd1", "syd2")).toBeGreaterThan(200);
    expect(m.distance("syd1", "syd2")).toBe(4);
    const c = new LeaderClusters(m, 25);
    c.place("syd1");
    expect(c.place("syd2")).toBe("syd1");
  });

  it("re-places members when their leader leaves", () => {
    const m = new RttMatrix();
    m.add("a", "b", 5);
    m.add("b", "c", 5);
    m.add("a", "c", 8);
    const c = new LeaderClusters(m, 10);
    expect(c.place("a")).toBe("a");
    expect(c.place("b")).toBe("a");
    expect(c.place("c")).toBe("a");
    const successor = c.remove("a");
    m.remove("a");
    expect(c.clusterOf("a")).toBeUndefined();
    const leader = c.clusterOf("b");
    expect(leader).toBeDefined();
    expect(successor).toBe(leader);
    expect(c.clusterOf("c")).toBe(leader);
    expect(c.remove("c")).toBeUndefined(); // not a leader
  });

  it("moves an endpoint whose measurements put it far from its leader", () => {
    const m = new RttMatrix();
    m.add("x", "y", 5);
    const c = new LeaderClusters(m, 10);
    c.place("x");
    expect(c.place("y")).toBe("x");
    for (let i = 0; i < 30; i++) m.add("x", "y", 200);
    expect(c.place("y")).toBe("y");
  });
});

describe("rankNodes", () => {
  it("computes the documented formula", () => {
    const n = node("a", {
      rttMs: 50,
      uplinkUsedBps: 1_250_000,
      load: 0.5,
      credibility: 0.5,
      has: [0],
    });
    const [r] = rankNodes({ wanted: 2, max: 5 }, [n], W, 150);
    const p = 1 / (1 + 50 / 50); // 0.5
    const u = 0.5;
    const l = 0.5;
    const c = 0.5;
    const base = 0.4 * p + 0.25 * u + 0.15 * l + 0.2 * c;
    expect(r!.score).toBeCloseTo(base * 1 * (0.5 + 0.5 * 0.5), 12);
    expect(r!.rttMs).toBe(50);
  });

  it("prefers near, idle, credible, well-connected nodes holding more chunks", () => {
    const req = { wanted: 2, max: 10 };
    const order = (cands: RankCandidate[]) => rankNodes(req, cands, W, 150).map((r) => r.id);
    expect(order([node("far", { rttMs: 200 }), node("near", { rttMs: 5 })])).toEqual([
      "near",
      "far",
    ]);
    expect(order([node("busy", { load: 1 }), node("idle", { load: 0 })])).toEqual(["idle", "busy"]);
    expect(order([node("full", { uplinkUsedBps: 2_500_000 }), node("free")])).toEqual([
      "free",
      "full",
    ]);
    expect(order([node("sus", { credibility: 0.3 }), node("ok")])).toEqual(["ok", "sus"]);
    expect(order([node("one", { has: [0] }), node("two", { has: [0, 1] })])).toEqual([
      "two",
      "one",
    ]);
    expect(order([node("sym", { reachability: "nat-symmetric" }), node("pub")])).toEqual([
      "pub",
      "sym",
    ]);
    // Unknown RTT counts as unknownRttMs.
    expect(order([node("unk", { rttMs: undefined }), node("r100", { rttMs: 100 })])).toEqual([
      "r100",
      "unk",
    ]);
  });

  it("drops nodes with no wanted chunk, relay-only, or credibility below the floor; caps results", () => {
    const cands = [
      node("none", { has: [] }),
      node("relay", { reachability: "relay-only" }),
      node("bad", { credibility: 0.1 }),
      node("a"),
      node("b"),
      node("c"),
    ];
    const r = rankNodes({ wanted: 1, max: 2 }, cands, W, 150);
    expect(r.map((x) => x.id)).toEqual(["a", "b"]);
    for (const x of r) expect(x.score).toBeGreaterThan(0);
    for (const x of r) expect(x.score).toBeLessThanOrEqual(1);
  });

  it("keeps scores in 0..1 for hostile capacity numbers", () => {
    const r = rankNodes(
      { wanted: 1, max: 1 },
      [node("x", { uplinkCapBps: 1e15, uplinkUsedBps: -1e15, load: -3, credibility: 7, rttMs: 0 })],
      W,
      150,
    );
    expect(r[0]!.score).toBeLessThanOrEqual(1);
    expect(r[0]!.score).toBeGreaterThan(0.99);
  });
});
