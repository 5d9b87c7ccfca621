// What a player page built by the demo and the SDK's Chromium tests has on `window`: hls.js
// (its UMD build) and the SDK bundle (dist/pear-fog.js). Types only: code inside
// page.evaluate() casts `window` to this, since it cannot import anything.

type PageCallback = (...x: unknown[]) => void;

export interface PageHls {
  on(ev: string, cb: PageCallback): void;
  loadSource(u: string): void;
  attachMedia(m: HTMLMediaElement): void;
  destroy(): void;
}

export interface PageGlobals {
  Hls: (new (cfg: object) => PageHls) & { Events: Record<string, string> };
  PearFog: {
    attachHls(h: unknown, o: object): { on(ev: string, cb: PageCallback): void; stats(): unknown };
    create(o: object): { fetch(u: string): Promise<Uint8Array>; destroy(): void };
  };
}
