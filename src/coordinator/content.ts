// Content: published manifests, the chunk index (which node holds which chunk), popularity,
// and placement (which nodes should hold which chunks).
//
// Manifests arrive as bytes over REST and go through a pluggable ManifestVerifier that returns
// the content id, chunk list and origins; the default is signedManifestVerifier (the signed
// format of src/protocol/manifest.ts).
//
// Placement (planPlacement): demand is tracked per (content, cluster) as popularity = decayed
// count of browser finds from that cluster (half-life `popularityHalfLifeMs`). For every
// demand above `minPopularity`, most popular first, and every chunk of that content, the
// R = `replication` nodes nearest to the demand cluster that can take the chunk (same cluster
// first, then by RTT to the cluster's leader in bands of `rttBandMs`; within a band by
// rendezvous hash of (chunk, node), so equally near nodes share the chunks and their uplinks
// instead of the lowest ids taking every replica; a node qualifies if it already holds
// the chunk, or has free store for it and has not hit `maxChunksPerNodeRound`) are the targets;
// targets not yet holding it are told to fetch it (node.hold) from the origins and from
// current holders — one hold per holder copied from, that holder named first. Store caps are
// respected by tracking each node's free bytes during the plan.
// With `seedFirst`, a chunk that no node reports holding yet goes to one node only (the seed);
// the other replicas are placed once the seed reports it, and fetch it from the seed — so the
// origin serves each chunk to the fog once, not once per replica.
//
// Prepositioning (planPreposition): content nobody has asked for yet is placed too, one replica,
// on nodes whose store is filled below `prepositionShare` of its cap — the start of every item
// first (chunk 0 of every content, newest first, then chunk 1, …), so the first viewer of an
// item finds its opening segments in the fog while demand placement fills the rest. Demand
// placement runs first each round and keeps at least 1 − prepositionShare of every store.
import { contentId, parseManifest, verifyManifest } from "../protocol/manifest";
import { ManifestError } from "../protocol/manifest-error";
import type { HoldSource } from "../protocol/messages";
import { LIMITS } from "../protocol/messages";
import type { CoordinatorDb } from "./db";

/** What the coordinator needs to know about a manifest. */
export interface ManifestInfo {
  contentId: string;
  /** Distinct chunks in manifest order. */
  chunks: { id: string; size: number }[];
  /** HTTP origins of the content (a node computes a chunk's URL and range from the manifest). */
  origins: string[];
}

export type ManifestRejectedCode =
  "invalid" | "bad_signature" | "wrong_publisher" | "conflict" | "too_large";

/** Why a manifest upload was refused. */
export class ManifestRejected extends Error {
  constructor(
    readonly code: ManifestRejectedCode,
    readonly detail: string,
  ) {
    super(`manifest ${code}: ${detail}`);
    this.name = "ManifestRejected";
  }
}

/**
 * Checks uploaded manifest bytes and extracts the index information. Throws ManifestRejected.
 * `publisherDid` is the authenticated uploader.
 */
export type ManifestVerifier = (body: Uint8Array, publisherDid: string) => ManifestInfo;

/**
 * The signed manifest format of src/protocol/manifest.ts: canonical bytes, Merkle root and
 * Ed25519 signature must check out, and the manifest must be signed by the uploader.
 * Content id = SHA-256 of the manifest bytes.
 */
export const signedManifestVerifier: ManifestVerifier = (body, publisherDid) => {
  let m;
  try {
    m = parseManifest(body);
    verifyManifest(m, publisherDid);
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    const code: ManifestRejectedCode =
      e.code === "too_large" || e.code === "over_limit"
        ? "too_large"
        : e.code === "bad_signature" || e.code === "bad_merkle"
          ? "bad_signature"
          : e.code === "wrong_publisher"
            ? "wrong_publisher"
            : "invalid";
    throw new ManifestRejected(code, `${e.code}: ${e.detail}${e.field ? ` at ${e.field}` : ""}`);
  }
  const seen = new Set<string>();
  const chunks: ManifestInfo["chunks"] = [];
  for (const f of m.files) {
    for (const c of f.chunks) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      chunks.push({ id: c.id, size: c.size });
    }
  }
  return { contentId: contentId(m), chunks, origins: [...m.origins] };
};

