import { describe, expect, it } from "vitest";
import { generateKeyPair, type KeyPair } from "../protocol/ed25519";
import { buildManifest, encodeManifest, signManifest, contentId } from "../protocol/manifest";
import {
  ContentIndex,
  Decayed,
  ManifestRejected,
  planPlacement,
  planPreposition,
  signedManifestVerifier,
  type ManifestInfo,
  type PlacementInput,
  type PrepositionInput,
} from "./content";
import { CoordinatorDb } from "./db";

/** A signed manifest of one file whose 1 KiB chunks have the given ids. */
function signed(key: KeyPair, name: string, ids: string[]) {
  const m = signManifest(
    buildManifest({
      type: "file",
      name,
      version: 1,
      created: 1_700_000_000,
      chunkSize: 1024,
      origins: ["https://origin.example/" + name],
      files: [
        { path: name, size: ids.length * 1024, chunks: ids.map((i) => ({ id: i, size: 1024 })) },
      ],
      publisher: key.did,
    }),
    key,
  );
  return { bytes: encodeManifest(m), id: contentId(m) };
}

const id = (i: number) => i.toString(16).padStart(64, "0");

function content(cid: string, n: number, size = 100): ManifestInfo {
  return {
    contentId: cid,
    chunks: Array.from({ length: n }, (_, i) => ({ id: id(i + (cid === "b" ? 1000 : 0)), size })),
    origins: ["https://origin.example/" + cid],
  };
}

function input(over: Partial<PlacementInput> = {}): PlacementInput {
  const held = new Map<string, Set<string>>();
  return {
    demands: [{ content: content("a", 3), cluster: "k1", popularity: 5 }],
    nodes: [
      { id: "n1", cluster: "k1", freeBytes: 1e9 },
      { id: "n2", cluster: "k1", freeBytes: 1e9 },
      { id: "n3", cluster: "k2", freeBytes: 1e9 },
    ],
    holders: (c) => held.get(c) ?? new Set(),
    rttToCluster: (n) => ({ n1: 5, n2: 10, n3: 80 })[n],
    replication: 2,
    maxChunksPerNodeRound: 100,
    unknownRttMs: 150,
    rttBandMs: 1,
    ...over,
  };
}

