// The SDK client: owns the manifest, stats and events of one content; the coordinator link and
// node pool are its FogPeers (its own, or the page's shared ones: peers.ts).
// `fetch(url)` delivers a manifest file verified; the hls.js loader calls `fetchSegment`.
import type { ManifestFile } from "../protocol/manifest-types";
import type { FoundNode } from "../protocol/messages";
import { resolveConfig, SdkError, type ClientOptions, type SdkConfig } from "./config";
import type { CoordinatorLink } from "./coordinator-link";
import { deliverFile, type DeliveryDeps } from "./delivery";
import { Emitter, type SdkEventName, type SdkEvents } from "./events";
import { loadManifest, type ManifestIndex } from "./manifest-index";
import type { NodePool } from "./node-pool";
import { FogPeers } from "./peers";
import { fogDeadlineMs } from "./schedule";
import { DeliveryStats, type StatsSnapshot } from "./stats";

export interface FetchOptions {
  signal?: AbortSignal;
  /** Time the fog gets before HTTP takes over, milliseconds. Default cfg.fetchDeadlineMs. */
  deadlineMs?: number;
}

/** A browser.find answer in the client's cache; `empty` once it resolved without nodes. */
interface FindAnswer {
  at: number;
  nodes: Promise<FoundNode[]>;
  empty?: boolean;
}

export class FogClient {
  readonly config: SdkConfig;
  private readonly events = new Emitter();
  private readonly stat: DeliveryStats;
  private readonly coord: CoordinatorLink;
  private readonly pool: NodePool;
  private readonly manifest: Promise<ManifestIndex | undefined>;
  private readonly findCache = new Map<string, FindAnswer>();
  private readonly statsTimer: ReturnType<typeof setInterval> | undefined;
  private readonly fetchFn: typeof fetch;
  private readonly peers: FogPeers;
  private readonly ownsPeers: boolean;
  private readonly offWarning: () => void;
  private destroyed = false;

  constructor(opts: ClientOptions) {
    const cfg = resolveConfig(opts);
    this.config = cfg;
    this.fetchFn = cfg.fetch ?? globalThis.fetch.bind(globalThis);
    this.stat = new DeliveryStats(cfg.throughputWindowMs);
    this.ownsPeers = !cfg.peers;
    this.peers = cfg.peers ?? new FogPeers(cfg);
    this.coord = this.peers.coord;
    this.pool = this.peers.pool;
    this.offWarning = this.peers.onWarning((detail) => this.events.emit("warning", { detail }));
    // The coordinator socket opens while the manifest loads: the start finds (below) then go
    // out on an open socket instead of waiting for its handshake.
    this.coord.warm();
    // Where playback will start, the holders are asked for as soon as the manifest is parsed,
    // while its signature is checked: the first segment does not wait for a coordinator round
    // trip (the find cache keeps the answer; a manifest that fails the check is never used,
    // and neither is anything cached under its content id).
    const findStarts = (index: ManifestIndex) => {
      if (this.destroyed) return;
      for (const f of index.starts(cfg.startFinds)) this.prefetchFind(index, f);
    };
    this.manifest = loadManifest(
      cfg.manifestUrl,
      cfg.publisher,
      this.fetchFn,
      cfg.httpTimeoutMs,
      findStarts,
    ).catch((e: unknown) => {
      // Without a trusted manifest nothing can be verified: everything goes over HTTP.
      this.events.emit("warning", { detail: (e as Error).message });
      return undefined;
    });
    if (cfg.statsIntervalMs > 0) {
      this.statsTimer = setInterval(() => this.flushStats(), cfg.statsIntervalMs);
    }
  }

  /** Resolves once the manifest is loaded and verified (false: it failed; HTTP only). */
  async ready(): Promise<boolean> {
    return (await this.manifest) !== undefined;
  }

  /** True when `url` is in the verified manifest (waits for the manifest). */
  async has(url: string): Promise<boolean> {
    return (await this.manifest)?.lookup(url) !== undefined;
  }

  /**
   * Fetch a whole file listed in the manifest, fog first, HTTP for the rest; every byte is
   * verified. URLs not in the manifest are fetched over HTTP unverified (counted as fallback
   * "not_in_manifest"). Rejects with SdkError.
   */
  async fetch(url: string, opts: FetchOptions = {}): Promise<Uint8Array> {
    return this.fetchSegment(url, opts.deadlineMs ?? this.config.fetchDeadlineMs, opts.signal);
  }

  /** Fog deadline for a segment given the seconds of media buffered ahead. */
  deadlineFor(bufferAheadS: number): number {
    return fogDeadlineMs(bufferAheadS, this.config);
  }