/** An exponentially decayed counter. */
export class Decayed {
  private value = 0;
  private at = 0;
  constructor(private readonly halfLifeMs: number) {}
  add(amount: number, now: number): void {
    this.value = this.get(now) + amount;
    this.at = now;
  }
  get(now: number): number {
    if (this.value === 0) return 0;
    const dt = Math.max(0, now - this.at);
    return this.value * Math.pow(2, -dt / this.halfLifeMs);
  }
}

export interface PlacementNode {
  id: string;
  cluster: string | undefined;
  /** Store bytes still free. */
  freeBytes: number;
}
export interface PlacementDemand {
  content: ManifestInfo;
  cluster: string;
  popularity: number;
}
export interface PlacementInput {
  demands: PlacementDemand[];
  nodes: PlacementNode[];
  /** Nodes holding (or already told to fetch) a chunk. */
  holders: (chunkId: string) => ReadonlySet<string>;
  /** Nodes that report holding a chunk (fill sources). Default: `holders`. */
  confirmed?: (chunkId: string) => ReadonlySet<string>;
  /** One replica first for a chunk nobody holds yet (see the file comment). Default false. */
  seedFirst?: boolean;
  /** RTT from a node to a cluster's leader, ms; undefined = unknown. */
  rttToCluster: (nodeId: string, cluster: string) => number | undefined;
  replication: number;
  maxChunksPerNodeRound: number;
  unknownRttMs: number;
  /** Width of an RTT band of equally near nodes, ms (> 0). */
  rttBandMs: number;
}
export interface HoldPlan {
  node: string;
  content: string;
  chunks: string[];
  sources: HoldSource[];
}

/** FNV-1a 32 of a string. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Rendezvous (highest random weight) rank of a node for a chunk, lower first: murmur3's fmix32
 * of the two FNV-1a hashes combined (each computed once, not per pair).
 */
