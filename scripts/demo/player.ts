// The demo's viewer: headless Chromium plays the stream with hls.js and the pear-fog SDK
// (PearFog.attachHls) until the video ends, then reports the SDK's stats and the stalls seen.
import type { Page } from "playwright-core";
import { launchChromium } from "../../test/support/chromium";

export const PLAYER_PAGE = `<!doctype html><meta charset="utf-8"><title>pear-fog demo</title>
<script src="/hls.js"></script><script src="/pear-fog-sdk.js"></script>
<video id="v" muted playsinline></video>`;

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
}

export interface NodeStats {
  bytes: number;
  chunks: number;
  failures: number;
}

export interface PlayResult {
  ended: boolean;
  stalls: number;
  errors: string[];
  bytesFog: number;
  bytesHttp: number;
  fallbackSegments: number;
  fallbacks: Record<string, number>;
  nodes: Record<string, NodeStats>;
  seconds: number;
}

async function playInPage(page: Page, o: PlayOptions): Promise<PlayResult> {
  return page.evaluate(async (a: PlayOptions) => {
    type AnyFn = (...x: unknown[]) => void;
    const w = window as unknown as {
      Hls: (new (cfg: object) => {
        on(ev: string, cb: AnyFn): void;
        loadSource(u: string): void;
        attachMedia(m: HTMLMediaElement): void;
        destroy(): void;
      }) & { Events: Record<string, string> };
      PearFog: {
        attachHls(h: unknown, o: object): { on(ev: string, cb: AnyFn): void; stats(): unknown };
      };
    };
    const t0 = performance.now();
    const errors: string[] = [];
    const fallbackUrls = new Set<string>();
    let stalls = 0;
    let playing = false;
    const hls = new w.Hls({ enableWorker: false, maxBufferLength: 20 });
    const fog = w.PearFog.attachHls(hls, {
      coordinator: a.coordinator,
      manifestUrl: a.manifestUrl,
      publisher: a.publisher,
    });
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
    // A stall: playback had started and then had to wait for data.
    video.addEventListener("waiting", () => {
      if (playing) stalls++;
    });
    hls.loadSource(a.playlistUrl);
    hls.attachMedia(video);
    video.playbackRate = a.rate;
    video.addEventListener("loadedmetadata", () => (video.playbackRate = a.rate));
    await video.play().catch((e: Error) => errors.push(`play: ${e.message}`));
    const didEnd = await ended;
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
      errors,
      bytesFog: s.bytesFog,
      bytesHttp: s.bytesHttp,
      fallbackSegments: fallbackUrls.size,
      fallbacks: s.fallbacks,
      nodes: s.nodes,
      seconds: (performance.now() - t0) / 1000,
    };
  }, o);
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