describe("planPlacement", () => {
  it("places R replicas on the nodes nearest the demand cluster", () => {
    const plans = planPlacement(input());
    expect(plans.map((p) => [p.node, p.content, p.chunks.length])).toEqual([
      ["n1", "a", 3],
      ["n2", "a", 3],
    ]);
    expect(plans[0]!.sources).toEqual([{ kind: "origin", url: "https://origin.example/a" }]);
  });

  it("counts existing holders and names them as sources", () => {
    const holders = (c: string) => new Set(c === id(0) ? ["n1", "n3"] : []);
    const plans = planPlacement(input({ holders }));
    const n1 = plans.find((p) => p.node === "n1")!;
    expect(n1.chunks).toEqual([id(1), id(2)]);
    // n2's copy of id(0) comes in a hold of its own naming both holders; the rest from the origin.
    const n2 = plans.filter((p) => p.node === "n2");
    expect(n2.map((p) => p.chunks)).toEqual([[id(0)], [id(1), id(2)]]);
    expect(n2[0]!.sources).toContainEqual({ kind: "node", nodeId: "n1" });
    expect(n2[0]!.sources).toContainEqual({ kind: "node", nodeId: "n3" });
    expect(n2[1]!.sources).toEqual([{ kind: "origin", url: "https://origin.example/a" }]);
    // Nothing to do once the two nearest hold everything.
    const all = () => new Set(["n1", "n2"]);
    expect(planPlacement(input({ holders: all }))).toEqual([]);
  });

  it("seedFirst: a chunk nobody holds goes to one node; the others fill from it once it reports", () => {
    // Nobody holds anything: only the nearest node, from the origin.
    let plans = planPlacement(input({ seedFirst: true }));
    expect(plans.map((p) => [p.node, p.chunks.length])).toEqual([["n1", 3]]);
    expect(plans[0]!.sources).toEqual([{ kind: "origin", url: "https://origin.example/a" }]);
    // n1 told to fetch (pending, not confirmed): nothing new this round.
    const pending = () => new Set(["n1"]);
    const none = () => new Set<string>();
    plans = planPlacement(input({ seedFirst: true, holders: pending, confirmed: none }));
    expect(plans).toEqual([]);
    // n1 reports id(0): its second replica goes to n2, with n1 as a source; the rest still wait.
    const reported = (c: string) => new Set(c === id(0) ? ["n1"] : []);
    plans = planPlacement(
      input({ seedFirst: true, holders: () => new Set(["n1"]), confirmed: reported }),
    );
    expect(plans.map((p) => [p.node, p.chunks])).toEqual([["n2", [id(0)]]]);
    expect(plans[0]!.sources).toContainEqual({ kind: "node", nodeId: "n1" });
  });

  it("seedFirst: seeds and copies for one node go in separate holds, seeds from the origin only", () => {
    // n2 holds id(0); id(1) and id(2) are nobody's. n1, the nearest, copies id(0) from n2 and
    // seeds id(1) and id(2): two holds.
    const held = (c: string) => new Set(c === id(0) ? ["n2"] : []);
    const plans = planPlacement(input({ seedFirst: true, holders: held, confirmed: held }));
    expect(plans.map((p) => [p.node, p.chunks])).toEqual([
      ["n1", [id(0)]],
      ["n1", [id(1), id(2)]],
    ]);
    expect(plans[0]!.sources).toContainEqual({ kind: "node", nodeId: "n2" });
    expect(plans[1]!.sources).toEqual([{ kind: "origin", url: "https://origin.example/a" }]);
  });

  it("groups copies by the holder they come from, named first, and spreads them over holders", () => {
    // 40 chunks, each held by n2 or n3 (alternately) and n4; n1 (nearest) copies them all.
    const nodes = ["n1", "n2", "n3", "n4"].map((n) => ({ id: n, cluster: "k1", freeBytes: 1e9 }));
    const c = content("a", 40);
    const holderOf = new Map(c.chunks.map((x, i) => [x.id, new Set([i % 2 ? "n3" : "n2", "n4"])]));
    const held = (x: string) => holderOf.get(x) ?? new Set<string>();
    const plans = planPlacement(
      input({
        demands: [{ content: c, cluster: "k1", popularity: 5 }],
        nodes,
        holders: held,
        rttToCluster: (n) => ({ n1: 1, n2: 50, n3: 50, n4: 50 })[n],
        rttBandMs: 10,
      }),
    ).filter((p) => p.node === "n1");
    expect(plans.flatMap((p) => p.chunks).length).toBe(40);
    for (const p of plans) {
      const first = p.sources.find((s) => s.kind === "node")!;
      expect(first.kind === "node" && p.chunks.every((x) => held(x).has(first.nodeId))).toBe(true);
    }
    // Every holder is copied from (by rendezvous hash): none is left idle, none takes it all.
    const per = (n: string) =>
      plans
        .filter((p) => p.sources.find((s) => s.kind === "node")?.nodeId === n)
        .reduce((a, p) => a + p.chunks.length, 0);
    for (const n of ["n2", "n3", "n4"]) expect(per(n)).toBeGreaterThan(0);
  });

  it("seedFirst: a pending seed stays the only one when a nearer node turns up", () => {
    // n3 (the farthest) was told to seed every chunk; since then n1 and n2 measured nearer.
    const pending = () => new Set(["n3"]);
    const none = () => new Set<string>();
    expect(planPlacement(input({ seedFirst: true, holders: pending, confirmed: none }))).toEqual(
      [],
    );
    // Two clusters want the same content in one round: one seed between them, not one each.
    const demands = [
      { content: content("a", 3), cluster: "k1", popularity: 5 },
      { content: content("a", 3), cluster: "k2", popularity: 4 },
    ];
    const plans = planPlacement(input({ seedFirst: true, demands }));
    expect(plans.map((p) => [p.node, p.chunks.length])).toEqual([["n1", 3]]);
    // A seed that may no longer be given content (gone relay-only, or lost credibility) is
    // replaced at once, not when its hold expires.
    const gone = () => new Set(["n9"]);
    expect(
      planPlacement(input({ seedFirst: true, holders: gone, confirmed: none })).map((p) => p.node),
    ).toEqual(["n1"]);
  });

  it("spreads replicas over equally near nodes (one RTT band) by rendezvous hash, stably", () => {
    const nodes = ["n1", "n2", "n3", "n4"].map((id) => ({ id, cluster: "k1", freeBytes: 1e9 }));
    const near = (n: string) => ({ n1: 2, n2: 4, n3: 6, n4: 8 })[n]; // all in the 0-10 ms band
    const demands = [{ content: content("a", 40), cluster: "k1", popularity: 5 }];
    const count = (plans: { node: string; chunks: string[] }[]) =>
      Object.fromEntries(plans.map((p) => [p.node, p.chunks.length]));
    const plans = planPlacement(
      input({ demands, nodes, rttToCluster: near, rttBandMs: 10, replication: 2 }),
    );
    const per = count(plans);
    // 80 replicas over 4 nodes: each takes a share (by id, n1 and n2 would take all 80).
    expect(Object.keys(per).sort()).toEqual(["n1", "n2", "n3", "n4"]);
    for (const n of Object.values(per)) expect(n).toBeGreaterThanOrEqual(10);
    expect(Object.values(per).reduce((a, b) => a + b, 0)).toBe(80);
    // The same inputs give the same plan; a fifth node takes over some replicas and leaves
    // the others where they were.
    expect(planPlacement(input({ demands, nodes, rttToCluster: near, rttBandMs: 10 }))).toEqual(
      plans,
    );
    const five = [...nodes, { id: "n5", cluster: "k1", freeBytes: 1e9 }];
    const plans5 = planPlacement(
      input({ demands, nodes: five, rttToCluster: (n) => near(n) ?? 3, rttBandMs: 10 }),
    );
    const holders = (ps: typeof plans) => {
      const m = new Map<string, string[]>();
      for (const p of ps) for (const c of p.chunks) m.set(c, [...(m.get(c) ?? []), p.node]);
      return m;
    };
    const before = holders(plans);
    const moved: string[] = [];
    for (const [c, hs] of holders(plans5)) {
      for (const h of hs) if (!before.get(c)!.includes(h)) moved.push(h);
    }
    // Only to the new node: a chunk moves one replica when n5 ranks in its top 2 of 5, so
    // ~40 × 2/5 = 16 moves (± 3 standard deviations: 7..25); a reshuffle would move ~50.
    expect(new Set(moved)).toEqual(new Set(["n5"]));
    expect(moved.length).toBeGreaterThanOrEqual(7);
    expect(moved.length).toBeLessThanOrEqual(25);
    // Nodes in a nearer band still come first: n1 alone at 2 ms, the others 20+ ms away.
    const far = (n: string) => (n === "n1" ? 2 : 25);
    const first = planPlacement(input({ demands, nodes, rttToCluster: far, rttBandMs: 10 }));
    expect(count(first).n1).toBe(40);
  });

  it("respects store caps, skipping to the next nearest node", () => {
    const plans = planPlacement(
      input({
        nodes: [
          { id: "n1", cluster: "k1", freeBytes: 250 }, // room for two 100-byte chunks
          { id: "n2", cluster: "k1", freeBytes: 1e9 },
          { id: "n3", cluster: "k2", freeBytes: 1e9 },
        ],
      }),
    );
    const got = Object.fromEntries(plans.map((p) => [p.node, p.chunks]));
    expect(got.n1).toEqual([id(0), id(1)]);
    expect(got.n2).toEqual([id(0), id(1), id(2)]);
    expect(got.n3).toEqual([id(2)]);
    const bytes = (n: string) => (got[n]?.length ?? 0) * 100;
    expect(bytes("n1")).toBeLessThanOrEqual(250);
  });

  it("serves the most popular content first when space is short", () => {
    const plans = planPlacement(
      input({
        demands: [
          { content: content("a", 2), cluster: "k1", popularity: 1 },
          { content: content("b", 2), cluster: "k1", popularity: 9 },
        ],
        nodes: [{ id: "n1", cluster: "k1", freeBytes: 200 }],
        replication: 1,
      }),
    );
    expect(plans).toHaveLength(1);
    expect(plans[0]!.content).toBe("b");
  });

  it("limits chunks per node per round", () => {
    const plans = planPlacement(input({ maxChunksPerNodeRound: 1, replication: 1 }));
    for (const p of plans) expect(p.chunks.length).toBe(1);
    expect(plans.map((p) => p.node)).toEqual(["n1", "n2", "n3"]);
  });
});

