// Store fill: the coordinator's node.hold says which chunks of which content to hold and where
// to get them. The agent fetches each missing one — first from nodes that hold it (their
// pear-fogd's `GET /chunks/<id>`, the whole chunk), then from the origins (a byte range of the
// file the signed manifest names) — checks its SHA-256 and size against the manifest before
// anything touches the store (a node's bad bytes only move on to the next source), stages it
// in a file and hands it to pear-fogd (`chunk_put`, which hashes it again and writes it
// atomically). Bounded concurrency; every failure counted by reason, never stored.
import { sha256 } from "@noble/hashes/sha2.js";
import {
  chunkLocations,
  checkChunk,
  parseManifest,
  verifyManifest,
  type ChunkLocation,
  type Manifest,
} from "../protocol/index";
import type { NodeHold } from "../protocol/messages";
import type { Platform } from "../platform/platform";

export interface FillOptions {
  /** Chunk fetches in flight at once (count). Default 4. */
  concurrency: number;
  /** Deadline of one chunk fetch, milliseconds. Default 30000. */
  fetchTimeoutMs: number;
  /** Deadline of a manifest fetch, milliseconds. Default 10000. */
  manifestTimeoutMs: number;
  /** Largest manifest accepted, bytes. Default 4 MiB. */
  maxManifestBytes: number;
  /** Queued chunks at most; holds beyond this are dropped and counted (count). Default 10000. */
  maxQueue: number;
  /** Manifests kept parsed (count). Default 64. */
  manifestCache: number;
  /**
   * A node source that could not be reached (refused, reset, timed out) or sent wrong bytes is
   * skipped for this long, milliseconds. Default 60000: a router switched off mid-fill would
   * otherwise cost every chunk queued for it a whole fetchTimeoutMs before the next source.
   */
  nodeSourcePauseMs: number;
}

export const FILL_DEFAULTS: FillOptions = {
  concurrency: 4,
  fetchTimeoutMs: 30_000,
  manifestTimeoutMs: 10_000,
  maxManifestBytes: 4 * 1024 * 1024,
  maxQueue: 10_000,
  manifestCache: 64,
  nodeSourcePauseMs: 60_000,
};

export type FillFailure =
  | "manifest" // manifest missing, unparsable or badly signed
  | "not_in_manifest" // the hold named a chunk the manifest does not have
  | "no_source" // no origin URL for the chunk's file
  | "http" // origin error status / timeout / too big
  | "bad_hash" // bytes do not match the manifest (from every source tried)
  | "store" // pear-fogd refused the chunk
  | "queue_full";

export interface FillStats {
  stored: number;
  bytesFetched: number;
  /** Chunks stored that came from another node rather than an origin. */
  fromNodes: number;
  /** Node sources that answered with bytes that failed the manifest check. */
  badNodeBytes: number;
  /** Times a node source was set aside for nodeSourcePauseMs (unreachable or wrong bytes). */
  nodeSourcePauses: number;
  failed: Record<FillFailure, number>;
  queued: number;
}

interface Job {
  content: string;
  id: string;
  /** Chunk base URLs of nodes that hold it (`<base><id>`), tried before the origins. */
  nodeBases: string[];
}

interface ManifestEntry {
  m: Manifest;
  at: Map<string, ChunkLocation>;
}

/** Absolute URL of a manifest file: its `uri`, or `path` resolved against each origin. */
export function chunkSourceUrls(m: Manifest, loc: ChunkLocation): string[] {
  const f = m.files[loc.file];
  if (!f) return [];
  if (f.uri) return [f.uri];
  if (!f.path) return [];
  const out: string[] = [];
  for (const o of m.origins) {
    try {
      out.push(new URL(f.path, o.endsWith("/") ? o : `${o}/`).toString());
    } catch {
      // an origin that is not a URL is skipped
    }
  }
  return out;
}

