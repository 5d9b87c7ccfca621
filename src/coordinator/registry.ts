// Node registry: identity proof, capacity reports, liveness and credibility.
//
// A node connects to /ws/node and sends node.hello {nodeId: did:key}. The coordinator answers
// node.challenge {nonce, coordinatorId}; the node signs nodeAuthPayload(nodeId, nonce,
// coordinatorId) (src/protocol/messages.ts, domain separated) with its Ed25519 key and sends
// node.auth {sig}. Only then is it registered. A node that sends no heartbeat for
// `nodeDeadAfterMs` is dropped and its connection closed (4000 "heartbeat timeout").
import { randomBytes } from "node:crypto";
import type { Capacity, CoordinatorToNode, NodeHeartbeat } from "../protocol/messages";
import { nodeAuthPayload } from "../protocol/messages";
import type { CoordinatorConfig } from "./config";
import type { CoordinatorDb } from "./db";
import { base64urlDecode, base64urlEncode, verifyDidSignature } from "./signature";

/** What the registry needs from a node's connection. */
export interface NodeLink {
  send(msg: CoordinatorToNode): void;
  close(code: number, reason: string): void;
}

export interface NodeEntry {
  id: string;
  link: NodeLink;
  probeUrl: string | undefined;
  /** Base URL of the node's chunks for other nodes' fills (`<chunkBase><id>`), if known. */
  chunkBase: string | undefined;
  version: string;
  capacity: Capacity;
  lastSeen: number;
  connectedAt: number;
  credibility: number;
  lastSeq: number;
  /** Total bytes served since the node first appeared (from the database). */
  bytesServed: number;
  /** Credibility as last written to the database. */
  persistedCredibility: number;
}

/** Credibility changes smaller than this are kept in memory until flush(). */
export const CREDIBILITY_PERSIST_STEP = 0.01;

export const CLOSE_HEARTBEAT_TIMEOUT = 4000;
export const CLOSE_REPLACED = 4009;

const EMPTY_CAPACITY: Capacity = {
  uplinkCapBps: 0,
  uplinkUsedBps: 0,
  storeBytes: 0,
  storeCapBytes: 0,
  load: 1,
  reachability: "unknown",
};

export class NodeRegistry {
  private readonly nodes = new Map<string, NodeEntry>();
  /** Bytes served not yet written: "node\0bucket" -> bytes (flushed by flush()). */
  private readonly pendingBytes = new Map<string, number>();
  private lastWrite = new Map<string, number>();
  private readonly listeners: ((id: string) => void)[] = [];

  constructor(
    private readonly cfg: CoordinatorConfig,
    private readonly db: CoordinatorDb,
  ) {}

  /** A fresh random challenge nonce (base64url, 32 bytes). */
  newNonce(): string {
    return base64urlEncode(randomBytes(32));
  }

  /** Checks a challenge answer. */
  verifyAuth(nodeId: string, nonce: string, sig: string): boolean {
    const sigBytes = base64urlDecode(sig);
    if (!sigBytes) return false;
    return verifyDidSignature(
      nodeId,
      nodeAuthPayload(nodeId, nonce, this.cfg.coordinatorId),
      sigBytes,
    );
  }

  /** Registers an authenticated node; an older connection with the same id is closed. */
  register(
    id: string,
    link: NodeLink,
    info: { version: string; probeUrl?: string; chunkBase?: string },
    now: number,
  ): NodeEntry {
    const old = this.nodes.get(id);
    if (old) {
      this.flush();
      this.nodes.delete(id);
      old.link.close(CLOSE_REPLACED, "replaced by a newer connection");
      for (const l of this.listeners) l(id);
    }
    const row = this.db.touchNode(id, now, this.cfg.credibility.initial);
    const entry: NodeEntry = {
      id,
      link,
      probeUrl: info.probeUrl,
      chunkBase: info.chunkBase,
      version: info.version,
      capacity: { ...EMPTY_CAPACITY },
      lastSeen: now,
      connectedAt: now,
      credibility: row.credibility,
      lastSeq: -1,
      bytesServed: row.bytesServed,
      persistedCredibility: row.credibility,
    };
    this.nodes.set(id, entry);
    return entry;
  }