function rendezvous(chunkHash: number, nodeHash: number): number {
  let h = (chunkHash ^ Math.imul(nodeHash, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Pure placement planner; see the file comment for the rule. */
export function planPlacement(input: PlacementInput): HoldPlan[] {
  const free = new Map(input.nodes.map((n) => [n.id, n.freeBytes]));
  const assignedCount = new Map<string, number>();
  const assigned = new Map<string, Set<string>>(); // chunk -> nodes assigned this round
  const plans = new Map<string, HoldPlan & { via?: string }>(); // node|content|source -> plan
  const confirmed = input.confirmed ?? input.holders;
  const demands = [...input.demands].sort(
    (a, b) => b.popularity - a.popularity || cmp(a.content.contentId, b.content.contentId),
  );
  const nodeHash = new Map(input.nodes.map((n) => [n.id, fnv1a(n.id)]));
  const chunkHash = new Map<string, number>(); // a content's chunks recur once per cluster
  for (const d of demands) {
    // Nearness of each node to this demand: other clusters after this one, then the RTT band.
    const near = input.nodes.map((n) => ({
      n,
      tier:
        (n.cluster === d.cluster ? 0 : 1e9) +
        Math.floor((input.rttToCluster(n.id, d.cluster) ?? input.unknownRttMs) / input.rttBandMs),
      nh: nodeHash.get(n.id)!,
      h: 0,
    }));
    for (const chunk of d.content.chunks) {
      let ch = chunkHash.get(chunk.id);
      if (ch === undefined) chunkHash.set(chunk.id, (ch = fnv1a(chunk.id)));
      for (const x of near) x.h = rendezvous(ch, x.nh);
      near.sort((a, b) => a.tier - b.tier || a.h - b.h || cmp(a.n.id, b.n.id));
      const order = near.map((x) => x.n);
      const held = input.holders(chunk.id);
      const mine = assigned.get(chunk.id) ?? new Set<string>();
      const targets: string[] = [];
      const seeding = input.seedFirst === true && confirmed(chunk.id).size === 0;
      // Seeding: one new node, unless one still placeable was told to fetch it already
      // (pending, or for another cluster's demand this round) — nearer or not, a second seed
      // would be a second fetch from the origin.
      if (seeding && (mine.size > 0 || [...held].some((h) => free.has(h)))) continue;
      const want = seeding ? 1 : input.replication;
      for (const n of order) {
        if (targets.length >= Math.min(want, input.replication)) break;
        if (held.has(n.id) || mine.has(n.id)) {
          targets.push(n.id);
          continue;
        }
        if ((free.get(n.id) ?? 0) < chunk.size) continue;
        if ((assignedCount.get(n.id) ?? 0) >= input.maxChunksPerNodeRound) continue;
        targets.push(n.id);
        free.set(n.id, (free.get(n.id) ?? 0) - chunk.size);
        assignedCount.set(n.id, (assignedCount.get(n.id) ?? 0) + 1);
        mine.add(n.id);
        assigned.set(chunk.id, mine);
        // One hold per source: a seed's is the origin; a copy's is one node holding it (by
        // rendezvous hash, so that the holders share the copying), named first. A node tries its
        // node sources in order, so a hold mixing chunks of different holders would send it to
        // nodes without the chunk first (the demo measured 62-71 HTTP 404s per run).
        const via = seeding ? undefined : copySource(ch, n.id, confirmed(chunk.id), nodeHash);
        const key = `${n.id}|${d.content.contentId}|${seeding ? "seed" : (via ?? "origin")}`;
        let plan = plans.get(key);
        if (!plan) {
          plan = { node: n.id, content: d.content.contentId, chunks: [], sources: [], via };
          plans.set(key, plan);
        }
        plan.chunks.push(chunk.id);
      }
    }
  }
  // Sources: the origins, then the node the hold copies from, then a few more holding some of
  // its chunks (should that one fail).
  const out: HoldPlan[] = [];
  for (const { via, ...plan } of plans.values()) {
    const sources: HoldSource[] = [];
    const content = demands.find((d) => d.content.contentId === plan.content)?.content;
    for (const url of content?.origins ?? []) sources.push({ kind: "origin", url });
    const peers = new Set<string>();
    for (const c of plan.chunks) {
      for (const h of confirmed(c)) if (h !== plan.node && h !== via) peers.add(h);
    }
    for (const p of [...(via ? [via] : []), ...[...peers].sort()]) {
      if (sources.length >= LIMITS.holdSources) break;
      sources.push({ kind: "node", nodeId: p });
    }
    out.push({ ...plan, sources });
  }
  return out.sort((a, b) => cmp(a.node, b.node) || cmp(a.content, b.content));
}

/** The holder `node` copies a chunk from: the first of `holders` (not itself) by rendezvous. */
function copySource(
  chunkHash: number,
  node: string,
  holders: ReadonlySet<string>,
  nodeHash: ReadonlyMap<string, number>,
): string | undefined {
  let best: string | undefined;
  let bestRank = 0;
  for (const h of holders) {
    if (h === node) continue;
    const rank = rendezvous(chunkHash, nodeHash.get(h) ?? fnv1a(h));
    if (best === undefined || rank < bestRank || (rank === bestRank && cmp(h, best) < 0)) {
      best = h;
      bestRank = rank;
    }
  }
  return best;
}

export interface PrepositionInput {
  /** Published content, newest first. */
  contents: ManifestInfo[];
  nodes: (PlacementNode & { capBytes: number })[];
  /** Nodes holding (or already told to fetch) a chunk, incl. this round's demand plans. */
  holders: (chunkId: string) => ReadonlySet<string>;
  /** Fraction of a node's store cap prepositioning may fill up to (0..1; 0 = off). */
  share: number;
  maxChunksPerNodeRound: number;
  /** Chunks each node was already given this round (by demand placement). */
  assignedThisRound?: ReadonlyMap<string, number>;
}

/** Pure prepositioning planner; see the file comment for the rule. */
export function planPreposition(input: PrepositionInput): HoldPlan[] {
  if (input.share <= 0 || input.nodes.length === 0) return [];
  // Bytes each node may still take: up to `share` of its cap in use, and no more than is free.
  const room = new Map(
    input.nodes.map((n) => {
      const used = n.capBytes - n.freeBytes;
      return [n.id, Math.min(n.freeBytes, Math.floor(n.capBytes * input.share) - used)];
    }),
  );
  const count = new Map(input.assignedThisRound ?? []);
  const plans = new Map<string, HoldPlan>();
  const longest = Math.max(0, ...input.contents.map((c) => c.chunks.length));
  for (let i = 0; i < longest; i++) {
    for (const content of input.contents) {
      const chunk = content.chunks[i];
      if (!chunk || input.holders(chunk.id).size > 0) continue;
      // The node with the most room that can still take one this round.
      let best: string | undefined;
      for (const n of input.nodes) {
        const r = room.get(n.id) ?? 0;
        if (r < chunk.size || (count.get(n.id) ?? 0) >= input.maxChunksPerNodeRound) continue;
        if (best === undefined || r > (room.get(best) ?? 0)) best = n.id;
      }
      if (best === undefined) continue;
      room.set(best, (room.get(best) ?? 0) - chunk.size);
      count.set(best, (count.get(best) ?? 0) + 1);
      const key = `${best}|${content.contentId}`;
      let plan = plans.get(key);
      if (!plan) {
        const sources = content.origins.map((url) => ({ kind: "origin" as const, url }));
        plan = { node: best, content: content.contentId, chunks: [], sources };
        plans.set(key, plan);
      }
      plan.chunks.push(chunk.id);
    }
  }
  return [...plans.values()].sort((a, b) => cmp(a.node, b.node) || cmp(a.content, b.content));
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Manifests, chunk index, popularity and pending holds. */
export class ContentIndex {
  private readonly manifests = new Map<string, ManifestInfo>();
  /** Chunk id -> bytes, for every chunk of every manifest indexed since start. */
  private readonly chunkSize = new Map<string, number>();
  private readonly holdersOf = new Map<string, Set<string>>();
  private readonly inventoryOf = new Map<string, Set<string>>();
  private readonly demand = new Map<string, { content: string; cluster: string; pop: Decayed }>();
  /** chunk -> node -> expiry of an unconfirmed hold instruction. */
  private readonly pending = new Map<string, Map<string, number>>();

  constructor(
    private readonly db: CoordinatorDb,
    private readonly verify: ManifestVerifier,
    private readonly halfLifeMs: number,
  ) {
    for (const row of db.listManifests()) {
      try {
        this.index(verify(utf8(row.body), row.publisherDid));
      } catch {
        // A manifest stored by an older verifier no longer passes: keep it in the db, do not index.
      }
    }
  }

  /** Verifies and stores a manifest; returns its info. Throws ManifestRejected. */
  publish(publisherDid: string, body: Uint8Array, now = Date.now()): ManifestInfo {
    const info = this.verify(body, publisherDid);
    const text = new TextDecoder("utf-8", { fatal: true }).decode(body);
    const existing = this.db.getManifest(info.contentId);
    if (existing && existing.publisherDid !== publisherDid) {
      throw new ManifestRejected(
        "conflict",
        `content ${info.contentId} belongs to another publisher`,
      );
    }
    this.db.putManifest({ contentId: info.contentId, publisherDid, body: text, createdAt: now });
    this.index(info);
    return info;
  }

  private index(info: ManifestInfo): void {
    this.manifests.set(info.contentId, info);
    for (const c of info.chunks) this.chunkSize.set(c.id, c.size);
  }

  remove(contentId: string, publisherDid: string): boolean {
    const ok = this.db.deleteManifest(contentId, publisherDid);
    if (ok) this.manifests.delete(contentId);
    return ok;
  }

  get(contentId: string): ManifestInfo | undefined {
    return this.manifests.get(contentId);
  }

  contents(): ManifestInfo[] {
    return [...this.manifests.values()];
  }

  /** Applies a node's inventory delta (or full inventory). */
  applyInventory(nodeId: string, add: string[], remove: string[], full: boolean): void {
    let inv = this.inventoryOf.get(nodeId);
    if (!inv) {
      inv = new Set();
      this.inventoryOf.set(nodeId, inv);
    }
    if (full) {
      for (const c of inv) this.holdersOf.get(c)?.delete(nodeId);
      inv.clear();
    }
    for (const c of remove) {
      inv.delete(c);
      this.holdersOf.get(c)?.delete(nodeId);
    }
    for (const c of add) {
      inv.add(c);
      let h = this.holdersOf.get(c);
      if (!h) {
        h = new Set();
        this.holdersOf.set(c, h);
      }
      h.add(nodeId);
      this.pending.get(c)?.delete(nodeId);
    }
  }

  /** Forgets everything a node holds (it went away). */
  dropNode(nodeId: string): void {
    const inv = this.inventoryOf.get(nodeId);
    if (inv) for (const c of inv) this.holdersOf.get(c)?.delete(nodeId);
    this.inventoryOf.delete(nodeId);
    for (const [chunk, m] of this.pending) {
      m.delete(nodeId);
      if (m.size === 0) this.pending.delete(chunk);
    }
  }

  holders(chunkId: string): ReadonlySet<string> {
    return this.holdersOf.get(chunkId) ?? new Set();
  }

  inventorySize(nodeId: string): number {
    return this.inventoryOf.get(nodeId)?.size ?? 0;
  }

  /** Counts a find for `contentId` from a browser in `cluster`. */
  recordFind(contentId: string, cluster: string, now: number): void {
    const key = `${contentId}|${cluster}`;
    let d = this.demand.get(key);
    if (!d) {
      d = { content: contentId, cluster, pop: new Decayed(this.halfLifeMs) };
      this.demand.set(key, d);
    }
    d.pop.add(1, now);
  }

  /**
   * Moves demand recorded for cluster `from` (whose leader left) to `to`, or drops it when the
   * cluster has no successor.
   */
  moveDemand(from: string, to: string | undefined, now: number): void {
    for (const [key, d] of [...this.demand]) {
      if (d.cluster !== from) continue;
      this.demand.delete(key);
      if (to === undefined) continue;
      const target = `${d.content}|${to}`;
      let t = this.demand.get(target);
      if (!t) {
        t = { content: d.content, cluster: to, pop: new Decayed(this.halfLifeMs) };
        this.demand.set(target, t);
      }
      t.pop.add(d.pop.get(now), now);
    }
  }

  popularity(contentId: string, now: number): number {
    let sum = 0;
    for (const d of this.demand.values()) if (d.content === contentId) sum += d.pop.get(now);
    return sum;
  }

  /** Demands above `minPopularity` for known content; forgets ones that decayed away. */
  demands(now: number, minPopularity: number): PlacementDemand[] {
    const out: PlacementDemand[] = [];
    for (const [key, d] of this.demand) {
      const pop = d.pop.get(now);
      if (pop < 0.01) {
        this.demand.delete(key);
        continue;
      }
      const content = this.manifests.get(d.content);
      if (content && pop >= minPopularity)
        out.push({ content, cluster: d.cluster, popularity: pop });
    }
    return out;
  }

  /** Holders plus nodes with an unexpired hold instruction for the chunk. */
  holdersOrPending(chunkId: string, now: number): Set<string> {
    const out = new Set(this.holders(chunkId));
    const m = this.pending.get(chunkId);
    if (m) {
      for (const [node, exp] of m) {
        if (exp < now) m.delete(node);
        else out.add(node);
      }
      if (m.size === 0) this.pending.delete(chunkId);
    }
    return out;
  }

  /** Size of a chunk of indexed content, bytes (0 if unknown). */
  chunkBytes(chunkId: string): number {
    return this.chunkSize.get(chunkId) ?? 0;
  }

  /** Bytes of the chunks each node was told to fetch and has not reported yet. */
  pendingBytes(now: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [chunk, m] of this.pending) {
      for (const [node, exp] of m) {
        if (exp >= now) out.set(node, (out.get(node) ?? 0) + this.chunkBytes(chunk));
      }
    }
    return out;
  }

  markPending(nodeId: string, chunks: string[], until: number): void {
    for (const c of chunks) {
      let m = this.pending.get(c);
      if (!m) {
        m = new Map();
        this.pending.set(c, m);
      }
      m.set(nodeId, until);
    }
  }
}
