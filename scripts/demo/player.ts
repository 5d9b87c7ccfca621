// The demo's viewer: headless Chromium plays the stream with hls.js and the pear-fog SDK
// (PearFog.attachHls) until the video ends, then reports the SDK's stats and the stalls seen.
import type { Page } from "playwright-core";
import type { PageGlobals } from "./page-globals";
import { launchChromium } from "../../test/support/chromium";

export const PLAYER_PAGE = `<!doctype html><meta charset="utf-8"><title>pear-fog demo</title>
<script src="/hls.js"></script><script src="/pear-fog-sdk.js"></script>
<video id="v" muted playsinline></video>`;

/** Less media than this buffered ahead when the video element waits: a stall, seconds. */
export const STARVED_AHEAD_S = 0.5;

export interface PlayOptions {
  pageUrl: string;
  playlistUrl: string;
  coordinator: string;
  manifestUrl: string;
  publisher: string;
  /** video.playbackRate: the demo plays faster than real time. */
  rate: number;
  /** Give up after this long, milliseconds. */
  timeoutMs: number;
  /** Record the SHA-256 of every fragment hls.js loaded (PlayResult.fragments). */
  hashFragments?: boolean;
  /** hls.js maxBufferLength, seconds of media ahead. Default 20. */
  maxBufferLength?: number;
}

export interface NodeStats {
  bytes: number;
  chunks: number;
  failures: number;
}

export interface PlayResult {
  ended: boolean;
  /**
   * Stalls: playback had started, then the video element waited with less than
   * STARVED_AHEAD_S of media buffered ahead of the playhead — the data was not there.
   */
  stalls: number;
  /**
   * Waits with media buffered ahead (≥ STARVED_AHEAD_S): the page's decoder or renderer fell
   * behind (a CPU-starved machine), not delivery. Reported beside stalls, never hidden.
   */
  waitsWithBuffer: number;
  /** Every wait: seconds since the page started, the playhead (media s), buffer ahead (s). */
  stallAt: { wallS: number; mediaS: number; aheadS: number }[];
  errors: string[];
  bytesFog: number;
  bytesHttp: number;
  fallbackSegments: number;
  fallbacks: Record<string, number>;
  nodes: Record<string, NodeStats>;
  seconds: number;
  /** With hashFragments: each fragment hls.js received, by URL, as hex SHA-256. */
  fragments: { url: string; sha256: string }[];
}

/** What the page shows mid-stream (PlayHandle.progress). */
export interface PlayProgress {
  currentTime: number;
  bytesFog: number;
  bytesHttp: number;
  nodes: Record<string, NodeStats>;
  fallbacks: Record<string, number>;
}