describe("Decayed", () => {
  it("halves every half-life", () => {
    const d = new Decayed(1000);
    d.add(8, 0);
    expect(d.get(1000)).toBeCloseTo(4);
    expect(d.get(3000)).toBeCloseTo(1);
    d.add(1, 3000);
    expect(d.get(3000)).toBeCloseTo(2);
  });
});

describe("signedManifestVerifier", () => {
  const key = generateKeyPair();

  it("accepts a signed manifest from its publisher and indexes distinct chunks", () => {
    const m = signed(key, "v", [id(1), id(2), id(1)]);
    expect(signedManifestVerifier(m.bytes, key.did)).toEqual({
      contentId: m.id,
      chunks: [
        { id: id(1), size: 1024 },
        { id: id(2), size: 1024 },
      ],
      origins: ["https://origin.example/v"],
    });
  });

  it("maps manifest errors to typed rejections", () => {
    const m = signed(key, "v", [id(1)]);
    const code = (bytes: Uint8Array, did = key.did) => {
      try {
        signedManifestVerifier(bytes, did);
      } catch (e) {
        if (e instanceof ManifestRejected) return e.code;
        throw e;
      }
      return "ok";
    };
    expect(code(m.bytes, generateKeyPair().did)).toBe("wrong_publisher");
    const text = new TextDecoder().decode(m.bytes);
    const flipped = text.replace(
      /"signature":"(.)/,
      (_, c: string) => `"signature":"${c === "a" ? "b" : "a"}`,
    );
    expect(code(new TextEncoder().encode(flipped))).toBe("bad_signature");
    expect(code(new TextEncoder().encode(text.replace('"name":"v"', '"name":"w"')))).toBe(
      "bad_signature",
    );
    expect(code(new TextEncoder().encode(" " + text))).toBe("invalid");
    expect(code(new TextEncoder().encode("{nope"))).toBe("invalid");
    expect(code(new Uint8Array(9 * 1024 * 1024))).toBe("too_large");
  });
});