  /** Used by the hls.js loader; `deadlineMs` from the buffer level. */
  async fetchSegment(url: string, deadlineMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.destroyed) throw new SdkError("aborted", "client destroyed");
    const started = Date.now();
    const index = await this.manifest;
    const entry = index?.lookup(url);
    if (!index || !entry) {
      const data = await this.plainHttp(url, signal);
      this.stat.delivered(0, data.length);
      this.stat.fallback("not_in_manifest");
      this.events.emit("fallback", { url, reason: "not_in_manifest" });
      this.events.emit("delivered", {
        url,
        bytes: data.length,
        bytesFog: 0,
        bytesHttp: data.length,
        ms: Date.now() - started,
      });
      return data;
    }
    const delivery = deliverFile(entry, this.deps(index, url), deadlineMs, signal);
    // The next segment's holders are asked for now (after this one's), so that its delivery
    // does not start with a coordinator round trip (the find cache keeps the answer).
    const next = index.next(entry.file);
    if (next && next.chunks.length > 0) this.prefetchFind(index, next);
    const r = await delivery;
    this.stat.delivered(r.bytesFog, r.bytesHttp);
    this.events.emit("delivered", {
      url,
      bytes: r.data.length,
      bytesFog: r.bytesFog,
      bytesHttp: r.bytesHttp,
      ms: Date.now() - started,
    });
    return r.data;
  }

  /** Current statistics. */
  stats(): StatsSnapshot {
    return this.stat.snapshot();
  }

  /** Subscribe to an event; returns an unsubscribe function. */
  on<K extends SdkEventName>(name: K, cb: (ev: SdkEvents[K]) => void): () => void {
    return this.events.on(name, cb);
  }

  /** Count a playback stall (the hls.js integration calls this). */
  recordStall(bufferAheadS: number): void {
    this.stat.stall();
    this.events.emit("stall", { bufferAheadS });
  }

  /** Close every connection; a final "stats" event fires. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.flushStats();
    this.offWarning();
    if (this.ownsPeers) this.peers.close();
    this.events.clear();
  }

  private flushStats(): void {
    const r = this.stat.takeReport();
    this.coord.stats(r.p2pBytes, r.httpBytes);
    this.events.emit("stats", this.stat.snapshot());
  }

  /** Ask for a file's holders ahead of its delivery (the find cache keeps the answer). */
  private prefetchFind(index: ManifestIndex, file: ManifestFile): void {
    this.find(
      index.contentId,
      file.chunks.map((c) => c.id),
    ).catch(() => undefined);
  }

  private find(contentId: string, ids: string[]): Promise<FoundNode[]> {
    const key = `${contentId}|${ids.join(",")}`;
    const now = Date.now();
    const hit = this.findCache.get(key);
    // An answer without nodes is not reused: placement may be filling nodes right now (cold
    // content), so the next delivery asks again. A find still in flight is shared.
    if (hit && !hit.empty && now - hit.at < this.config.findCacheMs) return hit.nodes;
    for (const [k, v] of this.findCache) {
      if (now - v.at >= this.config.findCacheMs) this.findCache.delete(k);
    }
    const nodes = this.coord.find(contentId, ids, this.config.findMax);
    const entry: FindAnswer = { at: now, nodes };
    this.findCache.set(key, entry);
    nodes
      .then((n) => {
        entry.empty = n.length === 0;
        if (this.config.preconnect && !this.destroyed) this.preconnect(n);
      })
      .catch(() => undefined);
    nodes.catch(() => this.findCache.delete(key)); // do not cache failures
    return nodes;
  }

  /**
   * Open connections to the nodes a delivery of these holders would use (the best `maxNodes`
   * usable ones, as deliverFile picks them), in the background: a node that fails to connect
   * is marked bad as a failed delivery would mark it.
   */
  private preconnect(nodes: FoundNode[]): void {
    const use = nodes.filter((n) => this.pool.usable(n.node)).slice(0, this.config.maxNodes);
    for (const { node } of use) {
      this.pool.client(node).catch(() => this.pool.markBad(node));
    }
  }

  private deps(index: ManifestIndex, url: string): DeliveryDeps {
    const cfg = this.config;
    return {
      find: (ids) => this.find(index.contentId, ids),
      usable: (n) => this.pool.usable(n),
      client: (n) => this.pool.client(n),
      markBad: (n) => this.pool.markBad(n),
      report: (node, chunk, reason) => {
        this.coord.badChunk(node, index.contentId, chunk, reason);
        this.events.emit("badnode", { node, chunk, reason });
      },
      fetch: this.fetchFn,
      httpTimeoutMs: cfg.httpTimeoutMs,
      maxNodes: cfg.maxNodes,
      maxInflightPerNode: cfg.maxInflightPerNode,
      stealFactor: cfg.stealFactor,
      now: () => Date.now(),
      onFog: (node, bytes, ms) => this.stat.nodeBytes(node, bytes, ms),
      onNodeFailure: (node) => this.stat.nodeFailure(node),
      onSteal: () => this.stat.steal(),
      onFallback: (reason, chunk, node) => {
        this.stat.fallback(reason);
        this.events.emit("fallback", {
          url,
          reason,
          ...(chunk !== undefined ? { chunk } : {}),
          ...(node !== undefined ? { node } : {}),
        });
      },
    };
  }

  private async plainHttp(url: string, signal?: AbortSignal): Promise<Uint8Array> {
    const timeout = AbortSignal.timeout(this.config.httpTimeoutMs);
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (e) {
      throw new SdkError(signal?.aborted ? "aborted" : "http", `GET ${url}: ${String(e)}`);
    }
    if (!res.ok) throw new SdkError("http", `GET ${url}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
}