export class StoreFiller {
  private readonly o: FillOptions;
  private readonly queue: Job[] = [];
  private readonly queuedIds = new Set<string>();
  private readonly manifests = new Map<string, Promise<ManifestEntry>>();
  /** Node source base URL -> platform time until which it is skipped. */
  private readonly pausedUntil = new Map<string, number>();
  private running = 0;
  private seq = 0;
  private stopped = false;
  readonly stats: FillStats = {
    stored: 0,
    bytesFetched: 0,
    fromNodes: 0,
    badNodeBytes: 0,
    nodeSourcePauses: 0,
    failed: {
      manifest: 0,
      not_in_manifest: 0,
      no_source: 0,
      http: 0,
      bad_hash: 0,
      store: 0,
      queue_full: 0,
    },
    queued: 0,
  };

  /** The platform's native SHA-256 where it has one (Node), else @noble/hashes. */
  private readonly hash = (b: Uint8Array): Uint8Array => (this.p.sha256 ?? sha256)(b);

  constructor(
    private readonly p: Platform,
    /** URL of the coordinator's manifest for a content id (GET /api/manifests/<id>). */
    private readonly manifestUrl: (content: string) => string,
    /** Called with each chunk id once it is in the store. */
    private readonly onStored: (id: string) => void,
    options: Partial<FillOptions> = {},
  ) {
    this.o = { ...FILL_DEFAULTS, ...options };
  }

  /** Queue a hold's chunks that the store does not have yet. */
  async hold(msg: NodeHold): Promise<void> {
    const missing = msg.chunks.filter((c) => !this.queuedIds.has(c));
    if (missing.length === 0 || this.stopped) return;
    const have = new Set(await this.p.daemon.chunkHas(missing));
    const nodeBases = msg.sources.flatMap((s) => (s.kind === "node" && s.url ? [s.url] : []));
    for (const id of missing) {
      if (have.has(id)) continue;
      if (this.queue.length >= this.o.maxQueue) {
        this.stats.failed.queue_full++;
        continue;
      }
      this.queue.push({ content: msg.content, id, nodeBases });
      this.queuedIds.add(id);
    }
    this.stats.queued = this.queue.length;
    this.pump();
  }