describe("ContentIndex", () => {
  it("stores manifests, refuses another publisher's content id, and reloads from the db", () => {
    const p1 = generateKeyPair();
    const p2 = generateKeyPair();
    const db = new CoordinatorDb(":memory:");
    db.addPublisher(p1.did);
    db.addPublisher(p2.did);
    const idx = new ContentIndex(db, signedManifestVerifier, 1000);
    const m = signed(p1, "v1", [id(1)]);
    expect(idx.publish(p1.did, m.bytes).contentId).toBe(m.id);
    // p2 cannot upload p1's manifest (signature names p1) ...
    expect(() => idx.publish(p2.did, m.bytes)).toThrow(ManifestRejected);
    // ... and a verifier that accepted it still could not take over the content id.
    const lax = new ContentIndex(db, (b) => signedManifestVerifier(b, p1.did), 1000);
    expect(() => lax.publish(p2.did, m.bytes)).toThrow(/another publisher/);
    const again = new ContentIndex(db, signedManifestVerifier, 1000);
    expect(again.get(m.id)?.chunks).toEqual([{ id: id(1), size: 1024 }]);
    expect(again.remove(m.id, p2.did)).toBe(false);
    expect(again.remove(m.id, p1.did)).toBe(true);
    expect(again.get(m.id)).toBeUndefined();
    db.close();
  });

  it("tracks inventories, full resyncs, departures and pending holds", () => {
    const db = new CoordinatorDb(":memory:");
    const idx = new ContentIndex(db, signedManifestVerifier, 1000);
    idx.applyInventory("n1", [id(1), id(2)], [], false);
    idx.applyInventory("n2", [id(1)], [], false);
    expect([...idx.holders(id(1))].sort()).toEqual(["n1", "n2"]);
    idx.applyInventory("n1", [id(3)], [], true);
    expect(idx.holders(id(2)).size).toBe(0);
    expect(idx.inventorySize("n1")).toBe(1);
    idx.markPending("n3", [id(1)], 500);
    expect([...idx.holdersOrPending(id(1), 100)].sort()).toEqual(["n2", "n3"]);
    expect(idx.holdersOrPending(id(1), 600).has("n3")).toBe(false);
    idx.markPending("n2", [id(2)], 500);
    idx.markPending("n3", [id(2)], 500);
    idx.dropNode("n2");
    expect(idx.holders(id(1)).size).toBe(0);
    // A node gone is not on its way to a chunk either (its holds can go to others at once);
    // the other nodes' holds stay.
    expect([...idx.holdersOrPending(id(2), 100)]).toEqual(["n3"]);
    db.close();
  });

  it("keeps demand per cluster and forgets it once decayed", () => {
    const key = generateKeyPair();
    const db = new CoordinatorDb(":memory:");
    db.addPublisher(key.did);
    const idx = new ContentIndex(db, signedManifestVerifier, 1000);
    const v = signed(key, "v", [id(1)]).id;
    idx.publish(key.did, signed(key, "v", [id(1)]).bytes);
    idx.recordFind(v, "k1", 0);
    idx.recordFind(v, "k1", 0);
    idx.recordFind(v, "k2", 0);
    idx.recordFind("unknown", "k1", 0);
    expect(idx.popularity(v, 0)).toBeCloseTo(3);
    const d = idx.demands(0, 0.5);
    expect(d.map((x) => [x.cluster, x.popularity])).toEqual([
      ["k1", 2],
      ["k2", 1],
    ]);
    // The k1 leader left: its demand moves to the successor cluster k2 and adds up there.
    idx.moveDemand("k1", "k2", 0);
    expect(idx.demands(0, 0.5).map((x) => [x.cluster, x.popularity])).toEqual([["k2", 3]]);
    idx.moveDemand("k2", undefined, 0);
    expect(idx.demands(0, 0)).toEqual([]);
    idx.recordFind(v, "k1", 0);
    expect(idx.demands(20_000, 0)).toEqual([]);
    expect(idx.popularity(v, 20_000)).toBe(0);
    db.close();
  });
});