  /** Applies a heartbeat; returns false if the node is not registered. */
  heartbeat(id: string, hb: NodeHeartbeat, now: number): boolean {
    const n = this.nodes.get(id);
    if (!n) return false;
    n.capacity = hb.capacity;
    n.lastSeen = now;
    n.lastSeq = hb.seq;
    const r = this.cfg.credibility.recoveryPerHeartbeat;
    n.credibility += (1 - n.credibility) * r;
    if (hb.bytesServed > 0) {
      n.bytesServed += hb.bytesServed;
      const key = `${id}\0${Math.floor(now / this.cfg.statsBucketMs)}`;
      this.pendingBytes.set(key, (this.pendingBytes.get(key) ?? 0) + hb.bytesServed);
      this.lastWrite.set(id, now);
    }
    return true;
  }

  /**
   * Writes batched state in one transaction: bytes served, and credibility that moved by at
   * least CREDIBILITY_PERSIST_STEP (penalties are written at once). Called by the sweep timer
   * and on shutdown; a crash loses at most one sweep interval of byte counts.
   */
  flush(): void {
    const creds = [...this.nodes.values()].filter(
      (n) => Math.abs(n.credibility - n.persistedCredibility) >= CREDIBILITY_PERSIST_STEP,
    );
    if (this.pendingBytes.size === 0 && creds.length === 0) return;
    this.db.batch(() => {
      for (const [key, bytes] of this.pendingBytes) {
        const [id, bucket] = key.split("\0") as [string, string];
        this.db.addBytesServed(id, Number(bucket), bytes, this.lastWrite.get(id) ?? 0);
      }
      for (const n of creds) {
        this.db.setCredibility(n.id, n.credibility);
        n.persistedCredibility = n.credibility;
      }
    });
    this.pendingBytes.clear();
    this.lastWrite.clear();
  }

  /** Lowers a node's credibility after a browser report; works for offline nodes too. */
  penalize(id: string, reason: "hash_mismatch" | "timeout" | "refused"): number | undefined {
    const f =
      reason === "hash_mismatch"
        ? this.cfg.credibility.hashMismatchFactor
        : this.cfg.credibility.timeoutFactor;
    const live = this.nodes.get(id);
    const cur = live?.credibility ?? this.db.getNode(id)?.credibility;
    if (cur === undefined) return undefined;
    const next = cur * f;
    if (live) {
      live.credibility = next;
      live.persistedCredibility = next;
    }
    this.db.setCredibility(id, next);
    return next;
  }

  /** Drops nodes silent for longer than nodeDeadAfterMs (after a flush); returns their ids. */
  sweep(now: number): string[] {
    this.flush();
    const dead: string[] = [];
    for (const n of this.nodes.values()) {
      if (now - n.lastSeen > this.cfg.nodeDeadAfterMs) dead.push(n.id);
    }
    for (const id of dead) {
      const n = this.nodes.get(id) as NodeEntry;
      this.nodes.delete(id);
      n.link.close(CLOSE_HEARTBEAT_TIMEOUT, "heartbeat timeout");
      for (const l of this.listeners) l(id);
    }
    return dead;
  }

  /** Removes a node whose connection closed (only if `link` is still its current one). */
  disconnected(id: string, link: NodeLink): boolean {
    const n = this.nodes.get(id);
    if (!n || n.link !== link) return false;
    this.flush();
    this.nodes.delete(id);
    for (const l of this.listeners) l(id);
    return true;
  }

  /** Called with the id whenever a node leaves (closed, replaced, or timed out). */
  onLeave(fn: (id: string) => void): void {
    this.listeners.push(fn);
  }

  get(id: string): NodeEntry | undefined {
    return this.nodes.get(id);
  }

  list(): NodeEntry[] {
    return [...this.nodes.values()];
  }

  size(): number {
    return this.nodes.size;
  }
}
