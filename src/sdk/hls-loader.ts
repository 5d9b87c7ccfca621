// hls.js integration: a fragment loader (hls.js v1 Loader interface, set as config.fLoader)
// that gets media segments through the FogClient, and stall counting. Playlists, keys and
// byte-range fragments stay on hls.js's own loader. Types are structural so that the SDK does
// not bundle or import hls.js.
import type { FogClient } from "./client";
import { SdkError } from "./config";
import { bufferAheadWallS } from "./schedule";

/** The parts of hls.js LoaderContext the loader reads. */
export interface HlsLoaderContext {
  url: string;
  responseType: string;
  rangeStart?: number;
  rangeEnd?: number;
}

export interface HlsLoaderStats {
  aborted: boolean;
  loaded: number;
  retry: number;
  total: number;
  chunkCount: number;
  bwEstimate: number;
  loading: { start: number; first: number; end: number };
  parsing: { start: number; end: number };
  buffering: { start: number; first: number; end: number };
}

export interface HlsLoaderCallbacks {
  onSuccess(
    response: { url: string; data: ArrayBuffer },
    stats: HlsLoaderStats,
    context: HlsLoaderContext,
    networkDetails: null,
  ): void;
  onError(
    error: { code: number; text: string },
    context: HlsLoaderContext,
    networkDetails: null,
    stats: HlsLoaderStats,
  ): void;
  onTimeout(stats: HlsLoaderStats, context: HlsLoaderContext, networkDetails: null): void;
  onAbort?(stats: HlsLoaderStats, context: HlsLoaderContext, networkDetails: null): void;
}

export interface HlsLoaderConfig {
  loadPolicy?: { maxLoadTimeMs?: number };
  timeout?: number;
}

export interface HlsLoader {
  context: HlsLoaderContext | null;
  stats: HlsLoaderStats;
  load(context: HlsLoaderContext, config: HlsLoaderConfig, callbacks: HlsLoaderCallbacks): void;
  abort(): void;
  destroy(): void;
}

export type HlsLoaderClass = new (hlsConfig: unknown) => HlsLoader;

/** The parts of an hls.js instance attachHls uses. */
export interface HlsLike {
  config: { loader: HlsLoaderClass; fLoader?: HlsLoaderClass | undefined };
  media: HTMLMediaElement | null;
  on(event: string, cb: (event: string, data: { details?: string }) => void): void;
}

/** hls.js event names used (values of Hls.Events). */
export const HLS_EVENTS = { error: "hlsError", destroying: "hlsDestroying" } as const;
/** hls.js ErrorDetails.BUFFER_STALLED_ERROR. */
export const HLS_BUFFER_STALLED = "bufferStalledError";

function newStats(): HlsLoaderStats {
  return {
    aborted: false,
    loaded: 0,
    retry: 0,
    total: 0,
    chunkCount: 0,
    bwEstimate: 0,
    loading: { start: 0, first: 0, end: 0 },
    parsing: { start: 0, end: 0 },
    buffering: { start: 0, first: 0, end: 0 },
  };
}

/** Wall-clock seconds of buffer left: what the fog deadline is a fraction of. */
function mediaBufferAhead(media: HTMLMediaElement | null | undefined): number {
  return media ? bufferAheadWallS(media) : 0;
}

/**
 * A loader class for hls.js `fLoader` delivering fragments through `client`. `Base` (hls.js's
 * default loader) handles byte-range fragments; `media()` gives the element whose buffer sets
 * the fog deadline.
 */
export function fogLoaderClass(
  client: FogClient,
  Base: HlsLoaderClass,
  media: () => HTMLMediaElement | null,
): HlsLoaderClass {
  return class FogFragmentLoader implements HlsLoader {
    context: HlsLoaderContext | null = null;
    stats: HlsLoaderStats = newStats();
    private base: HlsLoader | undefined;
    private ctl: AbortController | undefined;
    private timer: ReturnType<typeof setTimeout> | undefined;
    private callbacks: HlsLoaderCallbacks | undefined;

    constructor(private readonly hlsConfig: unknown) {}

    load(context: HlsLoaderContext, config: HlsLoaderConfig, callbacks: HlsLoaderCallbacks): void {
      this.context = context;
      if ((context.rangeStart ?? 0) > 0 || (context.rangeEnd ?? 0) > 0) {
        // EXT-X-BYTERANGE fragments are slices of a manifest file, not whole entries. (hls.js
        // sets rangeStart = rangeEnd = 0 for "no range".)
        this.base = new Base(this.hlsConfig);
        this.base.load(context, config, callbacks);
        this.stats = this.base.stats;
        return;
      }
      this.callbacks = callbacks;
      const stats = (this.stats = newStats());
      stats.loading.start = performance.now();
      const ctl = (this.ctl = new AbortController());
      const maxMs = config.loadPolicy?.maxLoadTimeMs ?? config.timeout ?? 0;
      if (maxMs > 0) {
        this.timer = setTimeout(() => {
          if (this.ctl !== ctl) return;
          this.ctl = undefined;
          ctl.abort();
          callbacks.onTimeout(stats, context, null);
        }, maxMs);
      }
      const deadline = client.deadlineFor(mediaBufferAhead(media()));
      client.fetchSegment(context.url, deadline, ctl.signal).then(
        (bytes) => {
          if (this.ctl !== ctl) return; // aborted, timed out or destroyed
          this.finish();
          const now = performance.now();
          stats.loading.first = now;
          stats.loading.end = now;
          stats.loaded = stats.total = bytes.length;
          stats.chunkCount = 1;
          const data =
            bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
              ? (bytes.buffer as ArrayBuffer)
              : (bytes.slice().buffer as ArrayBuffer);
          callbacks.onSuccess({ url: context.url, data }, stats, context, null);
        },
        (e: unknown) => {
          if (this.ctl !== ctl) return;
          this.finish();
          const text = e instanceof SdkError ? e.message : String(e);
          callbacks.onError({ code: 0, text }, context, null, stats);
        },
      );
    }

    abort(): void {
      if (this.base) return this.base.abort();
      if (!this.ctl) return;
      const ctl = this.ctl;
      this.finish();
      ctl.abort();
      this.stats.aborted = true;
      if (this.context) this.callbacks?.onAbort?.(this.stats, this.context, null);
    }

    destroy(): void {
      if (this.base) this.base.destroy();
      const ctl = this.ctl;
      this.finish();
      ctl?.abort();
      this.callbacks = undefined;
      this.context = null;
    }

    private finish(): void {
      this.ctl = undefined;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
    }
  };
}

/**
 * Route an hls.js instance's media fragments through `client`, count stalls, and destroy the
 * client with the player. Call before hls.loadSource().
 */
export function attachClientToHls(hls: HlsLike, client: FogClient): void {
  hls.config.fLoader = fogLoaderClass(client, hls.config.loader, () => hls.media);
  hls.on(HLS_EVENTS.error, (_ev, data) => {
    if (data.details === HLS_BUFFER_STALLED) client.recordStall(mediaBufferAhead(hls.media));
  });
  hls.on(HLS_EVENTS.destroying, () => client.destroy());
}