describe("planPreposition", () => {
  const none = () => new Set<string>();
  function pre(over: Partial<PrepositionInput> = {}): PrepositionInput {
    return {
      contents: [content("b", 3), content("a", 3)], // newest first
      nodes: [
        { id: "n1", cluster: "k1", freeBytes: 1000, capBytes: 1000 },
        { id: "n2", cluster: "k1", freeBytes: 1000, capBytes: 1000 },
      ],
      holders: none,
      share: 0.5,
      maxChunksPerNodeRound: 100,
      ...over,
    };
  }
  const chunksOf = (plans: { chunks: string[] }[]) => plans.flatMap((p) => p.chunks);

  it("places one replica of every chunk nobody holds, within share of each store", () => {
    const plans = planPreposition(pre());
    // 6 chunks of 100 bytes, 500 bytes of room on each node: all placed once.
    expect(chunksOf(plans).sort()).toEqual(
      [...content("a", 3).chunks, ...content("b", 3).chunks].map((c) => c.id).sort(),
    );
    expect(new Set(chunksOf(plans)).size).toBe(6);
    for (const p of plans)
      expect(p.sources).toEqual([{ kind: "origin", url: `https://origin.example/${p.content}` }]);
  });

  it("fills the start of every item first, newest item first, when room is short", () => {
    // Room for 3 chunks in all (share 0.15 of 1000 = 150 → one 100-byte chunk on each of 2
    // nodes, and a third node with room for one).
    const plans = planPreposition(
      pre({
        share: 0.15,
        nodes: [
          { id: "n1", cluster: "k1", freeBytes: 1000, capBytes: 1000 },
          { id: "n2", cluster: "k1", freeBytes: 1000, capBytes: 1000 },
          { id: "n3", cluster: "k1", freeBytes: 1000, capBytes: 1000 },
        ],
      }),
    );
    const b = content("b", 3).chunks.map((c) => c.id);
    const a = content("a", 3).chunks.map((c) => c.id);
    expect(chunksOf(plans).sort()).toEqual([b[0], a[0], b[1]].sort());
  });

  it("never goes past share of a store, and leaves held or demanded chunks alone", () => {
    const a0 = content("a", 3).chunks[0]!.id;
    const plans = planPreposition(
      pre({
        // n1 already uses 450 of 1000 (share 0.5 → 50 bytes of room: no 100-byte chunk fits).
        nodes: [
          { id: "n1", cluster: "k1", freeBytes: 550, capBytes: 1000 },
          { id: "n2", cluster: "k1", freeBytes: 1000, capBytes: 1000 },
        ],
        holders: (c) => (c === a0 ? new Set(["n9"]) : new Set()),
      }),
    );
    expect(plans.every((p) => p.node === "n2")).toBe(true);
    expect(chunksOf(plans)).not.toContain(a0);
    expect(chunksOf(plans)).toHaveLength(5);
  });

  it("is off at share 0 and respects the per-round chunk cap", () => {
    expect(planPreposition(pre({ share: 0 }))).toEqual([]);
    const plans = planPreposition(
      pre({ maxChunksPerNodeRound: 2, assignedThisRound: new Map([["n1", 2]]) }),
    );
    expect(plans.every((p) => p.node === "n2")).toBe(true);
    expect(chunksOf(plans)).toHaveLength(2);
  });
});