async function playInPage(page: Page, o: PlayOptions): Promise<PlayResult> {
  return page.evaluate(
    async (a: PlayOptions & { starvedAheadS: number }) => {
      const w = window as unknown as PageGlobals;
      const t0 = performance.now();
      const errors: string[] = [];
      const fragments: { url: string; sha256: string }[] = [];
      const hashing: Promise<void>[] = [];
      const fallbackUrls = new Set<string>();
      let stalls = 0;
      let waitsWithBuffer = 0;
      const stallAt: { wallS: number; mediaS: number; aheadS: number }[] = [];
      let playing = false;
      const hls = new w.Hls({
        enableWorker: false,
        maxBufferLength: a.maxBufferLength ?? 20,
        maxMaxBufferLength: a.maxBufferLength ?? 20,
      });
      const fog = w.PearFog.attachHls(hls, {
        coordinator: a.coordinator,
        manifestUrl: a.manifestUrl,
        publisher: a.publisher,
      });
      (window as unknown as { __pf: unknown }).__pf = { fog, video: document.getElementById("v") };
      if (a.hashFragments) {
        hls.on(w.Hls.Events.FRAG_LOADED!, (_e: unknown, d: unknown) => {
          const { frag, payload } = d as { frag: { url: string }; payload: ArrayBuffer };
          const copy = payload.slice(0);
          hashing.push(
            crypto.subtle.digest("SHA-256", copy).then((h) => {
              const hex = [...new Uint8Array(h)].map((b) => b.toString(16).padStart(2, "0"));
              fragments.push({ url: frag.url, sha256: hex.join("") });
            }),
          );
        });
      }
      fog.on("fallback", (e: unknown) => {
        const url = (e as { url?: string }).url;
        if (url) fallbackUrls.add(url);
      });
      hls.on(w.Hls.Events.ERROR!, (_e: unknown, d: unknown) => {
        const { details, fatal } = d as { details: string; fatal: boolean };
        if (details === "bufferStalledError") return; // counted from the video element below
        errors.push(`${details}${fatal ? " (fatal)" : ""}`);
      });
      const video = document.getElementById("v") as HTMLVideoElement;
      const ended = new Promise<boolean>((resolve) => {
        video.addEventListener("ended", () => resolve(true));
        setTimeout(() => resolve(false), a.timeoutMs);
      });
      video.addEventListener("playing", () => (playing = true));
      // A stall: playback had started and then had to wait for data (see PlayResult.stalls).
      video.addEventListener("waiting", () => {
        if (!playing) return;
        const t = video.currentTime;
        let end = t;
        for (let i = 0; i < video.buffered.length; i++) {
          if (video.buffered.start(i) <= t + 0.1 && t <= video.buffered.end(i)) {
            end = video.buffered.end(i);
          }
        }
        if (end - t < a.starvedAheadS) stalls++;
        else waitsWithBuffer++;
        stallAt.push({ wallS: (performance.now() - t0) / 1000, mediaS: t, aheadS: end - t });
      });
      hls.loadSource(a.playlistUrl);
      hls.attachMedia(video);
      video.playbackRate = a.rate;
      video.addEventListener("loadedmetadata", () => (video.playbackRate = a.rate));
      await video.play().catch((e: Error) => errors.push(`play: ${e.message}`));
      const didEnd = await ended;
      await Promise.all(hashing);
      const s = fog.stats() as {
        bytesFog: number;
        bytesHttp: number;
        fallbacks: Record<string, number>;
        nodes: Record<string, { bytes: number; chunks: number; failures: number }>;
      };
      hls.destroy();
      return {
        ended: didEnd,
        stalls,
        waitsWithBuffer,
        stallAt,
        errors,
        bytesFog: s.bytesFog,
        bytesHttp: s.bytesHttp,
        fallbackSegments: fallbackUrls.size,
        fallbacks: s.fallbacks,
        nodes: s.nodes,
        seconds: (performance.now() - t0) / 1000,
        fragments,
      };
    },
    { ...o, starvedAheadS: STARVED_AHEAD_S },
  );
}

/** Playback in progress: read its state mid-stream, then await its result. */
export interface PlayHandle {
  progress(): Promise<PlayProgress | undefined>;
  /** Resolves when currentTime reaches `seconds` (or rejects after `timeoutMs`). */
  reach(seconds: number, timeoutMs: number): Promise<PlayProgress>;
  result: Promise<PlayResult>;
  close(): Promise<void>;
}

export async function startPlayback(o: PlayOptions): Promise<PlayHandle> {
  const browser = await launchChromium();
  const page = await browser.newPage();
  await page.goto(o.pageUrl);
  const result = playInPage(page, o);
  const progress = () =>
    page
      .evaluate(() => {
        const pf = (
          window as unknown as { __pf?: { fog: { stats(): unknown }; video: HTMLVideoElement } }
        ).__pf;
        if (!pf) return undefined;
        const s = pf.fog.stats() as Omit<PlayProgress, "currentTime">;
        return { ...s, currentTime: pf.video.currentTime };
      })
      .catch(() => undefined);
  return {
    progress,
    async reach(seconds, timeoutMs) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const p = await progress();
        if (p && p.currentTime >= seconds) return p;
        if (Date.now() > end)
          throw new Error(`playback did not reach ${seconds} s in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    result,
    close: () => browser.close(),
  };
}

export async function playToEnd(o: PlayOptions): Promise<PlayResult> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(o.pageUrl);
    return await playInPage(page, o);
  } finally {
    await browser.close();
  }
}