  /** Resolves when nothing is queued or running (tests, shutdown). */
  async idle(pollMs = 20): Promise<void> {
    while (this.queue.length > 0 || this.running > 0) {
      await new Promise<void>((r) => this.p.setTimeout(r, pollMs));
    }
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.queuedIds.clear();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.o.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      void this.fetchOne(job)
        .catch((e: unknown) => {
          this.p.log("warn", `fill ${job.id.slice(0, 12)}: ${String(e)}`);
        })
        .finally(() => {
          this.running--;
          this.queuedIds.delete(job.id);
          this.stats.queued = this.queue.length;
          this.pump();
        });
    }
  }

  private manifest(content: string): Promise<ManifestEntry> {
    let e = this.manifests.get(content);
    if (!e) {
      e = this.p
        .httpGet(this.manifestUrl(content), {
          maxBytes: this.o.maxManifestBytes,
          timeoutMs: this.o.manifestTimeoutMs,
        })
        .then((r) => {
          if (r.status !== 200) throw new Error(`manifest ${content}: HTTP ${r.status}`);
          const m = parseManifest(r.body);
          verifyManifest(m);
          return { m, at: new Map([...chunkLocations(m)].map((l) => [l.id, l])) };
        });
      e.catch(() => this.manifests.delete(content)); // retry on the next hold
      this.manifests.set(content, e);
      if (this.manifests.size > this.o.manifestCache) {
        this.manifests.delete(this.manifests.keys().next().value!);
      }
    }
    return e;
  }

  private fail(reason: FillFailure, job: Job, detail: string): void {
    if (this.stopped) return; // a fetch that was in flight when the agent stopped: abandoned
    this.stats.failed[reason]++;
    this.p.log(
      "warn",
      `fill ${job.id.slice(0, 12)} (${job.content.slice(0, 12)}): ${reason}: ${detail}`,
    );
  }

  private async fetchOne(job: Job): Promise<void> {
    let entry: ManifestEntry;
    try {
      entry = await this.manifest(job.content);
    } catch (e) {
      return this.fail("manifest", job, String(e));
    }
    const loc = entry.at.get(job.id);
    if (!loc) return this.fail("not_in_manifest", job, "chunk not listed");
    const fromNode = await this.fromNodes(job, loc);
    let bytes = fromNode;
    if (!bytes) {
      const urls = chunkSourceUrls(entry.m, loc);
      if (urls.length === 0) return this.fail("no_source", job, "no origin URL");
      const got = await this.fromOrigins(urls, loc);
      if (typeof got === "string") return this.fail("http", job, got);
      this.stats.bytesFetched += got.length;
      try {
        checkChunk(loc, got, this.hash);
      } catch (e) {
        return this.fail("bad_hash", job, String(e));
      }
      bytes = got;
    }
    const path = this.p.stagingPath(`fill-${this.seq++}-${job.id.slice(0, 16)}`);
    try {
      await this.p.writeFileAtomic(path, bytes);
      await this.p.daemon.chunkPut(job.id, path);
      this.stats.stored++;
      if (fromNode) this.stats.fromNodes++;
      this.onStored(job.id);
    } catch (e) {
      this.fail("store", job, String(e));
    } finally {
      await this.p.removeFile(path).catch(() => undefined);
    }
  }

  /** Skips `base` for nodeSourcePauseMs; forgets pauses that are over. */
  private pauseSource(base: string): void {
    const now = this.p.now();
    for (const [b, until] of this.pausedUntil) if (until <= now) this.pausedUntil.delete(b);
    this.pausedUntil.set(base, now + this.o.nodeSourcePauseMs);
    this.stats.nodeSourcePauses++;
  }

  /** The chunk from the first node source whose bytes pass the manifest check. */
  private async fromNodes(job: Job, loc: ChunkLocation): Promise<Uint8Array | undefined> {
    for (const base of job.nodeBases) {
      if ((this.pausedUntil.get(base) ?? 0) > this.p.now()) continue;
      const url = `${base}${job.id}`;
      let body: Uint8Array;
      try {
        const r = await this.p.httpGet(url, {
          maxBytes: loc.size,
          timeoutMs: this.o.fetchTimeoutMs,
        });
        if (r.status !== 200) {
          this.p.log("debug", `fill ${job.id.slice(0, 12)}: ${url}: HTTP ${r.status}`);
          continue;
        }
        body = r.body;
      } catch (e) {
        // Unreachable: the chunks queued behind this one would wait for it too.
        this.p.log("info", `fill ${job.id.slice(0, 12)}: ${url}: ${String(e)}; skipping ${base}`);
        this.pauseSource(base);
        continue;
      }
      this.stats.bytesFetched += body.length;
      try {
        checkChunk(loc, body, this.hash);
        return body;
      } catch (e) {
        this.stats.badNodeBytes++;
        this.pauseSource(base);
        this.p.log("warn", `fill ${job.id.slice(0, 12)}: node ${url}: ${String(e)}`);
      }
    }
    return undefined;
  }

  /** The chunk's byte range from the first origin that answers, or why none did. */
  private async fromOrigins(urls: string[], loc: ChunkLocation): Promise<Uint8Array | string> {
    let lastErr = "";
    for (const url of urls) {
      try {
        const r = await this.p.httpGet(url, {
          range: [loc.offset, loc.offset + loc.size - 1],
          maxBytes: loc.size,
          timeoutMs: this.o.fetchTimeoutMs,
        });
        if (
          r.status !== 206 &&
          !(r.status === 200 && loc.offset === 0 && r.body.length === loc.size)
        ) {
          lastErr = `${url}: HTTP ${r.status}`;
          continue;
        }
        return r.body;
      } catch (e) {
        lastErr = `${url}: ${String(e)}`;
      }
    }
    return lastErr;
  }
}
